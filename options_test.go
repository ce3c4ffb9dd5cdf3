package users_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	mm := memmailer.New()
	// Each bad value is refused with a *ValidationError whose Field names
	// the option and its field, and whose message starts with it.
	for _, tc := range []struct {
		opt   users.Option
		field string
		want  string
	}{
		{users.Links{RegisterURLs: []string{"https://ok.example.com/v", "/verify"}}, "Links.RegisterURLs", `allow-list entry "/verify"`},
		{users.Links{InviteURLs: []string{"javascript:alert(1)"}}, "Links.InviteURLs", `allow-list entry "javascript:alert(1)": uses a forbidden scheme`},
		{users.Links{PasswordResetURLs: []string{"https://good.com@evil.com/"}}, "Links.PasswordResetURLs", `allow-list entry`},
		{users.Links{PublicURL: "ftp://x"}, "Links.PublicURL", `"ftp://x" must be an absolute http(s) URL`},
		{users.Links{PublicURL: "https://user:pw@app.example.com"}, "Links.PublicURL", `must be an absolute http(s) URL`},
		{users.Links{AcceptInvitePath: "accept"}, "Links.AcceptInvitePath", `"accept" must be an absolute path`},
		{users.WithClock(nil), "WithClock", "must not be nil"},
		{users.WithLogger(nil), "WithLogger", "must not be nil"},
		{users.WithHasher(nil), "WithHasher", "must not be nil"},
		{users.WithObserver(nil), "WithObserver", "must not be nil"},
		{users.WithSecret([]byte("short")), "WithSecret", "the secret must be at least 32 bytes, not 5"},
		{users.WithProjectName("Acme\u202e"), "WithProjectName", `"project_name" must not contain`},
		{users.Lifetimes{VerifyEmail: -time.Second}, "Lifetimes.VerifyEmail", "must not be negative"},
		{users.Lifetimes{Access: time.Millisecond}, "Lifetimes.Access", "must be at least 1s"},
		{users.Lifetimes{Access: time.Hour, Refresh: time.Minute}, "Lifetimes.Refresh", "(1m0s) must not be shorter than Lifetimes.Access (1h0m0s)"},
		{users.Lifetimes{Access: 8 * 24 * time.Hour}, "Lifetimes.Refresh", "must not be shorter than Lifetimes.Access"},
		{users.Limits{}, "Limits.HashConcurrency", "must be at least 1, not 0 (start from DefaultLimits)"},
		{users.Delivery{MaxAttempts: -1}, "Delivery.MaxAttempts", "must be at least 1"},
		{users.Delivery{InitialBackoff: 2 * time.Hour}, "Delivery.MaxBackoff", "(1h0m0s) must not be below InitialBackoff (2h0m0s)"},
		{users.Delivery{SendTimeout: 10 * time.Minute}, "Delivery.Lease", "(5m0s) must exceed SendTimeout (10m0s)"},
		{users.HealthThresholds{OutboxAge: -time.Second}, "HealthThresholds.OutboxAge", "must not be negative"},
		{users.Templates{PasswordReset: users.Template{Subject: "a\nb"}}, "Templates.PasswordReset.Subject", "must be one line"},
	} {
		m, err := users.New(st, mm, tc.opt)
		assert.Nil(t, m, tc.field)
		var ve *users.ValidationError
		if assert.ErrorAs(t, err, &ve, tc.field) {
			assert.Equal(t, tc.field, ve.Field)
			assert.True(t, strings.HasPrefix(err.Error(), "users: "+tc.field+": "), "%q names its field first", err)
			assert.Contains(t, err.Error(), tc.want, tc.field)
		}
	}
	_, err := users.New(st, mm, users.Links{RegisterURLs: []string{"/verify"}})
	assert.ErrorIs(t, err, users.ErrURLNotAllowed, "a bad allow-list entry matches ErrURLNotAllowed")
	_, err = users.New(nil, mm)
	assert.EqualError(t, err, "users: store must not be nil")
	_, err = users.New(st, nil)
	assert.EqualError(t, err, "users: mailer must not be nil")
	_, err = users.New(st, mm, nil)
	assert.EqualError(t, err, "users: a nil Option")
	// The options above are refused for themselves: the same store and
	// mailer build a Manager.
	_, err = users.New(st, mm)
	assert.NoError(t, err)
}

