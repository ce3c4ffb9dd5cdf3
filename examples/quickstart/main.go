// Command quickstart walks through every flow of package users on the
// embedded SQLite store, printing each step and each mail:
//
//	go run ./examples/quickstart
//
// In a temporary directory it opens a SQLite file, turns public
// registration on with a role and an email filter, then: a registration
// refused by the filter; a registration, verified with the token from its
// mail; an invitation, accepted; a user created by an administrator; a
// login, a refresh (the old refresh token is spent) and a logout; a
// forgotten password reset with the token from its mail; a filtered list
// of users; and a deletion. Each mail is printed as the log mailer
// writes it, and read back for its link, as a user would from an inbox.
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

	// --- Set-up: a SQLite file, a mailer that prints, a Manager.

	dir, err := os.MkdirTemp("", "users-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "users.db")
	st, db, err := sqlitestore.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	step("opened SQLite store at %s", dbPath)

	// The log mailer prints each mail; the inbox keeps a copy to read the
	// links from.
	var inbox bytes.Buffer
	m, err := users.New(st, logmailer.New(io.MultiWriter(out, &inbox)),
		users.Links{PublicURL: "https://app.example.com"},
		users.Links{RegisterURLs: []string{"https://app.example.com/verify"}},
		users.Links{InviteURLs: []string{"https://app.example.com/accept-invite"}},
		users.Links{PasswordResetURLs: []string{"https://app.example.com/reset-password"}},
	)
	if err != nil {
		return err
	}
	// mailedToken delivers the mail waiting in the outbox (what m.Run does
	// in a server) and returns the token of the last link mailed to email.
	mailedToken := func(email string) (string, error) {
		rep, err := m.DeliverPending(ctx)
		if err != nil {
			return "", err
		}
		step("delivery worker sent %d mail(s)", rep.Sent)
		return lastToken(inbox.String(), email)
	}

	// --- Settings: roles, public registration, an email filter.

	member, err := m.CreateRole(ctx, users.Role{Name: "Member", Description: "Registered users"})
	if err != nil {
		return err
	}
	editor, err := m.CreateRole(ctx, users.Role{Name: "Editor"})
	if err != nil {
		return err
	}
	step("created roles %q and %q", member.Name, editor.Name)

	filter, err := users.ParseEmailFilter([]byte(`{"_and":[{"email":{"_ends_with":"@example.com"}},{"email":{"_nstarts_with":"test"}}]}`))
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

	// --- Register and verify.

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
	token, err := mailedToken("ada@example.com")
	if err != nil {
		return err
	}
	ada, err := m.VerifyEmail(ctx, token)
	if err != nil {
		return err
	}
	step("verified %s with the token from the mail: status %s", ada.Email, ada.Status)

	// --- Invite and accept.

	if _, err := m.Invite(ctx, users.InviteInput{
		Emails: []string{"grace@example.com"}, Role: editor.ID, InviteURL: "https://app.example.com/accept-invite",
	}); err != nil {
		return err
	}
	step("invited grace@example.com as %q", editor.Name)
	if token, err = mailedToken("grace@example.com"); err != nil {
		return err
	}
	grace, err := m.AcceptInvite(ctx, token, "hopper compiler 1952")
	if err != nil {
		return err
	}
	step("grace accepted the invitation: status %s", grace.Status)

	// --- An administrator creates a user (no mail, active at once).

	alan, err := m.CreateUser(ctx, users.CreateUserInput{
		Email: "alan@example.com", Password: "turing machine 1936", FirstName: "Alan", Role: &editor.ID,
	})
	if err != nil {
		return err
	}
	step("an administrator created %s: status %s", alan.Email, alan.Status)

	// --- Sessions: login, refresh (rotation), logout.

	_, err = m.Login(ctx, users.LoginInput{Email: "ada@example.com", Password: "wrong password"})
	if !errors.Is(err, users.ErrInvalidCredentials) {
		return fmt.Errorf("a wrong password: want ErrInvalidCredentials, got %v", err)
	}
	step("a wrong password is refused: %v", err)
	ada1 := users.LoginInput{Email: "Ada@Example.com", Password: "correct horse battery"}
	sess, err := m.Login(ctx, ada1)
	if err != nil {
		return err
	}
	who, err := m.ResolveAccessToken(ctx, sess.AccessToken)
	if err != nil {
		return err
	}
	step("ada logged in: the access token speaks for %s", who.User.Email)
	renewed, err := m.Refresh(ctx, sess.RefreshToken)
	if err != nil {
		return err
	}
	step("refreshed: a new access token and a new refresh token; the one presented is spent")
	_, err = m.Refresh(ctx, sess.RefreshToken)
	if !errors.Is(err, users.ErrTokenReused) {
		return fmt.Errorf("a spent refresh token: want ErrTokenReused, got %v", err)
	}
	if _, err := m.ResolveAccessToken(ctx, renewed.AccessToken); !errors.Is(err, users.ErrInvalidCredentials) {
		return fmt.Errorf("the session after a reuse: want it ended (ErrInvalidCredentials), got %v", err)
	}
	step("the spent refresh token, presented again, is refused and ends the session: %v", err)

	if sess, err = m.Login(ctx, ada1); err != nil {
		return err
	}
	if err := m.Logout(ctx, sess.RefreshToken); err != nil {
		return err
	}
	_, err = m.ResolveAccessToken(ctx, sess.AccessToken)
	if !errors.Is(err, users.ErrInvalidCredentials) {
		return fmt.Errorf("an access token after logout: want ErrInvalidCredentials, got %v", err)
	}
	step("ada logged in again and out: the access token is refused at once: %v", err)

	// --- Password reset: a mailed link, a new password.

	if err := m.RequestPasswordReset(ctx, "grace@example.com", "https://app.example.com/reset-password"); err != nil {
		return err
	}
	step("grace asked for a password reset")
	if token, err = mailedToken("grace@example.com"); err != nil {
		return err
	}
	if _, err := m.ResetPassword(ctx, token, "cobol compiler 1959"); err != nil {
		return err
	}
	if _, err := m.Login(ctx, users.LoginInput{Email: "grace@example.com", Password: "cobol compiler 1959"}); err != nil {
		return err
	}
	step("grace reset her password with the token from the mail and logged in with the new one")

	// --- List with a Directus filter, then delete.

	editors, err := users.ParseFilter([]byte(`{"role":{"_eq":"` + editor.ID + `"}}`))
	if err != nil {
		return err
	}
	list, err := m.ListUsers(ctx, users.UserQuery{Filter: editors, Sort: []string{"email"}})
	if err != nil {
		return err
	}
	var emails []string
	for _, u := range list {
		emails = append(emails, u.Email)
	}
	step("users in the role %q, by email: %v", editor.Name, emails)

	if err := m.DeleteUsers(ctx, alan.ID); err != nil {
		return err
	}
	left, err := m.CountUsers(ctx, users.UserQuery{Filter: editors})
	if err != nil {
		return err
	}
	step("deleted %s: %d user(s) left in the role %q", alan.Email, left, editor.Name)
	step("done")
	return nil
}

// lastToken returns the token of the last link mailed to email, read from
// the printed mails as a user would read their inbox.
func lastToken(inbox, email string) (string, error) {
	var link string
	for _, mail := range mailRE.FindAllStringSubmatch(inbox, -1) {
		if l := linkRE.FindString(mail[0]); mail[1] == email && l != "" {
			link = l
		}
	}
	if link == "" {
		return "", fmt.Errorf("no link mailed to %s", email)
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	return u.Query().Get("token"), nil
}

var (
	// mailRE matches one printed mail: from its To: line to the next.
	mailRE = regexp.MustCompile(`(?m)^To: (\S+)\n(?:.*\n)*?(?:----|\z)`)
	linkRE = regexp.MustCompile(`https://\S+token=\S+`)
)
