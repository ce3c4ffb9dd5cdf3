// Command quickstart walks through every flow of package users on the
// embedded SQLite store, printing each step and each mail:
//
//	go run ./examples/quickstart
//
// It creates a SQLite file in a temporary directory, turns public
// registration on with a role and an email filter, registers a user, reads
// the verification mail, verifies with the token from it, invites a second
// user, accepts the invitation, and logs both in.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"regexp"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/store/sqlitestore"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run walks through the flows, printing each step and each mail to out.
func run(ctx context.Context, out io.Writer) error {
	n := 0
	step := func(format string, args ...any) {
		n++
		fmt.Fprintf(out, "\n[%d] %s\n", n, fmt.Sprintf(format, args...))
	}
	deliver := func(m *users.Manager) error {
		rep, err := m.DeliverPending(ctx)
		if err != nil {
			return err
		}
		step("delivery worker sent %d mail(s)", rep.Sent)
		return nil
	}

	dir, err := os.MkdirTemp("", "users-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "users.db")
	store, db, err := sqlitestore.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	step("opened SQLite store at %s", dbPath)

	// The log mailer prints each mail; we also keep a copy to read the
	// links from, as a user would from their inbox.
	var inbox bytes.Buffer
	mailer := logmailer.New(io.MultiWriter(out, &inbox))
	m, err := users.New(store, mailer,
		users.WithPublicURL("https://app.example.com"),
		users.WithRegisterURLAllowList("https://app.example.com/verify"),
		users.WithInviteURLAllowList("https://app.example.com/accept-invite"),
	)
	if err != nil {
		return err
	}

	member, err := m.CreateRole(ctx, users.Role{Name: "Member", Description: "Registered users"})
	if err != nil {
		return err
	}
	editor, err := m.CreateRole(ctx, users.Role{Name: "Editor"})
	if err != nil {
		return err
	}
	step("created roles %q and %q", member.Name, editor.Name)

	filter, err := users.ParseFilter([]byte(`{"_and":[{"email":{"_ends_with":"@example.com"}},{"email":{"_nstarts_with":"test"}}]}`))
	if err != nil {
		return err
	}
	s := users.DefaultSettings()
	s.PublicRegistration = true
	s.PublicRegistrationRole = &member.ID
	s.PublicRegistrationEmailFilter = filter
	if _, err := m.UpdateSettings(ctx, s); err != nil {
		return err
	}
	step("enabled public registration (role %q, verification on, filter %s)", member.Name, filter)

	err = m.Register(ctx, users.RegisterInput{Email: "someone@elsewhere.org", Password: "whatever"})
	if !errors.Is(err, users.ErrEmailNotAllowed) {
		return fmt.Errorf("registering someone@elsewhere.org: want ErrEmailNotAllowed, got %v", err)
	}
	step("registering someone@elsewhere.org is refused by the filter: %v", err)

	if err := m.Register(ctx, users.RegisterInput{
		Email: "ada@example.com", Password: "correct horse battery", FirstName: "Ada", LastName: "Lovelace",
		VerificationURL: "https://app.example.com/verify",
	}); err != nil {
		return err
	}
	step("registered ada@example.com; the verification mail is in the outbox")
	if err := deliver(m); err != nil {
		return err
	}
	token, err := lastToken(&inbox)
	if err != nil {
		return err
	}
	u, err := m.VerifyEmail(ctx, token)
	if err != nil {
		return err
	}
	step("verified %s with the token from the mail: status %s", u.Email, u.Status)

	if _, err := m.Invite(ctx, users.InviteInput{
		Emails: []string{"grace@example.com"}, Role: editor.ID, InviteURL: "https://app.example.com/accept-invite",
	}); err != nil {
		return err
	}
	step("invited grace@example.com as %q", editor.Name)
	if err := deliver(m); err != nil {
		return err
	}
	if token, err = lastToken(&inbox); err != nil {
		return err
	}
	if u, err = m.AcceptInvite(ctx, token, "hopper compiler 1952"); err != nil {
		return err
	}
	step("grace accepted the invitation: status %s", u.Status)

	for _, c := range [][2]string{{"Ada@Example.com", "correct horse battery"}, {"grace@example.com", "hopper compiler 1952"}} {
		u, err := m.Authenticate(ctx, c[0], c[1])
		if err != nil {
			return err
		}
		step("authenticated %s (id %s, status %s)", u.Email, u.ID, u.Status)
	}
	_, err = m.Authenticate(ctx, "ada@example.com", "wrong password")
	if !errors.Is(err, users.ErrInvalidCredentials) {
		return fmt.Errorf("a wrong password: want ErrInvalidCredentials, got %v", err)
	}
	step("a wrong password is refused: %v", err)
	step("done")
	return nil
}

var linkRE = regexp.MustCompile(`https://\S+`)

// lastToken reads the token from the last link in the inbox.
func lastToken(inbox *bytes.Buffer) (string, error) {
	links := linkRE.FindAllString(inbox.String(), -1)
	if len(links) == 0 {
		return "", fmt.Errorf("no link in the mail")
	}
	u, err := url.Parse(links[len(links)-1])
	if err != nil {
		return "", err
	}
	return u.Query().Get("token"), nil
}
