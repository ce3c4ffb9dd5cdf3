package smtpmailer_test

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/smtpmailer"
	"github.com/gousers/users/mailer/smtpmailer/smtptest"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// clock is a settable clock: the outbox's backoff is crossed by moving
// it, not by sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// outbox is a Manager on a memstore whose mail goes to a real SMTP server
// through a Mailer, with one invitation queued for invitee.
type outbox struct {
	ctx   context.Context
	srv   *smtptest.Server
	store store.Store
	m     *users.Manager
	clock *clock
}

const invitee = "invitee@example.org"

func newOutbox(t *testing.T) *outbox {
	t.Helper()
	o := &outbox{
		ctx:   context.Background(),
		srv:   smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS, Username: user, Password: password}),
		store: memstore.New(),
		clock: &clock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)},
	}
	cfg := config(o.srv, smtpmailer.STARTTLS)
	cfg.Username, cfg.Password = user, password
	m, err := users.New(o.store, newMailer(t, cfg), users.WithHasher(userstest.Hasher{}),
		users.WithClock(o.clock.Now), users.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	o.m = m
	role, err := m.CreateRole(o.ctx, users.Role{Name: "Member"})
	require.NoError(t, err)
	_, err = m.Invite(o.ctx, users.InviteInput{Emails: []string{invitee}, Role: role.ID})
	require.NoError(t, err)
	return o
}

// mail returns the one outbox mail, body included (straight from the store).
func (o *outbox) mail(t *testing.T) *store.Mail {
	t.Helper()
	ms, err := o.store.ListMail(o.ctx, store.MailQuery{})
	require.NoError(t, err)
	require.Len(t, ms, 1)
	return ms[0]
}

func (o *outbox) deliver(t *testing.T) users.DeliveryReport {
	t.Helper()
	rep, err := o.m.DeliverPending(o.ctx)
	require.NoError(t, err)
	return rep
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_.~-]+)`)

// A greylisting server (451 twice, then accepting): the outbox records each
// failure, retries after the backoff, and the mail arrives exactly once.
func TestOutboxRetriesThroughSMTP(t *testing.T) {
	t.Parallel()
	o := newOutbox(t)
	o.srv.Refuse(smtptest.Rcpt, 451, 2)
	queued := o.mail(t)
	tok := tokenRE.FindStringSubmatch(queued.Text)
	require.NotNil(t, tok, "the invitation carries a token")

	assert.Equal(t, users.DeliveryReport{Retried: 1}, o.deliver(t))
	m := o.mail(t)
	assert.Equal(t, store.MailPending, m.Status)
	assert.Equal(t, 1, m.Attempts)
	assert.Contains(t, m.LastError, "451")
	assert.NotContains(t, m.LastError, tok[1], "no token in the recorded error")
	assert.NotContains(t, m.LastError, password)
	wait := m.NextAttemptAt.Sub(o.clock.Now())
	assert.Positive(t, wait)

	assert.Equal(t, users.DeliveryReport{}, o.deliver(t), "not due before the backoff")
	assert.Empty(t, o.srv.Messages())

	o.clock.Advance(wait)
	assert.Equal(t, users.DeliveryReport{Retried: 1}, o.deliver(t), "greylisted again")
	m = o.mail(t)
	assert.Equal(t, 2, m.Attempts)
	assert.Greater(t, m.NextAttemptAt.Sub(o.clock.Now()), wait, "the backoff grows")

	o.clock.Advance(m.NextAttemptAt.Sub(o.clock.Now()))
	assert.Equal(t, users.DeliveryReport{Sent: 1}, o.deliver(t))
	m = o.mail(t)
	assert.Equal(t, store.MailSent, m.Status)
	assert.Equal(t, 3, m.Attempts)

	o.clock.Advance(24 * time.Hour)
	assert.Equal(t, users.DeliveryReport{}, o.deliver(t), "a sent mail is not sent again")
	msgs := o.srv.Messages()
	require.Len(t, msgs, 1, "delivered exactly once")
	got := msgs[0]
	require.NoError(t, got.Err)
	assert.Equal(t, []string{invitee}, got.To)
	assert.Equal(t, queued.Subject, got.Subject)
	assert.Equal(t, "multipart/alternative", got.MediaType)
	assert.Equal(t, queued.Text, got.Text)
	assert.Equal(t, queued.HTML, got.HTML)
	assert.Contains(t, got.HTML, tok[1])
	require.NotEmpty(t, queued.MessageID, "set when the mail was queued")
	assert.Equal(t, "<"+queued.MessageID+">", got.Header.Get("Message-Id"), "the Message-ID the outbox kept through the retries")
}

// A 550 marks the mail failed at once, with the reply recorded.
func TestOutboxPermanentFailureThroughSMTP(t *testing.T) {
	t.Parallel()
	o := newOutbox(t)
	o.srv.Refuse(smtptest.Rcpt, 550, 0)
	queued := o.mail(t)

	assert.Equal(t, users.DeliveryReport{Failed: 1}, o.deliver(t))
	m := o.mail(t)
	assert.Equal(t, store.MailFailed, m.Status)
	assert.Equal(t, 1, m.Attempts)
	assert.Contains(t, m.LastError, "550")
	assert.NotContains(t, m.LastError, queued.Text)
	assert.NotContains(t, m.LastError, tokenRE.FindStringSubmatch(queued.Text)[1])

	o.clock.Advance(24 * time.Hour)
	assert.Equal(t, users.DeliveryReport{}, o.deliver(t), "a failed mail is not retried")
	failed, err := o.m.ListMail(o.ctx, store.MailQuery{Status: store.MailFailed})
	require.NoError(t, err)
	require.Len(t, failed, 1)
	assert.Equal(t, invitee, failed[0].To)
	assert.Empty(t, o.srv.Messages())
}
