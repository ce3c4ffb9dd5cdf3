package users_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
)

// recorder keeps every observation (its Observe is the Observer).
type recorder struct {
	mu     sync.Mutex
	events []users.Observation
}

// Observe is the users.Observer.
func (r *recorder) Observe(e users.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// take returns the events of the given kinds seen since the last take,
// and forgets every event.
func (r *recorder) take(kinds ...string) []users.Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []users.Observation
	for _, e := range r.events {
		for _, k := range kinds {
			if e.Kind == k {
				out = append(out, e)
			}
		}
	}
	r.events = nil
	return out
}

func flow(f, outcome, reason string) users.Observation {
	return users.Observation{Kind: users.KindFlow, Flow: f, Outcome: outcome, Reason: reason}
}

func TestObserverFlows(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	e := newEnv(t, users.WithObserver(rec.Observe), limits(func(l *users.Limits) { l.Login = &users.MemoryLimiter{Points: 2, Window: time.Hour} }))
	ctx := e.ctx

	// Register, refused then accepted; verify, refused then accepted.
	err := e.m.Register(ctx, users.RegisterInput{Email: "ada@example.com", Password: "pw"})
	require.ErrorIs(t, err, users.ErrRegistrationDisabled)
	assert.Equal(t, []users.Observation{flow(users.FlowRegister, users.OutcomeRefused, "registration_disabled")}, rec.take(users.KindFlow))
	e.open()
	require.NoError(t, e.m.Register(ctx, users.RegisterInput{Email: "ada@example.com", Password: "pw"}))
	err = e.m.Register(ctx, users.RegisterInput{Email: "ada@example.com", Password: "pw", VerificationURL: "https://evil.example/"})
	require.ErrorIs(t, err, users.ErrURLNotAllowed)
	assert.Equal(t, []users.Observation{
		flow(users.FlowRegister, users.OutcomeRegistered, ""),
		flow(users.FlowRegister, users.OutcomeRefused, "url_not_allowed"),
	}, rec.take(users.KindFlow))
	tok := memmailer.Token(e.onlyMail("ada@example.com"))
	_, err = e.m.VerifyEmail(ctx, strings.Repeat("A", 43))
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.VerifyEmail(ctx, tok)
	require.NoError(t, err)
	_, err = e.m.VerifyEmail(ctx, tok)
	require.ErrorIs(t, err, users.ErrTokenUsed)
	assert.Equal(t, []users.Observation{
		flow(users.FlowVerifyEmail, users.OutcomeRefused, "invalid_token"),
		flow(users.FlowVerifyEmail, users.OutcomeVerified, ""),
		flow(users.FlowVerifyEmail, users.OutcomeRefused, "token_used"),
	}, rec.take(users.KindFlow))

	// Invite: one event per address.
	_, err = e.m.Invite(ctx, users.InviteInput{Emails: []string{"grace@example.com", "ada@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	_, err = e.m.Invite(ctx, users.InviteInput{Emails: []string{"x@example.com"}, Role: "no-such-role"})
	require.ErrorIs(t, err, users.ErrRoleNotFound)
	assert.Equal(t, []users.Observation{
		flow(users.FlowInvite, users.OutcomeInvited, ""),
		flow(users.FlowInvite, users.OutcomeSkipped, ""),
		flow(users.FlowInvite, users.OutcomeRefused, "role_not_found"),
	}, rec.take(users.KindFlow))
	inviteTok := memmailer.Token(e.onlyMail("grace@example.com"))
	_, err = e.m.AcceptInvite(ctx, inviteTok, "pw2")
	require.NoError(t, err)
	assert.Equal(t, []users.Observation{flow(users.FlowAcceptInvite, users.OutcomeAccepted, "")}, rec.take(users.KindFlow))

	// CreateUser, refused then accepted.
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "ada@example.com"})
	require.ErrorIs(t, err, users.ErrDuplicateEmail)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "linus@example.com", Password: "pw"})
	require.NoError(t, err)
	assert.Equal(t, []users.Observation{
		flow(users.FlowCreateUser, users.OutcomeRefused, "duplicate_email"),
		flow(users.FlowCreateUser, users.OutcomeCreated, ""),
	}, rec.take(users.KindFlow))

	// Login: success, failures, then the login limiter.
	_, err = e.m.Authenticate(ctx, "linus@example.com", "pw")
	require.NoError(t, err)
	for range 2 {
		_, err = e.m.Authenticate(ctx, "linus@example.com", "wrong")
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	_, err = e.m.Authenticate(ctx, "linus@example.com", "pw")
	require.ErrorIs(t, err, users.ErrRateLimited)
	assert.Equal(t, []users.Observation{
		flow(users.FlowLogin, users.OutcomeAuthenticated, ""),
		flow(users.FlowLogin, users.OutcomeRefused, "invalid_credentials"),
		flow(users.FlowLogin, users.OutcomeRefused, "invalid_credentials"),
		{Kind: users.KindRateLimited, Limiter: "login"},
		flow(users.FlowLogin, users.OutcomeRefused, "rate_limited"),
	}, rec.take(users.KindFlow, users.KindRateLimited))
}

