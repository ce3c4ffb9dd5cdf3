package users_test

import (
	"context"
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
		users.WithHasher(userstest.Hasher{}),
		limits(func(*users.Limits) {}),
		users.WithClock(e.clock.Now),
		users.Links{PublicURL: appURL},
		users.Links{RegisterURLs: []string{verifyURL}},
		users.Links{InviteURLs: []string{inviteURL}},
	}
	for _, o := range append(base, opts...) {
		// The Manager's own default limiters run on its clock; so do the
		// memory limiters of a test's Limits that name no clock.
		if l, ok := o.(users.Limits); ok {
			for _, lim := range []users.Limiter{l.Mail, l.AdminMail, l.Login, l.LoginIP, l.LoginIPTotal, l.Device, l.ResetRequestIP} {
				if ml, ok := lim.(*users.MemoryLimiter); ok && ml.Now == nil {
					ml.Now = e.clock.Now
				}
			}
		}
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

// limits returns the default Limits (users.DefaultLimits) with change
// applied: a test sets the limits it is about and keeps the others.
// newEnvOn puts the memory limiters that name no clock on the env's clock.
// One default differs: no RequestStall, which would make every password
// reset request and resend sleep 250 ms. The tests of the stall set it
// (TestRequestStallTimingOnRealStores); the other timing tests measure
// the unpadded work, where a difference between the paths shows.
func limits(change func(*users.Limits)) users.Limits {
	l := users.DefaultLimits()
	l.RequestStall = 0
	change(&l)
	return l
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
	us, err := e.m.ListUsers(e.ctx, users.UserQuery{})
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
