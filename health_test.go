package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	"github.com/gousers/users/userstest"
)

// check returns the one result of the named check.
func check(t *testing.T, h users.Health, name string) users.HealthCheck {
	t.Helper()
	cs, ok := h.Checks[name]
	require.True(t, ok, "no check %q in %v", name, h.Checks)
	require.Len(t, cs, 1)
	return cs[0]
}

func health(t *testing.T, e *env) users.Health {
	t.Helper()
	h, err := e.m.Health(e.ctx)
	require.NoError(t, err)
	return h
}

func TestHealthOK(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := health(t, e)
	assert.Equal(t, users.HealthOK, h.Status)
	names := make([]string, 0, len(h.Checks))
	for n, cs := range h.Checks {
		names = append(names, n)
		assert.Equal(t, users.HealthOK, cs[0].Status, n)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"database:responseTime", "email:lastDelivery", "hashing:running", "hashing:waiting",
		"outbox:failed", "outbox:oldestPendingAge", "outbox:pending"}, names,
		"no email:connection: memmailer cannot be probed")

	// Directus's shape on the wire.
	b, err := json.Marshal(h)
	require.NoError(t, err)
	var wire map[string]any
	require.NoError(t, json.Unmarshal(b, &wire))
	assert.Equal(t, "ok", wire["status"])
	db := wire["checks"].(map[string]any)["database:responseTime"].([]any)[0].(map[string]any)
	assert.Equal(t, "datastore", db["componentType"])
	assert.Equal(t, "ms", db["observedUnit"])
	assert.Equal(t, 150.0, db["threshold"], "Directus's DB_HEALTHCHECK_THRESHOLD default")
	assert.Contains(t, db, "observedValue")
}

// statsStore fails MailStats on demand.
type statsStore struct {
	store.Store
	mu  sync.Mutex
	err error
}

func (s *statsStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *statsStore) MailStats(ctx context.Context) (store.MailStats, error) {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return store.MailStats{}, err
	}
	return s.Store.MailStats(ctx)
}

// A store that does not answer is the one error; its error text stays out
// of the report.
func TestHealthDatabaseDown(t *testing.T) {
	t.Parallel()
	st := &statsStore{Store: memstore.New()}
	e := newEnvOn(t, st)
	st.fail(errors.New("dial tcp 10.0.0.5:5432: password authentication failed for user app (password=hunter2)"))
	h := health(t, e)
	assert.Equal(t, users.HealthError, h.Status)
	db := check(t, h, "database:responseTime")
	assert.Equal(t, users.HealthError, db.Status)
	assert.Equal(t, "the store did not answer", db.Output)
	assert.NotContains(t, h.Checks, "outbox:pending")
	b, _ := json.Marshal(h)
	assert.NotContains(t, string(b), "hunter2")

	st.fail(nil)
	assert.Equal(t, users.HealthOK, health(t, e).Status, "back when the store answers")

	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	st.fail(context.Canceled)
	_, err := e.m.Health(ctx)
	require.ErrorIs(t, err, context.Canceled, "a caller that left is not a store that is down")
}

func TestHealthOutbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.HealthThresholds{OutboxPending: 2, OutboxAge: 10 * time.Minute})
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"a@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	h := health(t, e)
	assert.Equal(t, users.HealthOK, h.Status)
	assert.Equal(t, 1, check(t, h, "outbox:pending").ObservedValue)

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"b@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	h = health(t, e)
	assert.Equal(t, users.HealthWarn, h.Status)
	assert.Equal(t, users.HealthWarn, check(t, h, "outbox:pending").Status)
	assert.Equal(t, "2 mails wait in the outbox", check(t, h, "outbox:pending").Output)
	assert.Equal(t, users.HealthOK, check(t, h, "outbox:oldestPendingAge").Status)

	e.clock.Advance(10*time.Minute + time.Second)
	age := check(t, health(t, e), "outbox:oldestPendingAge")
	assert.Equal(t, users.HealthWarn, age.Status)
	assert.Equal(t, 601.0, age.ObservedValue)
	assert.Equal(t, "s", age.ObservedUnit)

	e.deliver()
	h = health(t, e)
	assert.Equal(t, users.HealthOK, h.Status, "%+v", h.Checks)
	assert.Equal(t, 0.0, check(t, h, "outbox:oldestPendingAge").ObservedValue)
}

