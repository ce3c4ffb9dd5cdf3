package users_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// fakeClock is a settable clock; tests move it instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one Manager on a fresh memstore with a recording mailer, the fast
// test hasher and a fixed clock, plus a member role and an admin role.
type env struct {
	t      *testing.T
	ctx    context.Context
	m      *users.Manager
	store  store.Store
	mail   *memmailer.Mailer
	clock  *fakeClock
	member *users.Role
	admin  *users.Role
}

const (
	appURL    = "https://app.example.com"
	verifyURL = "https://app.example.com/verify"
	inviteURL = "https://app.example.com/invite"
)

func newEnv(t *testing.T, opts ...users.Option) *env {
	t.Helper()
	return newEnvOn(t, memstore.New(), opts...)
}

func newEnvOn(t *testing.T, st store.Store, opts ...users.Option) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), store: st, mail: memmailer.New(),
		clock: &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}}
	base := []users.Option{
		users.WithHasher(users.InsecureHasher{}),
		users.WithClock(e.clock.Now),
		users.WithPublicURL(appURL),
		users.WithRegisterURLAllowList(verifyURL),
		users.WithInviteURLAllowList(inviteURL),
	}
	m, err := users.New(st, e.mail, append(base, opts...)...)
	require.NoError(t, err)
	e.m = m
	if roles, err := m.ListRoles(e.ctx); err == nil && len(roles) == 0 {
		e.member, err = m.CreateRole(e.ctx, users.Role{Name: "Member"})
		require.NoError(t, err)
		e.admin, err = m.CreateRole(e.ctx, users.Role{Name: "Admin", AdminAccess: true})
		require.NoError(t, err)
	}
	return e
}

// open turns public registration on with the member role.
func (e *env) open(mutate ...func(*users.Settings)) {
	e.t.Helper()
	s := users.DefaultSettings()
	s.PublicRegistration = true
	s.PublicRegistrationRole = &e.member.ID
	for _, f := range mutate {
		f(&s)
	}
	_, err := e.m.UpdateSettings(e.ctx, s)
	require.NoError(e.t, err)
}

// deliver runs the outbox once and returns the messages sent by it.
func (e *env) deliver() []users.Message {
	e.t.Helper()
	before := len(e.mail.Messages())
	_, err := e.m.DeliverPending(e.ctx)
	require.NoError(e.t, err)
	return e.mail.Messages()[before:]
}

// onlyMail delivers and expects exactly one message, to addr.
func (e *env) onlyMail(addr string) users.Message {
	e.t.Helper()
	msgs := e.deliver()
	require.Len(e.t, msgs, 1)
	require.Equal(e.t, addr, msgs[0].To)
	return msgs[0]
}

func (e *env) userByEmail(email string) *store.User {
	e.t.Helper()
	u, err := e.store.GetUserByEmailKey(e.ctx, users.NormalizeEmail(email))
	require.NoError(e.t, err)
	return u
}

func (e *env) allUsers() []*users.User {
	e.t.Helper()
	us, err := e.m.ListUsers(e.ctx, store.UserQuery{})
	require.NoError(e.t, err)
	return us
}

func (e *env) allMail() []*store.Mail {
	e.t.Helper()
	ms, err := e.store.ListMail(e.ctx, store.MailQuery{})
	require.NoError(e.t, err)
	return ms
}

func requireField(t *testing.T, err error, field string, sentinel error) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	var ve *users.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, field, ve.Field)
}

func TestRegisterDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	err := e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"})
	require.ErrorIs(t, err, users.ErrRegistrationDisabled)
	require.ErrorIs(t, err, users.ErrForbidden)
	assert.Empty(t, e.allUsers())
	assert.Empty(t, e.allMail())
}

func TestRegisterNewUserVerifyFlow(t *testing.T) {
	t.Parallel()
	// An entry with a query and a fragment allows exactly that URL; the
	// mailed link keeps them.
	e := newEnv(t, users.WithRegisterURLAllowList(verifyURL+"?lang=en#top"))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{
		Email: "Ann@Example.com", Password: "s3cret!", FirstName: "Ann", LastName: "Lee",
		VerificationURL: verifyURL + "?lang=en#top",
	}))
	u := e.userByEmail("ann@example.com")
	assert.Equal(t, "Ann@Example.com", u.Email, "stored as given")
	assert.Equal(t, users.StatusUnverified, u.Status)
	require.NotNil(t, u.Role)
	assert.Equal(t, e.member.ID, *u.Role)
	assert.Equal(t, "Ann", u.FirstName)

	msg := e.onlyMail("Ann@Example.com")
	assert.Equal(t, users.SubjectVerifyEmail, msg.Subject)
	assert.Contains(t, msg.Text, "Hello Ann")
	link, err := url.Parse(memmailer.Link(msg))
	require.NoError(t, err)
	assert.Equal(t, "app.example.com", link.Host)
	assert.Equal(t, "/verify", link.Path)
	assert.Equal(t, "en", link.Query().Get("lang"), "other query parameters are kept")
	tok := link.Query().Get("token")
	require.Len(t, tok, 43)
	assert.Contains(t, msg.HTML, "token="+tok)

	// Unverified users cannot log in.
	_, err = e.m.Authenticate(e.ctx, "ann@example.com", "s3cret!")
	require.ErrorIs(t, err, users.ErrInvalidCredentials)

	got, err := e.m.VerifyEmail(e.ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, got.Status)
	logged, err := e.m.Authenticate(e.ctx, "ANN@example.COM", "s3cret!")
	require.NoError(t, err)
	assert.Equal(t, u.ID, logged.ID)

	_, err = e.m.VerifyEmail(e.ctx, tok)
	require.ErrorIs(t, err, users.ErrTokenUsed, "single use")
}

func TestRegisterDefaultVerificationLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "b@example.com", Password: "pw"}))
	link := memmailer.Link(e.onlyMail("b@example.com"))
	assert.True(t, strings.HasPrefix(link, appURL+"/users/register/verify-email?token="), link)
}

func TestRegisterWithoutVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open(func(s *users.Settings) { s.PublicRegistrationVerifyEmail = false; s.PublicRegistrationRole = nil })
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "c@example.com", Password: "pw"}))
	u := e.userByEmail("c@example.com")
	assert.Equal(t, users.StatusActive, u.Status)
	assert.Nil(t, u.Role, "no registration role: NULL role")
	assert.Empty(t, e.deliver(), "no mail without verification")
	_, err := e.m.Authenticate(e.ctx, "c@example.com", "pw")
	require.NoError(t, err)
}

func TestRegisterBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 245) + "@example.com"
	cases := []struct {
		name  string
		in    users.RegisterInput
		field string
		err   error
	}{
		{"no at", users.RegisterInput{Email: "a.example.com", Password: "pw"}, "email", users.ErrInvalidPayload},
		{"two at", users.RegisterInput{Email: "a@b@example.com", Password: "pw"}, "email", users.ErrInvalidPayload},
		{"space", users.RegisterInput{Email: "a b@example.com", Password: "pw"}, "email", users.ErrInvalidPayload},
		{"crlf", users.RegisterInput{Email: "a@example.com\r\nBcc: x@evil.com", Password: "pw"}, "email", users.ErrInvalidPayload},
		{"lf in local", users.RegisterInput{Email: "a\n@example.com", Password: "pw"}, "email", users.ErrInvalidPayload},
		{"too long", users.RegisterInput{Email: long, Password: "pw"}, "email", users.ErrInvalidPayload},
		{"empty email", users.RegisterInput{Email: "", Password: "pw"}, "email", users.ErrInvalidPayload},
		{"no tld", users.RegisterInput{Email: "a@localhost", Password: "pw"}, "email", users.ErrInvalidPayload},
		{"look-alike", users.RegisterInput{Email: "a@exаmple.com", Password: "pw"}, "email", users.ErrInvalidPayload},
		{"empty password", users.RegisterInput{Email: "a@example.com"}, "password", users.ErrInvalidPayload},
		{"huge password", users.RegisterInput{Email: "a@example.com", Password: strings.Repeat("x", 1025)}, "password", users.ErrInvalidPayload},
		{"crlf name", users.RegisterInput{Email: "a@example.com", Password: "pw", FirstName: "A\r\nB"}, "first_name", users.ErrInvalidPayload},
		{"long name", users.RegisterInput{Email: "a@example.com", Password: "pw", LastName: strings.Repeat("n", 256)}, "last_name", users.ErrInvalidPayload},
		{"url not allowed", users.RegisterInput{Email: "a@example.com", Password: "pw", VerificationURL: "https://evil.com/verify"}, "verification_url", users.ErrURLNotAllowed},
		{"url userinfo", users.RegisterInput{Email: "a@example.com", Password: "pw", VerificationURL: "https://app.example.com@evil.com/verify"}, "verification_url", users.ErrURLNotAllowed},
		{"url javascript", users.RegisterInput{Email: "a@example.com", Password: "pw", VerificationURL: "javascript:alert(1)"}, "verification_url", users.ErrURLNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.open()
			err := e.m.Register(e.ctx, c.in)
			requireField(t, err, c.field, c.err)
			if c.in.Password != "" {
				assert.NotContains(t, err.Error(), c.in.Password)
			}
			assert.Empty(t, e.allUsers())
			assert.Empty(t, e.allMail())
		})
	}
}

func TestRegisterURLErrorWording(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	err := e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw", VerificationURL: "https://evil.com/x"})
	var ve *users.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, `URL "https://evil.com/x" can't be used to verify registered users`, ve.Message())
}

func TestRegisterEmailFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f, err := users.ParseFilter([]byte(`{"_and":[{"email":{"_ends_with":"@example.com"}},{"email":{"_nstarts_with":"test"}}]}`))
	require.NoError(t, err)
	e.open(func(s *users.Settings) { s.PublicRegistrationEmailFilter = f })

	for _, bad := range []string{"a@other.com", "test1@example.com"} {
		err := e.m.Register(e.ctx, users.RegisterInput{Email: bad, Password: "pw"})
		require.ErrorIs(t, err, users.ErrEmailNotAllowed, bad)
		require.ErrorIs(t, err, users.ErrForbidden)
	}
	assert.Empty(t, e.allUsers())
	// Beyond Directus: the domain is compared case-insensitively.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "a@EXAMPLE.COM", Password: "pw"}))
	assert.Len(t, e.allUsers(), 1)
}

func TestRegisterPasswordPolicyNeverEchoesPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, err := users.ParsePasswordPolicy(users.PasswordPolicyStrong)
	require.NoError(t, err)
	e.open(func(s *users.Settings) { s.PasswordPolicy = p })
	const weak = "weakpassword"
	err = e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: weak})
	requireField(t, err, "password", users.ErrPasswordPolicy)
	assert.NotContains(t, err.Error(), weak)
	assert.Contains(t, err.Error(), "password policy")
	assert.Empty(t, e.allUsers())
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "Str0ng!Pass"}))
}

// Every check runs before the email is looked up: the error for a bad
// request is the same whether or not the address exists.
func TestRegisterErrorsDoNotDependOnExistence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, err := users.ParsePasswordPolicy(users.PasswordPolicyMinLength)
	require.NoError(t, err)
	f, err := users.ParseFilter([]byte(`{"email":{"_nends_with":"@blocked.com"}}`))
	require.NoError(t, err)
	e.open(func(s *users.Settings) { s.PasswordPolicy = p; s.PublicRegistrationEmailFilter = f })
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "taken@example.com", Password: "longenough"})
	require.NoError(t, err)
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "taken@blocked.com", Password: "longenough"})
	require.NoError(t, err)

	pairs := []struct {
		existing, fresh users.RegisterInput
		want            error // the check that refuses both
	}{
		{users.RegisterInput{Email: "taken@example.com", Password: "short"}, users.RegisterInput{Email: "fresh@example.com", Password: "short"}, users.ErrPasswordPolicy},
		{users.RegisterInput{Email: "taken@blocked.com", Password: "longenough"}, users.RegisterInput{Email: "fresh@blocked.com", Password: "longenough"}, users.ErrEmailNotAllowed},
		{users.RegisterInput{Email: "taken@example.com", Password: "longenough", VerificationURL: "https://evil.com"}, users.RegisterInput{Email: "fresh@example.com", Password: "longenough", VerificationURL: "https://evil.com"}, users.ErrURLNotAllowed},
	}
	for _, p := range pairs {
		errExisting := e.m.Register(e.ctx, p.existing)
		errFresh := e.m.Register(e.ctx, p.fresh)
		require.ErrorIs(t, errExisting, p.want, p.existing.Email)
		require.ErrorIs(t, errFresh, p.want, p.fresh.Email)
		assert.Equal(t, strings.ReplaceAll(errFresh.Error(), "fresh", "taken"), strings.ReplaceAll(errExisting.Error(), "fresh", "taken"))
	}
	assert.Len(t, e.allUsers(), 2)
}

func TestRegisterExistingUsersUntouched(t *testing.T) {
	t.Parallel()
	for _, status := range []users.Status{users.StatusActive, users.StatusInvited, users.StatusSuspended, users.StatusDraft, users.StatusArchived} {
		t.Run(string(status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.open()
			in := users.CreateInput{Email: "old@example.com", Status: status, FirstName: "Old"}
			if status != users.StatusInvited {
				in.Password = "original"
			}
			_, err := e.m.Create(e.ctx, in)
			require.NoError(t, err)
			before := e.userByEmail("old@example.com")
			e.clock.Advance(time.Minute)

			require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "OLD@example.com", Password: "attacker", FirstName: "New"}))
			after := e.userByEmail("old@example.com")
			assert.Equal(t, before, after, "nothing changes")
			assert.Empty(t, e.deliver(), "no mail")
		})
	}
}

func TestRegisterAgainSamePasswordResends(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	in := users.RegisterInput{Email: "r@example.com", Password: "pw1"}
	require.NoError(t, e.m.Register(e.ctx, in))
	first := memmailer.Token(e.onlyMail("r@example.com"))
	require.NoError(t, e.m.Register(e.ctx, in))
	second := memmailer.Token(e.onlyMail("r@example.com"))
	require.NotEqual(t, first, second)
	assert.False(t, e.userByEmail("r@example.com").Contested)

	_, err := e.m.VerifyEmail(e.ctx, first)
	require.ErrorIs(t, err, users.ErrInvalidToken, "re-sending revokes the earlier token")
	u, err := e.m.VerifyEmail(e.ctx, second)
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, u.Status)
	_, err = e.m.Authenticate(e.ctx, "r@example.com", "pw1")
	require.NoError(t, err)
}