// A mail the mail limiter holds back is reported, although Register
// answers as usual; Invite reports the address as refused.
func TestObserverMailLimit(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	e := newEnv(t, users.WithObserver(rec.Observe), limits(func(l *users.Limits) {
		l.Mail = &users.MemoryLimiter{Points: 1, Window: time.Hour}
		l.AdminMail = &users.MemoryLimiter{Points: 1, Window: time.Hour}
	}))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ada@example.com", Password: "pw"}))
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ada@example.com", Password: "pw"}))
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"grace@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"grace@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.Equal(t, []users.Observation{
		flow(users.FlowRegister, users.OutcomeRegistered, ""),
		{Kind: users.KindRateLimited, Limiter: "mail"},
		flow(users.FlowRegister, users.OutcomeRegistered, ""),
		flow(users.FlowInvite, users.OutcomeInvited, ""),
		{Kind: users.KindRateLimited, Limiter: "admin_mail"},
		flow(users.FlowInvite, users.OutcomeRefused, "rate_limited"),
	}, rec.take(users.KindFlow, users.KindRateLimited))
}

// Deliveries report their latency from the queue, failures whether they
// are final.
func TestObserverDeliveries(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	e := newEnv(t, users.WithObserver(rec.Observe))
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"a@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	e.clock.Advance(90 * time.Second)
	e.mail.FailWith(errors.New("421 try later"))
	e.deliver()
	e.clock.Advance(time.Hour) // past the backoff
	e.mail.FailWith(nil)
	e.deliver()
	assert.Equal(t, []users.Observation{
		{Kind: users.KindMailFailed, Mail: "invite", Final: false},
		{Kind: users.KindMailSent, Mail: "invite", Duration: time.Hour + 90*time.Second},
	}, rec.take(users.KindMailSent, users.KindMailFailed))

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"b@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	e.mail.FailWith(fmt.Errorf("550 no such user: %w", users.ErrPermanent))
	e.deliver()
	assert.Equal(t, []users.Observation{{Kind: users.KindMailFailed, Mail: "invite", Final: true}},
		rec.take(users.KindMailSent, users.KindMailFailed))
}

// Every hash reports its wait; a hash refused at the limit reports the
// refusal, and the health report counts it.
func TestObserverHashing(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	h := &holdHasher{entered: make(chan struct{}, 8)}
	e := newEnv(t, users.WithObserver(rec.Observe), users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 0 }))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"}))
	waits := rec.take(users.KindHashWait, users.KindHashShed)
	require.Len(t, waits, 1)
	assert.Equal(t, users.KindHashWait, waits[0].Kind)

	release := make(chan struct{})
	var once sync.Once
	unhold := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unhold) // frees whatever is still held when the test fails
	h.hold.Store(&release)
	done := make(chan error, 1)
	go func() { done <- e.m.Register(e.ctx, users.RegisterInput{Email: "b@example.com", Password: "pw"}) }()
	testenv.Receive(t, h.entered, testenv.WaitLimit, "b never reached the hasher")
	var err error
	testenv.Within(t, testenv.WaitLimit, "a registration while the only hashing slot is taken was not refused at once: the hash gate let it wait or hash", func() {
		err = e.m.Register(e.ctx, users.RegisterInput{Email: "c@example.com", Password: "pw"})
	})
	require.ErrorIs(t, err, users.ErrBusy)
	report, err := e.m.Health(e.ctx)
	require.NoError(t, err)
	running := check(t, report, "hashing:running")
	assert.Equal(t, users.HealthCheck{ComponentType: "system", Status: users.HealthOK, ObservedValue: 1, Threshold: 1,
		Output: "hashing slots in use (for information)"}, running, "one of one slot in use")
	waiting := check(t, report, "hashing:waiting")
	assert.Equal(t, 0, waiting.ObservedValue)
	assert.Equal(t, users.HealthWarn, waiting.Status)
	assert.Contains(t, waiting.Output, "(1 since start)", "the refusal is counted")
	unhold()
	require.NoError(t, testenv.Receive(t, done, testenv.WaitLimit, "b did not finish once the hasher was released"))
	h.hold.Store(nil)
	got := rec.take(users.KindHashWait, users.KindHashShed, users.KindFlow)
	assert.Contains(t, got, users.Observation{Kind: users.KindHashShed})
	assert.Contains(t, got, flow(users.FlowRegister, users.OutcomeRefused, "busy"))
}

// No event carries an address, a name or a token.
func TestObserverEventsCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	e := newEnv(t, users.WithObserver(rec.Observe))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ada@example.com", Password: "s3cret", FirstName: "Ada"}))
	tok := memmailer.Token(e.onlyMail("ada@example.com"))
	_, err := e.m.VerifyEmail(e.ctx, tok)
	require.NoError(t, err)
	_, err = e.m.Authenticate(e.ctx, "ada@example.com", "wrong")
	require.Error(t, err)
	rec.mu.Lock()
	all := fmt.Sprintf("%+v", rec.events)
	rec.mu.Unlock()
	for _, secret := range []string{"ada", "Ada", "s3cret", tok, "@"} {
		assert.NotContains(t, all, secret)
	}
}

func TestWithObserverRejectsNil(t *testing.T) {
	t.Parallel()
	_, err := users.New(newEnv(t).store, memmailer.New(), users.WithObserver(nil))
	require.Error(t, err)
}