// A relay error warns until a delivery succeeds or the window passes; a
// recipient the relay refused for good does not concern the relay.
func TestHealthDeliveryErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.HealthThresholds{DeliveryErrorWindow: 5 * time.Minute})
	invite := func(addr string) {
		_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{addr}, Role: e.member.ID})
		require.NoError(t, err)
	}
	invite("a@example.com")
	e.mail.FailWith(errors.New("dial tcp 127.0.0.1:25: connect: connection refused"))
	e.deliver()
	d := check(t, health(t, e), "email:lastDelivery")
	assert.Equal(t, users.HealthWarn, d.Status)
	assert.Contains(t, d.Output, "connection refused")

	e.clock.Advance(time.Hour) // past the backoff
	e.mail.FailWith(nil)
	e.deliver()
	assert.Equal(t, users.HealthOK, check(t, health(t, e), "email:lastDelivery").Status, "a success clears it")

	invite("b@example.com")
	e.mail.FailWith(fmt.Errorf("550 5.1.1 no such user: %w", users.ErrPermanent))
	e.deliver()
	d = check(t, health(t, e), "email:lastDelivery")
	assert.Equal(t, users.HealthOK, d.Status, "a refused recipient is not a relay problem")
	assert.Contains(t, d.Output, "550 5.1.1")

	invite("c@example.com")
	e.mail.FailWith(errors.New("421 4.3.2 shutting down"))
	e.deliver()
	assert.Equal(t, users.HealthWarn, check(t, health(t, e), "email:lastDelivery").Status)
	e.clock.Advance(5 * time.Minute)
	assert.Equal(t, users.HealthOK, check(t, health(t, e), "email:lastDelivery").Status, "past the window")
}

// probeMailer is a memmailer whose relay can be probed.
type probeMailer struct {
	*memmailer.Mailer
	mu    sync.Mutex
	err   error
	calls int
}

func (p *probeMailer) Verify(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return p.err
}

func (p *probeMailer) set(err error) (calls int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
	return p.calls
}

func TestHealthProbesTheRelay(t *testing.T) {
	t.Parallel()
	// The documented defaults of HealthThresholds.
	o := users.HealthThresholds{MailerProbeInterval: 30 * time.Second, MailerProbeTimeout: 10 * time.Second}
	require.LessOrEqual(t, o.MailerProbeInterval+o.MailerProbeTimeout, time.Minute,
		"a stopped relay shows as warn within a minute")

	clock := &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	pm := &probeMailer{Mailer: memmailer.New()}
	m, err := users.New(memstore.New(), pm, users.WithHasher(userstest.Hasher{}), users.WithClock(clock.Now))
	require.NoError(t, err)
	ctx := context.Background()
	get := func() users.HealthCheck {
		h, err := m.Health(ctx)
		require.NoError(t, err)
		return check(t, h, "email:connection")
	}
	assert.Equal(t, users.HealthOK, get().Status)
	assert.Equal(t, 1, pm.set(errors.New("smtpmailer: 127.0.0.1:1025: connect: connection refused")))

	for range 5 {
		assert.Equal(t, users.HealthOK, get().Status, "the last probe stands within the interval")
	}
	assert.Equal(t, 1, pm.set(errors.New("smtpmailer: 127.0.0.1:1025: connect: connection refused")), "one probe per interval")

	clock.Advance(o.MailerProbeInterval)
	c := get()
	assert.Equal(t, users.HealthWarn, c.Status)
	assert.Contains(t, c.Output, "connection refused")
	assert.Equal(t, "email", c.ComponentType)
	h, err := m.Health(ctx)
	require.NoError(t, err)
	assert.Equal(t, users.HealthWarn, h.Status, "a stopped relay is a warning: mail waits in the outbox")

	pm.set(nil)
	clock.Advance(o.MailerProbeInterval)
	assert.Equal(t, users.HealthOK, get().Status)

	off, err := users.New(memstore.New(), pm, users.WithHasher(userstest.Hasher{}),
		users.HealthThresholds{MailerProbeInterval: -1})
	require.NoError(t, err)
	h, err = off.Health(ctx)
	require.NoError(t, err)
	assert.NotContains(t, h.Checks, "email:connection")
}

