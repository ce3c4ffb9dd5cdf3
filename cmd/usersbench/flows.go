package main

// This file holds the calls the newer modes (-count-statements,
// -refusals) make to the root package, so that a change of its API is
// met here.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/userstest"
)

// flowKit runs each flow once per call on a Manager with the fake hasher,
// no mail limit and no delivery worker: mail stays in the outbox until
// deliver, which hands it to an in-memory mailer the tokens are read
// from, as a user reads them from their inbox.
type flowKit struct {
	m    *users.Manager
	mail *memmailer.Mailer
	role string
	pw   string
	seq  *emailSeq
}

func newFlowKit(ctx context.Context, st store.Store, seq *emailSeq, pw string) (*flowKit, error) {
	mail := memmailer.New()
	lim := users.DefaultLimits()
	lim.Mail = nil
	m, err := users.New(st, mail, users.WithHasher(userstest.Hasher{}), lim,
		users.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	k := &flowKit{m: m, mail: mail, pw: pw, seq: seq}
	if k.role, err = openRegistration(ctx, m, seq.prefix); err != nil {
		return nil, err
	}
	return k, nil
}

// openRegistration creates a role and opens public registration with it.
func openRegistration(ctx context.Context, m *users.Manager, name string) (string, error) {
	role, err := m.CreateRole(ctx, users.Role{Name: "usersbench " + name})
	if err != nil {
		return "", err
	}
	s := users.DefaultSettings()
	s.PublicRegistration, s.PublicRegistrationRole = true, &role.ID
	if _, err := m.UpdateSettings(ctx, s); err != nil {
		return "", err
	}
	return role.ID, nil
}

func (k *flowKit) register(ctx context.Context, email string) error {
	return k.m.Register(ctx, users.RegisterInput{Email: email, Password: k.pw})
}

func (k *flowKit) verify(ctx context.Context, tok string) error {
	_, err := k.m.VerifyEmail(ctx, tok)
	return err
}

func (k *flowKit) invite(ctx context.Context, emails ...string) error {
	res, err := k.m.Invite(ctx, users.InviteInput{Emails: emails, Role: k.role})
	for _, r := range res {
		if err == nil && r.Err != nil {
			err = r.Err
		}
	}
	return err
}

func (k *flowKit) accept(ctx context.Context, tok string) error {
	_, err := k.m.AcceptInvite(ctx, tok, k.pw)
	return err
}

func (k *flowKit) createActive(ctx context.Context, email string) error {
	_, err := k.m.CreateUser(ctx, users.CreateUserInput{Email: email, Password: k.pw})
	return err
}

// login returns the session's refresh token.
func (k *flowKit) login(ctx context.Context, email string) (string, error) {
	s, err := k.m.Login(ctx, users.LoginInput{Email: email, Password: k.pw})
	if err != nil {
		return "", err
	}
	return s.RefreshToken, nil
}

// refresh returns the new refresh token.
func (k *flowKit) refresh(ctx context.Context, tok string) (string, error) {
	s, err := k.m.Refresh(ctx, tok)
	if err != nil {
		return "", err
	}
	return s.RefreshToken, nil
}

func (k *flowKit) requestReset(ctx context.Context, email string) error {
	return k.m.RequestPasswordReset(ctx, email, "")
}

func (k *flowKit) reset(ctx context.Context, tok string) error {
	_, err := k.m.ResetPassword(ctx, tok, k.pw+"-new")
	return err
}

// deliver sends the outbox's pending mail and returns how many went.
func (k *flowKit) deliver(ctx context.Context) (int, error) {
	r, err := k.m.DeliverPending(ctx)
	return r.Sent, err
}

// tokens returns the token of the latest mail to each address.
func (k *flowKit) tokens(emails []string) ([]string, error) {
	out := make([]string, len(emails))
	for i, e := range emails {
		ms := k.mail.To(e)
		if len(ms) == 0 {
			return nil, fmt.Errorf("no mail to %s", e)
		}
		if out[i] = memmailer.Token(ms[len(ms)-1]); out[i] == "" {
			return nil, fmt.Errorf("the mail to %s has no token", e)
		}
	}
	return out, nil
}

// refusalHandler is the httpapi handler wired as examples/server wires it
// for these routes: a configured secret (SECRET, so made-up mailed tokens
// are refused by their tag), an admin bearer token, no per-IP registration limit,
// the library's defaults for hashing (concurrency and wait budget) at the
// given hasher, and public registration open; its Manager's delivery
// worker runs until ctx ends.
func refusalHandler(ctx context.Context, st store.Store, hasher users.Hasher, admin string, opts ...users.Option) (http.Handler, error) {
	m, err := users.New(st, discardMailer{},
		append([]users.Option{users.WithHasher(hasher), users.WithLogger(slog.New(slog.DiscardHandler)),
			users.WithSecret([]byte("usersbench-refusals-secret-0123456789"))}, opts...)...)
	if err != nil {
		return nil, err
	}
	if _, err := openRegistration(ctx, m, "refusals"); err != nil {
		return nil, err
	}
	go func() { _ = m.Run(ctx) }()
	return httpapi.New(m, httpapi.WithAuthorizer(httpapi.BearerToken(admin)),
		httpapi.WithLogger(slog.New(slog.DiscardHandler))), nil
}