// The pre-registration takeover Directus allows: an attacker registers the
// victim's address first; the victim registers too (different password)
// and verifies. Here the verified account gets no password at all and the
// mailbox owner chooses one.
func TestRegisterContestedAccountTakeoverClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "victim@example.com", Password: "attacker-pw"}))
	attackerMail := e.onlyMail("victim@example.com") // lands in the victim's mailbox
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "victim@example.com", Password: "victim-pw"}))
	victimMail := e.onlyMail("victim@example.com")
	assert.True(t, e.userByEmail("victim@example.com").Contested)

	_, err := e.m.VerifyEmail(e.ctx, memmailer.Token(attackerMail))
	require.ErrorIs(t, err, users.ErrInvalidToken, "the earlier link was revoked")
	u, err := e.m.VerifyEmail(e.ctx, memmailer.Token(victimMail))
	require.NoError(t, err)
	assert.Equal(t, users.StatusInvited, u.Status)
	assert.False(t, u.HasPassword)

	for _, pw := range []string{"attacker-pw", "victim-pw"} {
		_, err := e.m.Authenticate(e.ctx, "victim@example.com", pw)
		require.ErrorIs(t, err, users.ErrInvalidCredentials, pw)
	}
	set := e.onlyMail("victim@example.com")
	assert.Equal(t, users.SubjectSetPassword, set.Subject)
	assert.True(t, strings.HasPrefix(memmailer.Link(set), appURL+"/admin/accept-invite?token="))
	_, err = e.m.AcceptInvite(e.ctx, memmailer.Token(set), "chosen-by-owner")
	require.NoError(t, err)
	_, err = e.m.Authenticate(e.ctx, "victim@example.com", "chosen-by-owner")
	require.NoError(t, err)
	assert.False(t, e.userByEmail("victim@example.com").Contested)
}

// countingStore and countingHasher record the work each Register path
// does, to show it is the same on every path.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls []string
}

func (s *countingStore) note(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, name)
}

func (s *countingStore) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func (s *countingStore) Settings(ctx context.Context) ([]byte, error) {
	s.note("read")
	return s.Store.Settings(ctx)
}

func (s *countingStore) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	s.note("read")
	return s.Store.GetUserByEmailKey(ctx, key)
}

func (s *countingStore) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	s.note(writeShape(fx))
	return s.Store.CreateUser(ctx, u, fx)
}

func (s *countingStore) UpdateUser(ctx context.Context, id string, c store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	s.note(writeShape(fx))
	return s.Store.UpdateUser(ctx, id, c, ch, fx)
}

func writeShape(fx store.Effects) string {
	return "write" + map[bool]string{true: "+token", false: ""}[fx.Token != nil] + map[bool]string{true: "+mail", false: ""}[fx.Mail != nil]
}

type countingHasher struct {
	users.InsecureHasher
	mu sync.Mutex
	n  int
}

func (h *countingHasher) Hash(pw string) (string, error) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return h.InsecureHasher.Hash(pw)
}

func (h *countingHasher) Verify(pw, enc string) (bool, error) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return h.InsecureHasher.Verify(pw, enc)
}

func (h *countingHasher) take() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.n
	h.n = 0
	return n
}

func TestRegisterSameWorkOnEveryPath(t *testing.T) {
	t.Parallel()
	cs := &countingStore{Store: memstore.New()}
	h := &countingHasher{}
	e := newEnvOn(t, cs, users.WithHasher(h))
	e.open()
	_, err := e.m.Create(e.ctx, users.CreateInput{Email: "active@example.com", Password: "pw"})
	require.NoError(t, err)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"invited@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "unverified@example.com", Password: "pw"}))
	cs.take()
	h.take()

	paths := map[string]users.RegisterInput{
		"new":                    {Email: "new@example.com", Password: "pw"},
		"unverified, same pw":    {Email: "unverified@example.com", Password: "pw"},
		"unverified, other pw":   {Email: "unverified@example.com", Password: "other"},
		"active":                 {Email: "active@example.com", Password: "pw"},
		"invited (no password)":  {Email: "invited@example.com", Password: "pw"},
		"active, wrong password": {Email: "active@example.com", Password: "nope"},
	}
	for name, in := range paths {
		require.NoError(t, e.m.Register(e.ctx, in), name)
		assert.Equal(t, []string{"read", "read", "write+token+mail"}, cs.take(), name)
		assert.Equal(t, 1, h.take(), "one hashing operation on path %q", name)
	}
}

func TestVerifyEmailBadTokensChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
	tok := memmailer.Token(e.onlyMail("v@example.com"))
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	inviteTok := memmailer.Token(e.onlyMail("i@example.com"))

	for name, bad := range map[string]string{
		"empty":          "",
		"short":          "abc",
		"too long":       tok + "A",
		"huge":           strings.Repeat("A", 1<<16),
		"not base64url":  strings.Repeat("+", 43),
		"padding":        tok[:42] + "=",
		"non-canonical":  tok[:42] + string(nonCanonical(tok[42])),
		"unknown":        strings.Repeat("A", 43),
		"wrong purpose":  inviteTok,
		"with spaces":    " " + tok[1:],
		"unicode":        "é" + tok[2:],
		"sql injection":  "' OR 1=1 --" + strings.Repeat("A", 32),
		"path traversal": "../../../../etc/passwd" + strings.Repeat("A", 21),
	} {
		_, err := e.m.VerifyEmail(e.ctx, bad)
		require.ErrorIs(t, err, users.ErrInvalidToken, name)
		if bad != "" {
			assert.NotContains(t, err.Error(), bad, "%s: tokens never appear in errors", name)
		}
	}
	assert.Equal(t, users.StatusUnverified, e.userByEmail("v@example.com").Status)
	assert.Equal(t, users.StatusInvited, e.userByEmail("i@example.com").Status)

	e.clock.Advance(7 * 24 * time.Hour)
	_, err = e.m.VerifyEmail(e.ctx, tok)
	require.ErrorIs(t, err, users.ErrTokenExpired, "7 days by default")
	assert.Equal(t, users.StatusUnverified, e.userByEmail("v@example.com").Status)
}

// nonCanonical returns another base64url character whose value differs
// from c only in the low padding bits, so that the token decodes to the
// same bytes unless decoding is strict.
func nonCanonical(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

func TestVerifyEmailTokenOfUserNoLongerUnverified(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "pw"}))
	tok := memmailer.Token(e.onlyMail("v@example.com"))
	u := e.userByEmail("v@example.com")
	suspended := users.StatusSuspended
	_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Status: &suspended})
	require.NoError(t, err)
	_, err = e.m.VerifyEmail(e.ctx, tok)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	assert.Equal(t, users.StatusSuspended, e.userByEmail("v@example.com").Status, "a verification link cannot lift a suspension")
}

func TestTokenLifetimeOption(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.WithTokenLifetimes(time.Hour, 2*time.Hour))
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

func TestInviteFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.WithInviteURLAllowList(inviteURL+"?team=7"))
	res, err := e.m.Invite(e.ctx, users.InviteInput{
		Emails: []string{"x@example.com", "Y@example.com", "x@EXAMPLE.com"}, Role: e.member.ID, InviteURL: inviteURL + "?team=7",
	})
	require.NoError(t, err)
	require.Len(t, res, 2, "duplicates count once")
	assert.Equal(t, users.InviteCreated, res[0].Outcome)
	msgs := e.deliver()
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		assert.Equal(t, users.SubjectInvite, m.Subject)
		l, err := url.Parse(memmailer.Link(m))
		require.NoError(t, err)
		assert.Equal(t, "/invite", l.Path)
		assert.Equal(t, "7", l.Query().Get("team"))
	}
	x := e.userByEmail("x@example.com")
	assert.Equal(t, users.StatusInvited, x.Status)
	assert.Equal(t, e.member.ID, *x.Role)
	assert.Empty(t, x.PasswordHash)

	tok := memmailer.Token(e.mail.To("x@example.com")[0])
	u, err := e.m.AcceptInvite(e.ctx, tok, "newpass")
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, u.Status)
	assert.True(t, u.HasPassword)
	_, err = e.m.Authenticate(e.ctx, "x@example.com", "newpass")
	require.NoError(t, err)
	_, err = e.m.AcceptInvite(e.ctx, tok, "again")
	require.ErrorIs(t, err, users.ErrTokenUsed)
	_, err = e.m.Authenticate(e.ctx, "x@example.com", "newpass")
	require.NoError(t, err, "a used token changes nothing")
}

func TestReinviteRevokesAndUpdatesRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, err := e.m.CreateRole(e.ctx, users.Role{Name: "Other"})
	require.NoError(t, err)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"z@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	old := memmailer.Token(e.onlyMail("z@example.com"))
	res, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"Z@example.com"}, Role: other.ID})
	require.NoError(t, err)
	assert.Equal(t, users.InviteResent, res[0].Outcome)
	fresh := memmailer.Token(e.onlyMail("z@example.com"))
	assert.Equal(t, other.ID, *e.userByEmail("z@example.com").Role)
	_, err = e.m.AcceptInvite(e.ctx, old, "pw")
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.AcceptInvite(e.ctx, fresh, "pw")
	require.NoError(t, err)

	// Now active: a further invite does nothing and mails nothing.
	before := e.userByEmail("z@example.com")
	res, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"z@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.Equal(t, users.InviteAlreadyActive, res[0].Outcome)
	assert.Empty(t, e.deliver())
	assert.Equal(t, before, e.userByEmail("z@example.com"))
}

func TestInviteBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"ok@example.com"}})
	requireField(t, err, "role", users.ErrInvalidPayload)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"ok@example.com"}, Role: "00000000-0000-0000-0000-000000000000"})
	require.ErrorIs(t, err, users.ErrRoleNotFound)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"ok@example.com", "bad@@example.com"}, Role: e.member.ID})
	requireField(t, err, "email", users.ErrInvalidPayload)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Role: e.member.ID})
	requireField(t, err, "email", users.ErrInvalidPayload)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"ok@example.com"}, Role: e.member.ID, InviteURL: "https://evil.com/invite"})
	requireField(t, err, "invite_url", users.ErrURLNotAllowed)
	assert.Equal(t, `users: invite: URL "https://evil.com/invite" can't be used to invite users`, err.Error())
	assert.Empty(t, e.allUsers())
	assert.Empty(t, e.allMail())
}

