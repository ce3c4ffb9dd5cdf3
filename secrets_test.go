package users_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Every flow — register new, again with the same and with another
// password, bad inputs, verify (good, revoked, used, garbage), invite,
// re-invite, over the mail limit, accept, authenticate (ok, wrong, unknown,
// rate-limited), create, update, mail delivery failing then succeeding —
// runs with a logger capturing every line at Debug level; no log line, no
// returned error, no InviteResult.Err and no outbox LastError contains a
// password used anywhere, a token mailed anywhere, or a stored password
// hash, its salt or its key (the dummy hash included).
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logs := &syncBuffer{}
	mm := memmailer.New()
	st := memstore.New()
	clock := &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	m, err := users.New(st, mm,
		// Real argon2id PHC strings, at a cost tests can afford.
		users.WithHasher(&users.Argon2id{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		users.WithClock(clock.Now),
		users.Links{PublicURL: appURL},
		users.Links{RegisterURLs: []string{verifyURL}},
		users.Links{InviteURLs: []string{inviteURL}},
		users.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
	require.NoError(t, err)
	member, err := m.CreateRole(ctx, users.Role{Name: "Member"})
	require.NoError(t, err)
	policy, err := users.ParsePasswordPolicy(users.PasswordPolicyStrong)
	require.NoError(t, err)
	s := users.DefaultSettings()
	s.PublicRegistration = true
	s.PublicRegistrationRole = &member.ID
	s.PasswordPolicy = policy
	_, err = m.UpdateSettings(ctx, s)
	require.NoError(t, err)

	// Every password is distinctive, so that finding one is no accident.
	// use records a password passed to the Manager and returns it; a
	// strong one is built from a name.
	var passwords []string
	use := func(p string) string { passwords = append(passwords, p); return p }
	pw := func(name string) string { return "Pw!" + name + "-7xQz" }
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	deliver := func() {
		_, err := m.DeliverPending(ctx)
		require.NoError(t, err)
	}
	// lastToken delivers and returns the token of the last mail to the
	// address (the newest, if at most one was pending).
	lastToken := func(to string) string {
		deliver()
		msgs := mm.To(to)
		require.NotEmpty(t, msgs, to)
		return memmailer.Token(msgs[len(msgs)-1])
	}

	// Register: new, same password again, another password (contested),
	// bad inputs.
	note(m.Register(ctx, users.RegisterInput{Email: "reg@example.com", Password: use(pw("RegFirst")), FirstName: "Reg"}))
	revoked := lastToken("reg@example.com")
	note(m.Register(ctx, users.RegisterInput{Email: "reg@example.com", Password: pw("RegFirst")}))
	deliver()
	note(m.Register(ctx, users.RegisterInput{Email: "REG@example.com", Password: use(pw("RegOther"))}))
	verifyTok := lastToken("reg@example.com")
	for _, in := range []users.RegisterInput{
		{Email: "weak@example.com", Password: use("Wk7q")},
		{Email: "weak@example.com", Password: use("lowercasezq9only")},
		{Email: "bad email", Password: use(pw("BadEmail"))},
		{Email: "u@example.com", Password: use(pw("BadURL")), VerificationURL: "https://evil.example/v"},
		{Email: "u@example.com", Password: use(pw("BadName")), FirstName: "a\r\nb"},
		{Email: "u@example.com", Password: use(strings.Repeat(use(pw("Long")), 100))},
	} {
		err := m.Register(ctx, in)
		require.Error(t, err, in.Email)
		note(err)
	}
	// Verify: revoked, good (contested: becomes invited, set-password
	// mail), used, garbage.
	_, err = m.VerifyEmail(ctx, revoked)
	note(err)
	_, err = m.VerifyEmail(ctx, verifyTok)
	require.NoError(t, err)
	setTok := lastToken("reg@example.com")
	_, err = m.VerifyEmail(ctx, verifyTok)
	note(err)
	for _, g := range []string{strings.Repeat("Z", 43), verifyTok[:42], verifyTok + "x", "garbage"} {
		_, err = m.VerifyEmail(ctx, g)
		note(err)
	}
	// Accept: weak password, wrong purpose, good, used.
	_, err = m.AcceptInvite(ctx, setTok, use("Qw9"))
	note(err)
	_, err = m.AcceptInvite(ctx, verifyTok, use(pw("WrongPurpose")))
	note(err)
	_, err = m.AcceptInvite(ctx, setTok, use(pw("Chosen")))
	require.NoError(t, err)
	_, err = m.AcceptInvite(ctx, setTok, use(pw("Again")))
	note(err)

	// Invite, re-invite, over the administrators' mail limit, accept.
	for range 11 {
		deliver() // one at a time, so that the last mail is the newest
		res, err := m.Invite(ctx, users.InviteInput{Emails: []string{"inv@example.com", "inv2@example.com"}, Role: member.ID, InviteURL: inviteURL})
		require.NoError(t, err)
		for _, r := range res {
			note(r.Err)
		}
	}
	_, err = m.Invite(ctx, users.InviteInput{Emails: []string{"inv@example.com"}, Role: member.ID, InviteURL: "https://evil.example/i"})
	note(err)
	invTok := lastToken("inv@example.com")
	_, err = m.AcceptInvite(ctx, invTok, use(pw("Invited")))
	require.NoError(t, err)

	// Authenticate: ok, wrong, unknown, malformed, rate-limited.
	_, err = m.Authenticate(ctx, "inv@example.com", pw("Invited"))
	require.NoError(t, err)
	for range 11 {
		_, err = m.Authenticate(ctx, "inv@example.com", use(pw("Wrong")))
		note(err)
		_, err = m.Authenticate(ctx, "nobody@example.com", use(pw("Unknown")))
		note(err)
	}
	_, err = m.Authenticate(ctx, "not an email", use(pw("Malformed")))
	note(err)

	// Create and update.
	u, err := m.CreateUser(ctx, users.CreateUserInput{Email: "made@example.com", Password: use(pw("Created"))})
	require.NoError(t, err)
	_, err = m.CreateUser(ctx, users.CreateUserInput{Email: "MADE@example.com", Password: use(pw("Duplicate"))})
	note(err)
	_, err = m.CreateUser(ctx, users.CreateUserInput{Email: "weak2@example.com", Password: use("zQ4")})
	note(err)
	newPw := use(pw("Updated"))
	_, err = m.UpdateUser(ctx, u.ID, users.UserPatch{Password: &newPw})
	require.NoError(t, err)
	weak := use("Xu8")
	_, err = m.UpdateUser(ctx, u.ID, users.UserPatch{Password: &weak})
	note(err)

	// Delivery failing, then succeeding.
	_, err = m.Invite(ctx, users.InviteInput{Emails: []string{"late@example.com"}, Role: member.ID})
	require.NoError(t, err)
	mm.FailWith(errors.New("smtp: 451 try later"))
	deliver()
	outbox, err := m.ListMail(ctx, store.MailQuery{Status: store.MailPending})
	require.NoError(t, err)
	require.NotEmpty(t, outbox)
	for _, x := range outbox {
		require.NotEmpty(t, x.LastError, "the failure is recorded")
		errs = append(errs, x.LastError)
	}
	mm.FailWith(nil)
	clock.Advance(time.Hour)
	deliver()

	// Gather the secrets: passwords, every token mailed, every stored
	// hash with its salt and key.
	secrets := map[string]string{}
	for _, p := range passwords {
		secrets[p] = "password"
	}
	tokens := 0
	for _, msg := range mm.Messages() {
		if tok := memmailer.Token(msg); tok != "" {
			secrets[tok] = "token"
			tokens++
		}
	}
	require.GreaterOrEqual(t, tokens, 8, "tokens were mailed")
	recs, err := st.ListUsers(ctx, store.UserQuery{})
	require.NoError(t, err)
	hashes := []string{users.DummyHash(m)}
	for _, r := range recs {
		if r.PasswordHash != "" {
			hashes = append(hashes, r.PasswordHash)
		}
	}
	require.GreaterOrEqual(t, len(hashes), 4)
	for _, h := range hashes {
		parts := strings.Split(h, "$")
		require.Len(t, parts, 6, "a PHC string")
		secrets[h] = "hash"
		secrets[parts[4]] = "salt"
		secrets[parts[5]] = "key"
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.NotEmpty(t, lines)
	assert.Contains(t, logs.String(), "mail delivery failed")
	assert.Contains(t, logs.String(), "over the mail rate limit")
	require.Greater(t, len(errs), 30)

	for _, where := range []struct {
		name  string
		texts []string
	}{{"log line", lines}, {"error", errs}} {
		for _, text := range where.texts {
			for secret, kind := range secrets {
				assert.NotContains(t, text, secret, fmt.Sprintf("%s found in a %s", kind, where.name))
			}
		}
	}
}
