package users_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// exampleManager builds a Manager for the examples: an in-memory store, a
// recording mailer, the fast test hasher (use the default argon2id in
// production) and a role.
func exampleManager() (*users.Manager, *memmailer.Mailer, *users.Role) {
	mail := memmailer.New()
	m, err := users.New(memstore.New(), mail,
		users.WithHasher(userstest.Hasher{}),
		users.Links{PublicURL: "https://app.example.com"},
		users.Links{RegisterURLs: []string{"https://app.example.com/verify"}},
		users.Links{InviteURLs: []string{"https://app.example.com/welcome"}},
	)
	if err != nil {
		log.Fatal(err)
	}
	role, err := m.CreateRole(context.Background(), users.Role{Name: "Member"})
	if err != nil {
		log.Fatal(err)
	}
	return m, mail, role
}

// lastToken delivers pending mail and returns the token of the last one.
func lastToken(m *users.Manager, mail *memmailer.Mailer) string {
	if _, err := m.DeliverPending(context.Background()); err != nil {
		log.Fatal(err)
	}
	msgs := mail.Messages()
	return memmailer.Token(msgs[len(msgs)-1])
}

func ExampleNew() {
	_, err := users.New(memstore.New(), memmailer.New(),
		users.Links{PublicURL: "https://app.example.com"},
		users.Links{RegisterURLs: []string{"https://app.example.com/verify", "https://*.preview.example.com/verify"}},
		users.Lifetimes{VerifyEmail: 24 * time.Hour, Invite: 72 * time.Hour},
	)
	fmt.Println(err)

	_, err = users.New(memstore.New(), memmailer.New(), users.Links{RegisterURLs: []string{"javascript:alert(1)"}})
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// true
}

func ExampleManager_Register() {
	ctx := context.Background()
	m, mail, role := exampleManager()
	s := users.DefaultSettings()
	s.PublicRegistration = true
	s.PublicRegistrationRole = &role.ID
	if _, err := m.UpdateSettings(ctx, s); err != nil {
		log.Fatal(err)
	}

	err := m.Register(ctx, users.RegisterInput{
		Email: "ada@example.com", Password: "correct horse", FirstName: "Ada",
		VerificationURL: "https://app.example.com/verify",
	})
	fmt.Println(err)
	if _, err := m.DeliverPending(ctx); err != nil {
		log.Fatal(err)
	}
	msg := mail.Messages()[0]
	fmt.Println(msg.To, "|", msg.Subject)

	// A URL off the allow-list is refused before anything happens.
	err = m.Register(ctx, users.RegisterInput{Email: "eve@example.com", Password: "x", VerificationURL: "https://evil.example/steal"})
	fmt.Println(err)
	// Output:
	// <nil>
	// ada@example.com | Verify your email address
	// users: register: URL "https://evil.example/steal" can't be used to verify registered users
}

func ExampleManager_VerifyEmail() {
	ctx := context.Background()
	m, mail, _ := exampleManager()
	s := users.DefaultSettings()
	s.PublicRegistration = true
	if _, err := m.UpdateSettings(ctx, s); err != nil {
		log.Fatal(err)
	}
	if err := m.Register(ctx, users.RegisterInput{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		log.Fatal(err)
	}
	token := lastToken(m, mail)

	u, err := m.VerifyEmail(ctx, token)
	fmt.Println(u.Email, u.Status, err)
	_, err = m.VerifyEmail(ctx, token)
	fmt.Println(err)
	// Output:
	// ada@example.com active <nil>
	// users: verify email: token already used
}

func ExampleManager_Invite() {
	ctx := context.Background()
	m, mail, role := exampleManager()
	res, err := m.Invite(ctx, users.InviteInput{
		Emails:    users.ParseEmailList("grace@example.com, alan@example.com\nGRACE@example.com"),
		Role:      role.ID,
		InviteURL: "https://app.example.com/welcome",
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Println(r.Email, r.Outcome)
	}
	if _, err := m.DeliverPending(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(mail.Messages()), "mails")
	// Output:
	// grace@example.com created
	// alan@example.com created
	// 2 mails
}

func ExampleManager_AcceptInvite() {
	ctx := context.Background()
	m, mail, role := exampleManager()
	if _, err := m.Invite(ctx, users.InviteInput{Emails: []string{"grace@example.com"}, Role: role.ID}); err != nil {
		log.Fatal(err)
	}
	token := lastToken(m, mail)

	u, err := m.AcceptInvite(ctx, token, "my new password")
	fmt.Println(u.Status, u.HasPassword, err)
	u, err = m.Authenticate(ctx, "Grace@Example.com", "my new password")
	fmt.Println(u.Email, err)
	// Output:
	// active true <nil>
	// grace@example.com <nil>
}

func ExampleManager_CreateUser() {
	ctx := context.Background()
	m, _, role := exampleManager()
	u, err := m.CreateUser(ctx, users.CreateUserInput{Email: "Linus@Example.com", Password: "s3cret", Role: &role.ID})
	fmt.Println(u.Email, u.Status, err)
	_, err = m.CreateUser(ctx, users.CreateUserInput{Email: "linus@example.COM"})
	fmt.Println(err)
	// Output:
	// Linus@Example.com active <nil>
	// users: create user: a user with this email already exists
}
