package users_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// Every error a Manager method returns reads "users: <operation>: <cause>",
// with one "users:" prefix however deep the cause's wrapping goes.
//
// Checked against the old wrapping: "users: register: users: public
// registration is disabled", and this test failed.
func TestErrorsHaveOnePrefix(t *testing.T) {
	t.Parallel()
	broken := &recordingLimiter{deny: errors.New("users: limiter back-end down")}
	e := newEnv(t, limits(func(l *users.Limits) { l.Mail = broken; l.AdminMail = broken }), quiet)
	str := func(s string) *string { return &s }
	var errs []error
	add := func(_ any, err error) { errs = append(errs, err) }
	errs = append(errs, e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"}))
	e.open()
	errs = append(errs,
		e.m.Register(e.ctx, users.RegisterInput{Email: "bad", Password: "pw"}),
		e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"}),
		e.m.UpdateUsers(e.ctx, nil, users.UserPatch{}),
		e.m.AssignRole(e.ctx, ""),
		e.m.RemoveRole(e.ctx, "nobody"),
	)
	add(e.m.VerifyEmail(e.ctx, "garbage"))
	add(e.m.AcceptInvite(e.ctx, strings.Repeat("A", 43), "pw"))
	add(e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"x@example.com"}, Role: e.member.ID}))
	add(e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"x@example.com"}, Role: "nope"}))
	add(e.m.Authenticate(e.ctx, "a@example.com", "pw"))
	add(e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "bad"}))
	add(e.m.CreateUser(e.ctx, users.CreateUserInput{Role: str("no-such-role")}))
	add(e.m.UpdateUser(e.ctx, "nobody", users.UserPatch{FirstName: str("x")}))
	add(e.m.User(e.ctx, "nobody"))
	add(e.m.Role(e.ctx, "nobody"))
	add(e.m.CreateRole(e.ctx, users.Role{}))
	add(e.m.CreatePolicy(e.ctx, users.Policy{}))
	add(e.m.UsersInRole(e.ctx, "nobody"))
	add(e.m.UpdateSettings(e.ctx, users.Settings{PublicRegistrationRole: str("nobody")}))
	add(e.m.Login(e.ctx, users.LoginInput{Email: "a@example.com", Password: "pw"}))
	add(e.m.Refresh(e.ctx, "garbage"))
	add(e.m.ResolveAccessToken(e.ctx, "garbage"))
	add(e.m.HasAdminAccess(e.ctx, "nobody"))
	errs = append(errs,
		e.m.RequestPasswordReset(e.ctx, "a@example.com", "https://evil.example/reset"),
		e.m.ResendVerification(e.ctx, "a@example.com", "https://evil.example/verify"),
		e.m.DeleteUsers(e.ctx, "nobody"),
	)
	add(e.m.ResetPassword(e.ctx, "garbage", "pw"))
	add(e.m.ChangePassword(e.ctx, "nobody", "pw", "pw2"))
	add(e.m.TokenUser(e.ctx, "garbage", "no-such-purpose"))
	for i, err := range errs {
		require.Error(t, err, i)
		msg := err.Error()
		rest, ok := strings.CutPrefix(msg, "users: ")
		assert.True(t, ok, "%d: %s", i, msg)
		assert.False(t, strings.HasPrefix(rest, "users: ") || strings.Contains(rest, ": users: "), "%d: %s", i, msg)
	}
}

func TestErrorsNeverLeakSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, err := users.ParsePasswordPolicy(users.PasswordPolicyStrong)
	require.NoError(t, err)
	e.open(func(s *users.Settings) { s.PasswordPolicy = p })
	const pw = "leakyPassw0rd"
	type refusal struct {
		what string
		err  error
		want error
	}
	var errs []refusal
	errs = append(errs, refusal{"register", e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: pw}), users.ErrPasswordPolicy})
	_, err = e.m.Authenticate(e.ctx, "a@example.com", pw)
	errs = append(errs, refusal{"authenticate", err, users.ErrInvalidCredentials})
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "b@example.com", Password: pw})
	errs = append(errs, refusal{"create", err, users.ErrPasswordPolicy})
	tok := strings.Repeat("Q", 43)
	_, err = e.m.VerifyEmail(e.ctx, tok)
	errs = append(errs, refusal{"verify", err, users.ErrInvalidToken})
	_, err = e.m.AcceptInvite(e.ctx, tok, pw)
	errs = append(errs, refusal{"accept", err, users.ErrInvalidToken})
	for _, r := range errs {
		err := r.err
		require.ErrorIs(t, err, r.want, r.what)
		assert.NotContains(t, err.Error(), pw)
		assert.NotContains(t, err.Error(), tok)
		assert.NotContains(t, err.Error(), "$argon2")
	}
}
