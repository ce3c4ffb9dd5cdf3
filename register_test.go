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
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

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
	e := newEnv(t, users.Links{RegisterURLs: []string{verifyURL + "?lang=en#top"}})
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
	assert.Equal(t, "Verify your email address", msg.Subject)
	assert.Contains(t, msg.Text, "Hello,\n", "no unverified name")
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
	f, err := users.ParseEmailFilter([]byte(`{"_and":[{"email":{"_ends_with":"@example.com"}},{"email":{"_nstarts_with":"test"}}]}`))
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

// A deny rule holds whatever the letter case of the address or of the
// rule: accounts are keyed by the lower-cased address, so CEO@… is ceo@…,
// and registering it past a rule on ceo@… would hand over that account.
// Resending a verification mail is refused alike.
func TestRegisterEmailFilterIgnoresLetterCase(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{"email":{"_nin":["ceo@example.com"]}}`,
		`{"email":{"_nin":["CEO@Example.com"]}}`,
		`{"email":{"_neq":"Ceo@example.com"}}`,
		`{"email":{"_nstarts_with":"ceo@"}}`,
		`{"_and":[{"email":{"_ends_with":"@example.com"}},{"email":{"_ncontains":"CEO"}}]}`,
		`{"email":{"_regex":"^(?:[^c]|c[^e]|ce[^o]|ceo[^@])"}}`,
	} {
		e := newEnv(t)
		f, err := users.ParseEmailFilter([]byte(doc))
		require.NoError(t, err)
		e.open(func(s *users.Settings) { s.PublicRegistrationEmailFilter = f })
		for _, addr := range []string{"ceo@example.com", "CEO@example.com", "Ceo@EXAMPLE.com", " cEo@example.com "} {
			err := e.m.Register(e.ctx, users.RegisterInput{Email: addr, Password: "pw"})
			require.ErrorIs(t, err, users.ErrEmailNotAllowed, "%s with %s", addr, doc)
			err = e.m.ResendVerification(e.ctx, addr, "")
			require.ErrorIs(t, err, users.ErrEmailNotAllowed, "resend %s with %s", addr, doc)
		}
		assert.Empty(t, e.allUsers(), doc)
		require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "Ada@Example.com", Password: "pw"}), doc)
	}
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
	f, err := users.ParseEmailFilter([]byte(`{"email":{"_nends_with":"@blocked.com"}}`))
	require.NoError(t, err)
	e.open(func(s *users.Settings) { s.PasswordPolicy = p; s.PublicRegistrationEmailFilter = f })
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "taken@example.com", Password: "longenough"})
	require.NoError(t, err)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "taken@blocked.com", Password: "longenough"})
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
			in := users.CreateUserInput{Email: "old@example.com", Status: status, FirstName: "Old"}
			if status != users.StatusInvited {
				in.Password = "original"
			}
			_, err := e.m.CreateUser(e.ctx, in)
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
	assert.Equal(t, "Choose your password", set.Subject)
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
	userstest.Hasher
	mu sync.Mutex
	n  int
}

func (h *countingHasher) Hash(pw string) (string, error) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return h.Hasher.Hash(pw)
}

func (h *countingHasher) Verify(pw, enc string) (bool, error) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return h.Hasher.Verify(pw, enc)
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
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "active@example.com", Password: "pw"})
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

// A verification mail goes to any address typed, with the names typed
// beside it: a stranger's text ("locked! reset: https://evil.example/…")
// must not reach that inbox inside a genuine mail, by Register, by a
// resend, or by an administrator's resend.
func TestVerificationMailShowsNoUnverifiedName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	const first, last = "locked! reset: https://evil.example/acme", "call +1 555 0100"
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "victim@example.com", Password: "pw", FirstName: first, LastName: last}))
	require.NoError(t, e.m.ResendVerification(e.ctx, "victim@example.com", ""))
	list, err := e.m.ListUsers(e.ctx, users.UserQuery{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NoError(t, e.m.ResendVerificationFor(e.ctx, list[0].ID))
	msgs := e.deliver()
	require.Len(t, msgs, 3)
	for _, msg := range msgs {
		for _, part := range []string{msg.Subject, msg.Text, msg.HTML} {
			assert.NotContains(t, part, "evil.example")
			assert.NotContains(t, part, "locked!")
			assert.NotContains(t, part, "555")
		}
		assert.Contains(t, msg.Text, "Hello,")
	}
}
