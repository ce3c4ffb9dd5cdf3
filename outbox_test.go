package users_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

func invite(t *testing.T, e *env, emails ...string) {
	t.Helper()
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: emails, Role: e.member.ID})
	require.NoError(t, err)
}

func TestOutboxRetriesWithBackoffThenDelivers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	invite(t, e, "r@example.com")
	e.mail.FailWith(errors.New("421 try later"))
	rep, err := e.m.DeliverPending(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, users.DeliveryReport{Retried: 1}, rep)
	ms := e.allMail()
	require.Len(t, ms, 1)
	assert.Equal(t, store.MailPending, ms[0].Status)
	assert.Equal(t, 1, ms[0].Attempts)
	assert.Equal(t, "421 try later", ms[0].LastError)
	wait := ms[0].NextAttemptAt.Sub(e.clock.Now())
	assert.GreaterOrEqual(t, wait, 30*time.Second)
	assert.LessOrEqual(t, wait, 33*time.Second)

	e.mail.FailWith(nil)
	rep, err = e.m.DeliverPending(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, users.DeliveryReport{}, rep, "not due yet")

	e.clock.Advance(34 * time.Second)
	rep, err = e.m.DeliverPending(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, users.DeliveryReport{Sent: 1}, rep)
	ms = e.allMail()
	assert.Equal(t, store.MailSent, ms[0].Status)
	assert.Equal(t, 2, ms[0].Attempts)
	assert.Empty(t, ms[0].Text, "a sent mail's body (live token) is erased")
	assert.Empty(t, ms[0].HTML)
	require.Len(t, e.mail.Messages(), 1, "delivered once")
}

func TestOutboxBackoffDoublesAndGivesUp(t *testing.T) {
	t.Parallel()
	d := users.DefaultDeliveryOptions()
	d.MaxAttempts = 4
	e := newEnv(t, users.WithDelivery(d))
	invite(t, e, "r@example.com")
	e.mail.FailWith(errors.New("451 greylisted"))
	var waits []time.Duration
	for i := 0; i < 4; i++ {
		_, err := e.m.DeliverPending(e.ctx)
		require.NoError(t, err)
		m := e.allMail()[0]
		if m.Status == store.MailFailed {
			break
		}
		w := m.NextAttemptAt.Sub(e.clock.Now())
		waits = append(waits, w)
		e.clock.Advance(w)
	}
	require.Len(t, waits, 3)
	for i, base := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
		assert.GreaterOrEqual(t, waits[i], base)
		assert.LessOrEqual(t, waits[i], base+base/10)
	}
	m := e.allMail()[0]
	assert.Equal(t, store.MailFailed, m.Status)
	assert.Equal(t, 4, m.Attempts)
	failed, err := e.m.ListMail(e.ctx, store.MailQuery{Status: store.MailFailed})
	require.NoError(t, err)
	require.Len(t, failed, 1)
	assert.Equal(t, "451 greylisted", failed[0].LastError)
}

func TestOutboxPermanentFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	invite(t, e, "gone@example.com")
	e.mail.FailWith(fmt.Errorf("550 no such user: %w", users.ErrPermanent))
	rep, err := e.m.DeliverPending(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, users.DeliveryReport{Failed: 1}, rep)
	assert.Equal(t, store.MailFailed, e.allMail()[0].Status)
}

// Mail survives a restart: a second Manager on the same store (a new
// process) delivers what the first one queued.
func TestOutboxSurvivesRestart(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	e := newEnvOn(t, st)
	invite(t, e, "a@example.com", "b@example.com")
	// The first process dies before delivering.
	next := memmailer.New()
	m2, err := users.New(st, next, users.WithHasher(users.InsecureHasher{}), users.WithClock(e.clock.Now))
	require.NoError(t, err)
	rep, err := m2.DeliverPending(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Sent)
	assert.Len(t, next.Messages(), 2)
}

// A worker that died holding a lease: the mail is delivered by another
// once the lease ends, not before.
func TestOutboxLeaseOfDeadWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	invite(t, e, "a@example.com")
	now := e.clock.Now()
	claimed, err := e.store.ClaimMail(e.ctx, now, now.Add(5*time.Minute), 10) // the dead worker
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	assert.Empty(t, e.deliver(), "leased to someone else")
	e.clock.Advance(5 * time.Minute)
	assert.Len(t, e.deliver(), 1)
}

func TestListMailHidesBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	invite(t, e, "a@example.com")
	ms, err := e.m.ListMail(e.ctx, store.MailQuery{Status: store.MailPending})
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, "a@example.com", ms[0].To)
	assert.Equal(t, string(users.MailInvite), ms[0].Kind)
	assert.Empty(t, ms[0].Text)
	assert.Empty(t, ms[0].HTML)
}

// Run delivers as soon as a mail is queued, and stops when its context
// ends.
func TestRunDeliversAndStops(t *testing.T) {
	t.Parallel()
	got := make(chan users.Message, 1)
	mailer := users.MailerFunc(func(ctx context.Context, m users.Message) error { got <- m; return nil })
	st := memstore.New()
	m, err := users.New(st, mailer, users.WithHasher(users.InsecureHasher{}))
	require.NoError(t, err)
	role, err := m.CreateRole(context.Background(), users.Role{Name: "R"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	_, err = m.Invite(ctx, users.InviteInput{Emails: []string{"a@example.com"}, Role: role.ID})
	require.NoError(t, err)
	select {
	case msg := <-got:
		assert.Equal(t, "a@example.com", msg.To)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not deliver")
	}
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestTemplatesEscapeEveryValue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.WithRegisterURLAllowList(`https://app.example.com/v"onmouseover="x`))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{
		Email: "a@example.com", Password: "pw", FirstName: `<script>alert(1)</script>`,
		VerificationURL: `https://app.example.com/v"onmouseover="x`,
	}))
	msg := e.onlyMail("a@example.com")
	assert.NotContains(t, msg.HTML, "<script>")
	assert.Contains(t, msg.HTML, "&lt;script&gt;")
	assert.NotContains(t, msg.HTML, `"onmouseover="`)
	assert.Equal(t, users.SubjectVerifyEmail, msg.Subject, "the subject is the template's fixed string: no value reaches a header")
}

// A subject is one line: a template whose subject would add a header
// (or none) is refused when the Manager is built.
func TestTemplatesRefuseMultiLineSubjects(t *testing.T) {
	t.Parallel()
	for _, subject := range []string{"Welcome\r\nBcc: victim@example.org", "Welcome\nBcc: victim@example.org", "Welcome\r", "", "  "} {
		tpl := users.DefaultTemplates()
		v := tpl[users.MailInvite]
		v.Subject = subject
		tpl[users.MailInvite] = v
		_, err := users.New(memstore.New(), memmailer.New(), users.WithTemplates(tpl))
		require.Error(t, err, "subject %q", subject)
		assert.Contains(t, err.Error(), `"invite" needs a one-line subject`, "subject %q", subject)
	}
}

func TestCustomTemplates(t *testing.T) {
	t.Parallel()
	tpl := users.DefaultTemplates()
	v := tpl[users.MailVerifyEmail]
	v.Subject = "Welcome to Acme"
	tpl[users.MailVerifyEmail] = v
	e := newEnv(t, users.WithTemplates(tpl))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"}))
	assert.Equal(t, "Welcome to Acme", e.onlyMail("a@example.com").Subject)
}
