package users_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// quiet drops the Manager's log lines.
var quiet = users.WithLogger(slog.New(slog.DiscardHandler))

func TestHashConcurrencyOption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	limit, queue := users.HashGateSize(e.m)
	assert.Equal(t, runtime.NumCPU(), limit, "default limit")
	assert.Equal(t, 1024, queue, "default queue")
	budget, perHash := users.HashGateBudget(e.m)
	assert.Equal(t, 5*time.Second, budget, "default wait budget")
	assert.Positive(t, perHash, "the first estimate comes from the hash New runs")

	e = newEnv(t, limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 3, 0 }))
	limit, queue = users.HashGateSize(e.m)
	assert.Equal(t, [2]int{3, 0}, [2]int{limit, queue})

	for _, bad := range [][2]int{{0, 4}, {-1, 0}, {1, -1}} {
		_, err := users.New(memstore.New(), memmailer.New(), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = bad[0], bad[1] }))
		assert.ErrorContains(t, err, "users: Limits.Hash", "%v", bad)
	}
}

// holdHasher is the test hasher, except that while held every Hash and
// Verify announces itself on entered and waits until the hold is
// released. Give entered a buffer when a call the gate should have kept
// out must not block on the announcement.
type holdHasher struct {
	userstest.Hasher
	hold    atomic.Pointer[chan struct{}]
	entered chan struct{}
}

func (h *holdHasher) wait() {
	if c := h.hold.Load(); c != nil {
		h.entered <- struct{}{}
		<-*c
	}
}

func (h *holdHasher) Hash(pw string) (string, error) {
	h.wait()
	return h.Hasher.Hash(pw)
}

func (h *holdHasher) Verify(pw, enc string) (bool, error) {
	h.wait()
	return h.Hasher.Verify(pw, enc)
}

// refusedAtOnce runs call, which the hashing gate must refuse at once (its
// slots and queue being full), and returns its error; it fails t, naming
// the call, when call is still blocked after testenv.WaitLimit.
func refusedAtOnce(t *testing.T, what string, call func() error) error {
	t.Helper()
	var err error
	testenv.Within(t, testenv.WaitLimit, what+" was not refused at once: the hash gate let it wait or hash", func() { err = call() })
	return err
}

// waitForLoad spins until the Manager's hashing gate has that many calls
// running and waiting.
func waitForLoad(t *testing.T, m *users.Manager, running, waiting int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, w := users.HashGateLoad(m)
		if r == running && w == waiting {
			return
		}
		require.True(t, time.Now().Before(deadline), "gate load %d/%d, want %d/%d", r, w, running, waiting)
		runtime.Gosched()
	}
}