func TestHealthHashing(t *testing.T) {
	t.Parallel()
	h := &holdHasher{entered: make(chan struct{}, 8)}
	e := newEnv(t, users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 2 }))
	e.open()
	release := make(chan struct{})
	var once sync.Once
	unhold := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unhold) // frees whatever is still held when the test fails
	h.hold.Store(&release)
	done := make(chan error, 3)
	register := func(addr string) {
		go func() { done <- e.m.Register(e.ctx, users.RegisterInput{Email: addr, Password: "pw"}) }()
	}
	register("a@example.com")
	testenv.Receive(t, h.entered, testenv.WaitLimit, "a never reached the hasher")
	c := check(t, health(t, e), "hashing:waiting")
	assert.Equal(t, users.HealthOK, c.Status)
	assert.Equal(t, 0, c.ObservedValue)
	assert.Equal(t, 1, c.Threshold, "half the queue")

	register("b@example.com")
	waitForLoad(t, e.m, 1, 1)
	c = check(t, health(t, e), "hashing:waiting")
	assert.Equal(t, users.HealthWarn, c.Status)
	assert.Equal(t, "1 requests wait for one of 1 hashing slots", c.Output)

	register("c@example.com")
	waitForLoad(t, e.m, 1, 2)
	err := refusedAtOnce(t, "Register d", func() error {
		return e.m.Register(e.ctx, users.RegisterInput{Email: "d@example.com", Password: "pw"})
	})
	require.ErrorIs(t, err, users.ErrBusy)
	unhold()
	for range 3 {
		require.NoError(t, testenv.Receive(t, done, testenv.WaitLimit, "a registration did not finish once the hasher was released"))
	}
	h.hold.Store(nil)
	c = check(t, health(t, e), "hashing:waiting")
	assert.Equal(t, users.HealthWarn, c.Status, "a refusal warns for a while")
	assert.Contains(t, c.Output, "refused at the hashing limit")
	e.clock.Advance(time.Minute)
	assert.Equal(t, users.HealthOK, check(t, health(t, e), "hashing:waiting").Status)
}

func TestHealthThresholdsValidate(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]users.HealthThresholds{
		"DatabaseResponseTime": {DatabaseResponseTime: -1},
		"OutboxPending":        {OutboxPending: -1},
		"OutboxAge":            {OutboxAge: -1},
		"DeliveryErrorWindow":  {DeliveryErrorWindow: -1},
		"MailerProbeTimeout":   {MailerProbeTimeout: -1},
		"HashWaiting":          {HashWaiting: -1},
		"HashShedWindow":       {HashShedWindow: -1},
	} {
		_, err := users.New(memstore.New(), memmailer.New(), users.WithHasher(userstest.Hasher{}), o)
		assert.Error(t, err, name)
	}
}

// Anyone may ask for the health, so a store that is down is warned about
// at most once a minute, however often it is asked.
func TestHealthDatabaseDownWarnsOnce(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	st := &statsStore{Store: memstore.New()}
	e := newEnvOn(t, st, users.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	st.fail(errors.New("connection refused"))
	for range 50 {
		assert.Equal(t, users.HealthError, health(t, e).Status)
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "the store did not answer"), "one warning for 50 checks:\n%s", logs.String())
}