// An option struct's zero fields keep what was there; a later option
// overrides an earlier one's non-zero fields; allow-list entries
// accumulate; a Limits is taken whole.
func TestOptionsMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t,
		users.Lifetimes{Access: time.Hour, Refresh: 2 * time.Hour},
		users.Lifetimes{Refresh: 3 * time.Hour, PasswordReset: 30 * time.Minute},
		users.Links{RegisterURLs: []string{"https://other.example.com/verify"}},
		users.Delivery{MaxAttempts: 2},
		users.Delivery{BatchSize: 3},
	)
	assert.Equal(t, users.Lifetimes{VerifyEmail: 7 * 24 * time.Hour, Invite: 7 * 24 * time.Hour, PasswordReset: 30 * time.Minute,
		EmailChange: time.Hour, Access: time.Hour, Refresh: 3 * time.Hour, RenewalGrace: 10 * time.Second}, e.m.Lifetimes())
	e.open()
	// Both the env's verification URL and the one added here are allowed.
	for _, u := range []string{verifyURL, "https://other.example.com/verify"} {
		require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw", VerificationURL: u}), u)
	}
	// Only a whole Limits counts: zero values are meaningful there.
	l := users.DefaultLimits()
	l.HashQueue = 0
	_, err := users.New(memstore.New(), memmailer.New(), users.WithHasher(userstest.Hasher{}), users.Limits{HashConcurrency: 1}, l)
	require.NoError(t, err, "the later Limits replaces the earlier one whole")
	_, err = users.New(memstore.New(), memmailer.New(), users.WithHasher(userstest.Hasher{}), l, users.Limits{HashConcurrency: 1})
	require.NoError(t, err, "queue 0 and no limiters are valid")
}

// The defaults are documented; DefaultLimits gives them, each call its
// own limiters.
func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	a, b := users.DefaultLimits(), users.DefaultLimits()
	assert.Equal(t, runtime.NumCPU(), a.HashConcurrency)
	assert.Equal(t, 1024, a.HashQueue)
	assert.Equal(t, 5*time.Second, a.HashWaitBudget)
	assert.Zero(t, a.FailedLoginMinimum)
	for _, tc := range []struct {
		name   string
		l, o   users.Limiter
		points int
		window time.Duration
	}{
		{"Mail", a.Mail, b.Mail, 5, time.Hour},
		{"AdminMail", a.AdminMail, b.AdminMail, 10, time.Hour},
		{"Login", a.Login, b.Login, 10, 15 * time.Minute},
		{"LoginIP", a.LoginIP, b.LoginIP, 5, 15 * time.Minute},
		{"Device", a.Device, b.Device, 10, 15 * time.Minute},
	} {
		ml, ok := tc.l.(*users.MemoryLimiter)
		require.True(t, ok, tc.name)
		assert.Equal(t, tc.points, ml.Points, tc.name)
		assert.Equal(t, tc.window, ml.Window, tc.name)
		assert.Nil(t, ml.Now, "%s runs on time.Now", tc.name)
		assert.NotSame(t, ml, tc.o, "%s: every call makes new limiters", tc.name)
	}
}

func TestTokenLifetimeOption(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.Lifetimes{VerifyEmail: time.Hour, Invite: 2 * time.Hour})
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
	tok := memmailer.Token(e.onlyMail("v@example.com"))
	e.clock.Advance(time.Hour - time.Second)
	_, err := e.m.VerifyEmail(e.ctx, tok)
	require.NoError(t, err)

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	inv := memmailer.Token(e.onlyMail("i@example.com"))
	e.clock.Advance(2 * time.Hour)
	_, err = e.m.AcceptInvite(e.ctx, inv, "pw")
	require.ErrorIs(t, err, users.ErrTokenExpired)
}

func TestLinkPathsDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw12345"}))
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("v@example.com")), appURL+"/users/register/verify-email?token="))
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("i@example.com")), appURL+"/admin/accept-invite?token="))
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "r@example.com", Password: "pw"})
	require.NoError(t, err)
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, "r@example.com", ""))
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("r@example.com")), appURL+"/admin/reset-password?token="))
}

func TestLinkPathsOption(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.Links{
		VerifyEmailPath: "/console/verify", AcceptInvitePath: "/console/accept", SetPasswordPath: "/console/set", ResetPasswordPath: "/console/reset",
	})
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "c@example.com", Password: "first pw"}))
	first := memmailer.Link(e.onlyMail("c@example.com"))
	assert.True(t, strings.HasPrefix(first, appURL+"/console/verify?token="), first)
	// A contested registration: once verified, the set-password mail has its
	// own path.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "c@example.com", Password: "other pw"}))
	second := memmailer.Link(e.onlyMail("c@example.com"))
	_, err := e.m.VerifyEmail(e.ctx, tokenIn(t, second))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("c@example.com")), appURL+"/console/set?token="))

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("i@example.com")), appURL+"/console/accept?token="))

	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "r@example.com", Password: "pw"})
	require.NoError(t, err)
	require.NoError(t, e.m.RequestPasswordReset(e.ctx, "r@example.com", ""))
	assert.True(t, strings.HasPrefix(memmailer.Link(e.onlyMail("r@example.com")), appURL+"/console/reset?token="))

	// An empty field keeps its default.
	e2 := newEnv(t, users.Links{AcceptInvitePath: "/x/accept"})
	e2.open()
	require.NoError(t, e2.m.Register(e2.ctx, users.RegisterInput{Email: "d@example.com", Password: "pw12345"}))
	assert.True(t, strings.HasPrefix(memmailer.Link(e2.onlyMail("d@example.com")), appURL+"/users/register/verify-email?token="))
}

func TestLinkPathsRefused(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"admin/accept", "//evil.example/x", "/a?b=c", "/a#b", "https://evil.example/x", "/a b", "/a\\b"} {
		m, err := users.New(memstore.New(), memmailer.New(), users.Links{VerifyEmailPath: bad})
		assert.Nil(t, m, bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "users: Links.VerifyEmailPath: ", bad)
	}
}

// The defaults of the option structs are the ones their docs state (the
// example server's table repeats them).
func TestOptionDefaultsAreDocumented(t *testing.T) {
	t.Parallel()
	assert.Equal(t, users.Delivery{MaxAttempts: 8, InitialBackoff: 30 * time.Second, MaxBackoff: time.Hour,
		Lease: 5 * time.Minute, SendTimeout: time.Minute, BatchSize: 50, Concurrency: 4, PollInterval: 5 * time.Second},
		users.DefaultsForTest().Delivery)
	assert.Equal(t, users.HealthThresholds{DatabaseResponseTime: 150 * time.Millisecond, OutboxPending: 1000,
		OutboxAge: 15 * time.Minute, DeliveryErrorWindow: 15 * time.Minute, MailerProbeInterval: 30 * time.Second,
		MailerProbeTimeout: 10 * time.Second, HashShedWindow: time.Minute},
		users.DefaultsForTest().Health)
	e := newEnv(t)
	assert.Equal(t, users.Lifetimes{VerifyEmail: 7 * 24 * time.Hour, Invite: 7 * 24 * time.Hour, PasswordReset: time.Hour,
		EmailChange: time.Hour, Access: 15 * time.Minute, Refresh: 7 * 24 * time.Hour, RenewalGrace: 10 * time.Second}, e.m.Lifetimes())
}