// The invite URL is checked before anything else on every path, re-invites
// included (Directus lets a re-invite through with any invite_url).
func TestReinviteChecksURLFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"z@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	e.deliver()
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"z@example.com"}, Role: e.member.ID, InviteURL: "https://evil.com/steal"})
	require.ErrorIs(t, err, users.ErrURLNotAllowed)
	assert.Empty(t, e.deliver())
}

func TestAcceptInviteBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, err := users.ParsePasswordPolicy(users.PasswordPolicyMinLength)
	require.NoError(t, err)
	s := users.DefaultSettings()
	s.PasswordPolicy = p
	_, err = e.m.UpdateSettings(e.ctx, s)
	require.NoError(t, err)
	e.open(func(s *users.Settings) { s.PasswordPolicy = p })
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "v@example.com", Password: "longenough"}))
	verifyTok := memmailer.Token(e.onlyMail("v@example.com"))
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	tok := memmailer.Token(e.onlyMail("i@example.com"))

	_, err = e.m.AcceptInvite(e.ctx, verifyTok, "longenough")
	require.ErrorIs(t, err, users.ErrInvalidToken, "a verification token cannot accept an invite")
	_, err = e.m.AcceptInvite(e.ctx, tok, "")
	requireField(t, err, "password", users.ErrInvalidPayload)
	_, err = e.m.AcceptInvite(e.ctx, tok, "short")
	requireField(t, err, "password", users.ErrPasswordPolicy)
	assert.NotContains(t, err.Error(), "short")
	_, err = e.m.AcceptInvite(e.ctx, "garbage", "longenough")
	require.ErrorIs(t, err, users.ErrInvalidToken)
	assert.Equal(t, users.StatusInvited, e.userByEmail("i@example.com").Status)
	assert.Equal(t, users.StatusUnverified, e.userByEmail("v@example.com").Status)
	_, err = e.m.AcceptInvite(e.ctx, tok, "longenough")
	require.NoError(t, err, "the token survived the failed attempts")
}

func TestParseEmailList(t *testing.T) {
	t.Parallel()
	got := users.ParseEmailList(" a@example.com, b@example.com\n\nc@example.com;A@EXAMPLE.com,\r\n , d@example.com ")
	assert.Equal(t, []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"}, got)
	assert.Empty(t, users.ParseEmailList(" ,\n, "))
}

func TestCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pol, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Editors"})
	require.NoError(t, err)
	u, err := e.m.Create(e.ctx, users.CreateInput{Email: "Boss@Example.com", Password: "pw", Role: &e.admin.ID, Policies: []string{pol.ID}, Metadata: map[string]any{"tier": "gold"}})
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, u.Status, "default status")
	assert.True(t, u.HasPassword)
	assert.Equal(t, []string{pol.ID}, u.Policies)
	assert.Equal(t, "gold", u.Metadata["tier"])
	_, err = e.m.Authenticate(e.ctx, "boss@example.com", "pw")
	require.NoError(t, err)

	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "BOSS@example.COM"})
	require.ErrorIs(t, err, users.ErrDuplicateEmail)
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "not-an-email"})
	requireField(t, err, "email", users.ErrFailedValidation)
	missing := "00000000-0000-0000-0000-000000000000"
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "r@example.com", Role: &missing})
	require.ErrorIs(t, err, users.ErrRoleNotFound)
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "p@example.com", Policies: []string{missing}})
	require.ErrorIs(t, err, users.ErrPolicyNotFound)
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "s@example.com", Status: "bogus"})
	requireField(t, err, "status", users.ErrInvalidPayload)
	assert.Len(t, e.allUsers(), 1, "failed creates wrote nothing")

	// Users without email may coexist.
	_, err = e.m.Create(e.ctx, users.CreateInput{FirstName: "Bot 1"})
	require.NoError(t, err)
	_, err = e.m.Create(e.ctx, users.CreateInput{FirstName: "Bot 2"})
	require.NoError(t, err)
	assert.Len(t, e.allUsers(), 3)
}

func TestAuthenticateOneErrorForEveryFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, in := range []users.CreateInput{
		{Email: "active@example.com", Password: "pw"},
		{Email: "suspended@example.com", Password: "pw", Status: users.StatusSuspended},
		{Email: "unverified@example.com", Password: "pw", Status: users.StatusUnverified},
		{Email: "nopw@example.com"},
	} {
		_, err := e.m.Create(e.ctx, in)
		require.NoError(t, err)
	}
	var msgs []string
	for _, c := range [][2]string{
		{"nobody@example.com", "pw"}, {"active@example.com", "wrong"}, {"suspended@example.com", "pw"},
		{"unverified@example.com", "pw"}, {"nopw@example.com", ""}, {"nopw@example.com", "x"},
		{"not an email", "pw"}, {"active@example.com", strings.Repeat("p", 2000)},
	} {
		_, err := e.m.Authenticate(e.ctx, c[0], c[1])
		require.ErrorIs(t, err, users.ErrInvalidCredentials, c[0])
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs {
		assert.Equal(t, msgs[0], m, "one error text for every failure")
	}
	u, err := e.m.Authenticate(e.ctx, " Active@Example.com ", "pw")
	require.NoError(t, err)
	assert.Equal(t, "active@example.com", u.Email)
}

func TestRoleAssignment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for _, em := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		u, err := e.m.Create(e.ctx, users.CreateInput{Email: em})
		require.NoError(t, err)
		ids = append(ids, u.ID)
	}
	require.NoError(t, e.m.AssignRole(e.ctx, e.member.ID, ids[0], ids[1]))
	in, err := e.m.UsersInRole(e.ctx, e.member.ID)
	require.NoError(t, err)
	require.Len(t, in, 2)

	err = e.m.AssignRole(e.ctx, e.admin.ID, ids[2], "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, users.ErrUserNotFound)
	u, err := e.m.User(e.ctx, ids[2])
	require.NoError(t, err)
	assert.Nil(t, u.Role, "all or nothing")
	require.ErrorIs(t, e.m.AssignRole(e.ctx, "00000000-0000-0000-0000-000000000000", ids[2]), users.ErrRoleNotFound)

	require.NoError(t, e.m.RemoveRole(e.ctx, ids[0]))
	u, err = e.m.User(e.ctx, ids[0])
	require.NoError(t, err)
	assert.Nil(t, u.Role, "removed role is NULL")
	in, err = e.m.UsersInRole(e.ctx, e.member.ID)
	require.NoError(t, err)
	require.Len(t, in, 1)
	assert.Equal(t, ids[1], in[0].ID)
	none, err := e.m.ListUsers(e.ctx, store.UserQuery{NoRole: true})
	require.NoError(t, err)
	assert.Len(t, none, 2)
	_, err = e.m.UsersInRole(e.ctx, "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, users.ErrRoleNotFound)

	p1, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "P1"})
	require.NoError(t, err)
	p2, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "P2"})
	require.NoError(t, err)
	u, err = e.m.AddPolicies(e.ctx, ids[0], p1.ID, p2.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{p1.ID, p2.ID}, u.Policies)
	u, err = e.m.RemovePolicies(e.ctx, ids[0], p1.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{p2.ID}, u.Policies)
	_, err = e.m.SetPolicies(e.ctx, ids[0], "00000000-0000-0000-0000-000000000000")
	require.ErrorIs(t, err, users.ErrPolicyNotFound)
	roles, err := e.m.ListRoles(e.ctx)
	require.NoError(t, err)
	assert.Len(t, roles, 2)
	_, err = e.m.CreateRole(e.ctx, users.Role{})
	requireField(t, err, "name", users.ErrInvalidPayload)
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.m.Create(e.ctx, users.CreateInput{Email: "a@example.com"})
	require.NoError(t, err)
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "b@example.com"})
	require.NoError(t, err)
	taken := "B@EXAMPLE.COM"
	_, err = e.m.UpdateUser(e.ctx, a.ID, users.UserPatch{Email: &taken})
	require.ErrorIs(t, err, users.ErrDuplicateEmail)
	name, pw := "Ada", "pw2"
	u, err := e.m.UpdateUser(e.ctx, a.ID, users.UserPatch{FirstName: &name, Password: &pw})
	require.NoError(t, err)
	assert.Equal(t, "Ada", u.FirstName)
	_, err = e.m.Authenticate(e.ctx, "a@example.com", "pw2")
	require.NoError(t, err)
	_, err = e.m.UpdateUser(e.ctx, "00000000-0000-0000-0000-000000000000", users.UserPatch{FirstName: &name})
	require.ErrorIs(t, err, users.ErrUserNotFound)
	bad := "x\ny"
	_, err = e.m.UpdateUser(e.ctx, a.ID, users.UserPatch{LastName: &bad})
	requireField(t, err, "last_name", users.ErrInvalidPayload)
	err = e.m.UpdateUsers(e.ctx, []string{a.ID}, users.UserPatch{Email: &taken})
	requireField(t, err, "email", users.ErrInvalidPayload)
}

func TestSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s, err := e.m.Settings(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, users.DefaultSettings(), s)
	assert.False(t, s.PublicRegistration)
	assert.True(t, s.PublicRegistrationVerifyEmail)

	s.PublicRegistrationRole = &e.admin.ID
	_, err = e.m.UpdateSettings(e.ctx, s)
	require.ErrorIs(t, err, users.ErrAdminRole)
	missing := "00000000-0000-0000-0000-000000000000"
	s.PublicRegistrationRole = &missing
	_, err = e.m.UpdateSettings(e.ctx, s)
	require.ErrorIs(t, err, users.ErrRoleNotFound)
	got, err := e.m.Settings(e.ctx)
	require.NoError(t, err)
	assert.Nil(t, got.PublicRegistrationRole, "a rejected update saves nothing")

	// Settings are shared through the store: a second Manager sees them.
	e.open()
	other, err := users.New(e.store, e.mail, users.WithHasher(users.InsecureHasher{}))
	require.NoError(t, err)
	got, err = other.Settings(e.ctx)
	require.NoError(t, err)
	assert.True(t, got.PublicRegistration)
	assert.Equal(t, e.member.ID, *got.PublicRegistrationRole)
}

func TestPasswordPolicies(t *testing.T) {
	t.Parallel()
	strong, err := users.ParsePasswordPolicy(users.PasswordPolicyStrong)
	require.NoError(t, err, "Directus's strong preset (lookaheads) is accepted")
	for pw, want := range map[string]bool{
		"Abcdef1!": true, "abcdef1!": false, "ABCDEF1!": false, "Abcdefg!": false,
		"Abcdef12": false, "Ab1!": false, "Abc def1!": false, "Zz9;Zz9;Zz9;": true,
	} {
		assert.Equal(t, want, strong.Match(pw), pw)
	}
	minLen, err := users.ParsePasswordPolicy(users.PasswordPolicyMinLength)
	require.NoError(t, err)
	assert.True(t, minLen.Match("12345678"))
	assert.False(t, minLen.Match("1234567"))
	ci, err := users.ParsePasswordPolicy("/^secret/i")
	require.NoError(t, err)
	assert.True(t, ci.Match("SECRET-ish"))

	for _, bad := range []string{"", "  ", "/(/", "(", "/a/q", strings.Repeat("a", 1025)} {
		_, err := users.ParsePasswordPolicy(bad)
		requireField(t, err, "auth_password_policy", users.ErrInvalidPayload)
	}
	// A catastrophic pattern (2^40 steps) is cut off by the match
	// timeout, not hung on.
	evil, err := users.ParsePasswordPolicy(`^(a+)+$`)
	require.NoError(t, err)
	matched := make(chan bool, 1)
	go func() { matched <- evil.Match(strings.Repeat("a", 40) + "!") }()
	assert.False(t, testenv.Receive(t, matched, testenv.WaitLimit, "a catastrophic password policy was not cut off: the match timeout is gone"))
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
	_, err = e.m.Create(e.ctx, users.CreateInput{Email: "b@example.com", Password: pw})
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

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	mm := memmailer.New()
	// Each bad option is refused with an error naming it.
	for name, tc := range map[string]struct {
		opt  users.Option
		want string
	}{
		"relative allow-list entry": {users.WithRegisterURLAllowList("/verify"), `register URL allow-list: users: allow-list entry "/verify"`},
		"javascript entry":          {users.WithInviteURLAllowList("javascript:alert(1)"), `invite URL allow-list: users: allow-list entry "javascript:alert(1)"`},
		"bad public URL":            {users.WithPublicURL("ftp://x"), `public URL "ftp://x"`},
		"nil clock":                 {users.WithClock(nil), "clock must not be nil"},
		"negative ttl":              {users.WithTokenLifetimes(-time.Second, 0), "token lifetimes must not be negative"},
		"bad delivery":              {users.WithDelivery(users.DeliveryOptions{}), "delivery: MaxAttempts"},
		"incomplete templates":      {users.WithTemplates(users.Templates{}), "templates: no template"},
	} {
		m, err := users.New(st, mm, tc.opt)
		assert.Nil(t, m, name)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), tc.want, name)
		}
	}
	_, err := users.New(nil, mm)
	assert.EqualError(t, err, "users: store must not be nil")
	_, err = users.New(st, nil)
	assert.EqualError(t, err, "users: mailer must not be nil")
	// The options above are refused for themselves: the same store and
	// mailer build a Manager.
	_, err = users.New(st, mm)
	assert.NoError(t, err)
}

func TestContextCancelledWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	err := e.m.Register(ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"})
	require.ErrorIs(t, err, context.Canceled)
	_, err = e.m.Invite(ctx, users.InviteInput{Emails: []string{"b@example.com"}, Role: e.member.ID})
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, e.allUsers())
	assert.Empty(t, e.allMail())
}

// A policy listed twice counts once, whatever the store does with repeats.
func TestPoliciesListedTwiceCountOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Editors"})
	require.NoError(t, err)
	q, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Viewers"})
	require.NoError(t, err)
	u, err := e.m.Create(e.ctx, users.CreateInput{Email: "twice@example.com", Policies: []string{p.ID, q.ID, p.ID}})
	require.NoError(t, err)
	assert.Equal(t, []string{p.ID, q.ID}, u.Policies)
	u, err = e.m.SetPolicies(e.ctx, u.ID, q.ID, q.ID, p.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{q.ID, p.ID}, u.Policies)
}