// With every hashing slot taken and the queue full, Register and
// Authenticate fail fast with ErrBusy — the same error whether or not the
// address exists, and nothing written; a queued call whose ctx ends gives
// up with ctx's error, nothing written either.
func TestHashQueueFull(t *testing.T) {
	t.Parallel()
	h := &holdHasher{entered: make(chan struct{}, 8)}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 1 }))
	e.open()
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "old@example.com", Password: "pw"})
	require.NoError(t, err)
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "unverified@example.com", Password: "pw"}))
	e.deliver()
	before := e.userByEmail("unverified@example.com")
	release := make(chan struct{})
	var once sync.Once
	unhold := func() { once.Do(func() { h.hold.Store(nil); close(release) }) }
	t.Cleanup(unhold) // frees whatever is still held when the test fails
	h.hold.Store(&release)

	// A hashes, B waits.
	errA := make(chan error, 1)
	go func() { errA <- e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"}) }()
	testenv.Receive(t, h.entered, testenv.WaitLimit, "A never reached the hasher")
	ctxB, cancelB := context.WithCancel(e.ctx)
	errB := make(chan error, 1)
	go func() { errB <- e.m.Register(ctxB, users.RegisterInput{Email: "b@example.com", Password: "pw"}) }()
	waitForLoad(t, e.m, 1, 1)

	var msgs []string
	for _, email := range []string{"fresh@example.com", "old@example.com", "unverified@example.com"} {
		err := refusedAtOnce(t, "Register "+email, func() error {
			return e.m.Register(e.ctx, users.RegisterInput{Email: email, Password: "other"})
		})
		require.ErrorIs(t, err, users.ErrBusy, email)
		msgs = append(msgs, err.Error())
		err = refusedAtOnce(t, "Authenticate "+email, func() error {
			_, err := e.m.Authenticate(e.ctx, email, "pw")
			return err
		})
		require.ErrorIs(t, err, users.ErrBusy, email)
		msgs = append(msgs, strings.Replace(err.Error(), "authenticate", "register", 1))
	}
	for _, m := range msgs {
		assert.Equal(t, msgs[0], m, "one error for every path")
	}
	_, err = e.m.AcceptInvite(e.ctx, strings.Repeat("A", 43), "pw")
	require.ErrorIs(t, err, users.ErrInvalidToken, "a bad token costs no hashing, so no slot either")

	cancelB()
	require.ErrorIs(t, testenv.Receive(t, errB, testenv.WaitLimit, "B, queued for a hashing slot, did not give up when its ctx ended"), context.Canceled)
	waitForLoad(t, e.m, 1, 0)
	unhold()
	require.NoError(t, testenv.Receive(t, errA, testenv.WaitLimit, "A did not finish once the hasher was released"))

	var emails []string
	for _, u := range e.allUsers() {
		emails = append(emails, u.Email)
	}
	assert.ElementsMatch(t, []string{"old@example.com", "unverified@example.com", "a@example.com"}, emails, "only A wrote")
	assert.Equal(t, before, e.userByEmail("unverified@example.com"), "a busy answer is not a password mismatch")
	msg := e.onlyMail("a@example.com")
	assert.Equal(t, "Verify your email address", msg.Subject)
}

// recordingLimiter records every key it is asked about and answers with
// deny (nil: allow).
type recordingLimiter struct {
	mu   sync.Mutex
	keys []string
	deny error
}

func (l *recordingLimiter) Allow(_ context.Context, key string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, key)
	return 0, l.deny
}

func (l *recordingLimiter) Reset(context.Context, string) error { return nil }

func (l *recordingLimiter) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys
	l.keys = nil
	return k
}

// Register asks the mail limiter exactly once on every path that passed
// its checks — new, unverified, active, invited — so that its work does
// not reveal whether the address exists; only the paths that mail the
// address (new, unverified) ask about the normalised address itself, the
// others about a key no address shares, so that registering someone
// else's address uses up none of its allowance. Authenticate asks the
// login limiter exactly once on every path.
func TestLimitersAskedOnEveryPath(t *testing.T) {
	t.Parallel()
	mail, login := &recordingLimiter{}, &recordingLimiter{}
	e := newEnv(t, limits(func(l *users.Limits) { l.Mail = mail; l.Login = login }))
	e.open()
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "active@example.com", Password: "pw"})
	require.NoError(t, err)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "suspended@example.com", Password: "pw", Status: users.StatusSuspended})
	require.NoError(t, err)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"invited@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "unverified@example.com", Password: "pw"}))
	mail.take()

	for _, email := range []string{"New@Example.com", "Unverified@example.com"} {
		require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: " " + email, Password: "other"}))
		assert.Equal(t, []string{strings.ToLower(email)}, mail.take(), email)
	}
	for _, email := range []string{"ACTIVE@example.com", "invited@EXAMPLE.com"} {
		require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: " " + email, Password: "other"}))
		keys := mail.take()
		require.Len(t, keys, 1, email)
		assert.NotEqual(t, strings.ToLower(email), keys[0], "%s: the address's allowance is not used", email)
		assert.Contains(t, keys[0], " ", "a key no address can be")
	}
	for _, c := range [][2]string{
		{"nobody@example.com", "pw"}, {"Active@example.com", "wrong"}, {"suspended@example.com", "pw"},
		{"invited@example.com", "pw"}, {"unverified@example.com", "pw"}, {"active@example.com", "pw"},
	} {
		_, _ = e.m.Authenticate(e.ctx, c[0], c[1])
		assert.Equal(t, []string{strings.ToLower(c[0])}, login.take(), c[0])
	}
	_, err = e.m.Authenticate(e.ctx, "not an email", "pw")
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	assert.Empty(t, login.take(), "malformed input names no account")
	assert.Empty(t, mail.take(), "logins send no mail")
}

// Over the mail limit, Register still answers nil and still makes its
// change (a re-registration with another password marks the account
// contested), but queues no mail and mints no token, so the last link
// mailed stays valid. An hour later mail flows again.
func TestRegisterMailLimit(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEnv(t, users.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	e.open()
	in := users.RegisterInput{Email: "r@example.com", Password: "pw"}
	var last string
	for i := range 5 {
		e.clock.Advance(time.Minute)
		require.NoError(t, e.m.Register(e.ctx, in))
		last = memmailer.Token(e.onlyMail("r@example.com"))
		require.NotEmpty(t, last, i)
	}
	for _, pw := range []string{"pw", "someone-else"} {
		require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "R@example.com", Password: pw}), "the same answer over the limit")
		assert.Empty(t, e.deliver(), "no mail over the limit")
	}
	u := e.userByEmail("r@example.com")
	assert.True(t, u.Contested, "the change is made all the same")
	assert.Contains(t, logs.String(), "over the mail rate limit")
	assert.Contains(t, logs.String(), u.ID)
	assert.NotContains(t, strings.ToLower(logs.String()), "r@example.com", "the log names the user, not the address")

	// A new address over the limit: the user is created, without mail.
	deny := &recordingLimiter{deny: &users.RateLimitError{Limit: 5, Window: time.Hour, RetryAfter: time.Minute}}
	e2 := newEnv(t, limits(func(l *users.Limits) { l.Mail = deny }), quiet)
	e2.open()
	require.NoError(t, e2.m.Register(e2.ctx, users.RegisterInput{Email: "n@example.com", Password: "pw"}))
	assert.Equal(t, users.StatusUnverified, e2.userByEmail("n@example.com").Status)
	assert.Empty(t, e2.allMail())

	// The link mailed last still works; the set-password mail of the
	// contested account is not held back by the limit.
	v, err := e.m.VerifyEmail(e.ctx, last)
	require.NoError(t, err)
	assert.Equal(t, users.StatusInvited, v.Status)
	set := e.onlyMail("r@example.com")
	assert.Equal(t, "Choose your password", set.Subject)

	// The window slides: an hour after the first of the five, mail flows.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "r2@example.com", Password: "pw"}))
	e.onlyMail("r2@example.com")
	e.clock.Advance(time.Hour - 4*time.Minute)
	_, err = e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Status: new(users.StatusUnverified)})
	require.NoError(t, err)
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "r@example.com", Password: "pw"}))
	assert.Equal(t, "Verify your email address", e.onlyMail("r@example.com").Subject)
}

// Over the mail limit, Invite still creates or updates the user, mails
// nothing, and says so in that address's result; the other addresses are
// served.
func TestInviteMailLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, quiet)
	other, err := e.m.CreateRole(e.ctx, users.Role{Name: "Other"})
	require.NoError(t, err)
	var last string
	for range 10 {
		_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"x@example.com"}, Role: e.member.ID})
		require.NoError(t, err)
		last = memmailer.Token(e.onlyMail("x@example.com"))
	}
	res, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"X@example.com", "y@example.com"}, Role: other.ID})
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, users.InviteResent, res[0].Outcome)
	require.ErrorIs(t, res[0].Err, users.ErrRateLimited)
	var rl *users.RateLimitError
	require.ErrorAs(t, res[0].Err, &rl)
	assert.Equal(t, 10, rl.Limit, "the administrators' allowance")
	assert.Equal(t, time.Hour, rl.Window)
	assert.Positive(t, rl.RetryAfter)
	assert.NoError(t, res[1].Err)
	assert.Equal(t, other.ID, *e.userByEmail("x@example.com").Role, "the change is made")
	msgs := e.deliver()
	require.Len(t, msgs, 1)
	assert.Equal(t, "y@example.com", msgs[0].To)
	_, err = e.m.AcceptInvite(e.ctx, last, "pw")
	require.NoError(t, err, "no new token revoked the last link mailed")

	deny := &recordingLimiter{deny: &users.RateLimitError{Limit: 5, Window: time.Hour, RetryAfter: time.Minute}}
	public := &recordingLimiter{}
	e2 := newEnv(t, limits(func(l *users.Limits) { l.AdminMail = deny; l.Mail = public }), quiet)
	res, err = e2.m.Invite(e2.ctx, users.InviteInput{Emails: []string{"n@example.com"}, Role: e2.member.ID})
	require.NoError(t, err)
	assert.Equal(t, users.InviteCreated, res[0].Outcome)
	require.ErrorIs(t, res[0].Err, users.ErrRateLimited)
	assert.Equal(t, users.StatusInvited, e2.userByEmail("n@example.com").Status)
	assert.Empty(t, e2.allMail())
	assert.Equal(t, []string{"n@example.com"}, deny.take(), "Invite asks the administrators' limiter")
	assert.Empty(t, public.take(), "and not the public one")
}

// Ten failed logins per address in 15 minutes, unknown addresses counted
// alike; over it, ErrRateLimited without hashing, and the same answer
// whether or not the address exists. A success resets the count.
func TestLoginLimit(t *testing.T) {
	t.Parallel()
	h := &countingHasher{}
	e := newEnv(t, users.WithHasher(h))
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "known@example.com", Password: "right"})
	require.NoError(t, err)
	h.take()

	var msgs []string
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		for i := range 10 {
			_, err := e.m.Authenticate(e.ctx, email, "wrong")
			require.ErrorIs(t, err, users.ErrInvalidCredentials, "%s %d", email, i)
		}
		assert.Equal(t, 10, h.take())
		for _, pw := range []string{"wrong", "right"} {
			_, err := e.m.Authenticate(e.ctx, strings.ToUpper(email), pw)
			require.ErrorIs(t, err, users.ErrRateLimited, email)
			assert.NotErrorIs(t, err, users.ErrInvalidCredentials)
			msgs = append(msgs, err.Error())
		}
		assert.Zero(t, h.take(), "no hashing over the limit")
	}
	for _, m := range msgs {
		assert.Equal(t, msgs[0], m, "the same answer for known and unknown addresses")
	}
	_, err = e.m.Authenticate(e.ctx, "someone-else@example.com", "wrong")
	require.ErrorIs(t, err, users.ErrInvalidCredentials, "per address")

	e.clock.Advance(15 * time.Minute)
	for range 9 {
		_, err := e.m.Authenticate(e.ctx, "known@example.com", "wrong")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	_, err = e.m.Authenticate(e.ctx, "known@example.com", "right")
	require.NoError(t, err)
	for range 10 {
		_, err := e.m.Authenticate(e.ctx, "known@example.com", "wrong")
		require.ErrorIs(t, err, users.ErrInvalidCredentials, "a success resets the count")
	}
	_, err = e.m.Authenticate(e.ctx, "known@example.com", "wrong")
	require.ErrorIs(t, err, users.ErrRateLimited)

	// nil disables the limit.
	e2 := newEnv(t, limits(func(l *users.Limits) { l.Login = nil }))
	for range 20 {
		_, err := e2.m.Authenticate(e2.ctx, "x@example.com", "wrong")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
}

// A limiter that cannot decide fails the operation before anything is
// written.
func TestLimiterFailure(t *testing.T) {
	t.Parallel()
	broken := &recordingLimiter{deny: errors.New("limiter back-end down")}
	e := newEnv(t, limits(func(l *users.Limits) { l.Mail = broken; l.AdminMail = broken; l.Login = broken }))
	e.open()
	err := e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"})
	require.ErrorContains(t, err, "limiter back-end down")
	assert.Empty(t, e.allUsers())
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"b@example.com"}, Role: e.member.ID})
	require.ErrorContains(t, err, "limiter back-end down")
	assert.Empty(t, e.allUsers())
	assert.Empty(t, e.allMail())
	_, err = e.m.Authenticate(e.ctx, "a@example.com", "pw")
	require.ErrorContains(t, err, "limiter back-end down")
	assert.NotErrorIs(t, err, users.ErrRateLimited)
}
