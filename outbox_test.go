package users_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
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
	d := users.Delivery{}
	d.MaxAttempts = 4
	e := newEnv(t, d)
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
	m2, err := users.New(st, next, users.WithHasher(userstest.Hasher{}), users.WithClock(e.clock.Now))
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
	assert.Equal(t, "invite", ms[0].Kind)
	assert.Empty(t, ms[0].Text)
	assert.Empty(t, ms[0].HTML)
}

// Run delivers as soon as a mail is queued, and stops when its context
// ends.
func TestRunDeliversAndStops(t *testing.T) {
	t.Parallel()
	got := make(chan users.Message, 1)
	mailer := mailerFunc(func(ctx context.Context, m users.Message) error { got <- m; return nil })
	st := memstore.New()
	m, err := users.New(st, mailer, users.WithHasher(userstest.Hasher{}))
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
	e := newEnv(t, users.Links{RegisterURLs: []string{`https://app.example.com/v"onmouseover="x`}})
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{
		Email: "a@example.com", Password: "pw", FirstName: `<script>alert(1)</script>`,
		VerificationURL: `https://app.example.com/v"onmouseover="x`,
	}))
	msg := e.onlyMail("a@example.com")
	assert.NotContains(t, msg.HTML, "<script>")
	assert.NotContains(t, msg.HTML, "alert(1)", "an unverified name is not shown at all")
	assert.NotContains(t, msg.HTML, `"onmouseover="`)
	assert.Equal(t, "Verify your email address", msg.Subject, "the subject is the template's fixed string: no value reaches a header")
}

// A subject is one line: a template whose subject would add a header
// (or none) is refused when the Manager is built.
func TestTemplatesRefuseMultiLineSubjects(t *testing.T) {
	t.Parallel()
	for _, subject := range []string{"Welcome\r\nBcc: victim@example.org", "Welcome\nBcc: victim@example.org", "Welcome\r", "  "} {
		_, err := users.New(memstore.New(), memmailer.New(), users.Templates{Invite: users.Template{Subject: subject}})
		require.Error(t, err, "subject %q", subject)
		assert.Contains(t, err.Error(), `users: Templates.Invite.Subject: must be one line of text`, "subject %q", subject)
		var ve *users.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "Templates.Invite.Subject", ve.Field)
	}
}

// A Template's zero fields keep the built-in one's: a subject alone can
// change, or a text part alone; a later Templates overrides an earlier
// one's fields, and the other kinds keep theirs.
func TestCustomTemplates(t *testing.T) {
	t.Parallel()
	text := texttemplate.Must(texttemplate.New("v").Parse("{{.Kind}} for {{.Email}} ({{.FirstName}}, {{.ProjectName}}): {{.Link}} works for {{.ValidFor}}"))
	e := newEnv(t,
		users.Templates{VerifyEmail: users.Template{Subject: "Welcome", Text: text}},
		users.Templates{VerifyEmail: users.Template{Subject: "Welcome to Acme"}},
		users.WithProjectName("Acme"))
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw", FirstName: "Ann"}))
	msg := e.onlyMail("a@example.com")
	assert.Equal(t, "Welcome to Acme", msg.Subject)
	assert.Equal(t, "verify-email for a@example.com (, Acme): "+memmailer.Link(msg)+" works for 7 days", msg.Text, "no unverified name in a mail")
	assert.Contains(t, msg.HTML, "Thanks for registering with Acme", "the HTML part stays the built-in one")

	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.Equal(t, "You've been invited", e.onlyMail("i@example.com").Subject, "the other kinds keep theirs")
}

// A template that names a field the data has not fails when the mail is
// queued, and the flow writes nothing.
func TestTemplateUnknownFieldFails(t *testing.T) {
	t.Parallel()
	bad := texttemplate.Must(texttemplate.New("v").Parse("{{.Password}}"))
	e := newEnv(t, users.Templates{VerifyEmail: users.Template{Text: bad}})
	e.open()
	err := e.m.Register(e.ctx, users.RegisterInput{Email: "a@example.com", Password: "pw"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "pw")
	assert.Empty(t, e.allMail())
}

// Every mail gets its Message-ID when it is queued — a unique id at the
// public URL's host — and every delivery attempt hands the Mailer that
// same id, so that a receiver can drop the copy a retry sends (delivery is
// at least once: a crash between a send and its record sends it again).
// A mail queued before mails carried one gets one derived from its id,
// also the same on every attempt.
//
// Checked against the old behaviour: the Mailer got no Message-ID and
// smtpmailer made a new random one per attempt, so a crash's duplicate
// could not be told from a new mail.
func TestMessageIDKeptAcrossAttempts(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		attempts = map[string][]string{} // To → Message-IDs, in order
		fail     = 2
	)
	mailer := mailerFunc(func(_ context.Context, m users.Message) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[m.To] = append(attempts[m.To], m.MessageID)
		if fail > 0 && m.To == "r@example.com" {
			fail--
			return errors.New("451 try later")
		}
		return nil
	})
	st := memstore.New()
	clock := &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	m, err := users.New(st, mailer, users.WithHasher(userstest.Hasher{}), users.WithClock(clock.Now),
		users.Links{PublicURL: "https://App.Example.com:8443/base"}, quiet)
	require.NoError(t, err)
	ctx := context.Background()
	role, err := m.CreateRole(ctx, users.Role{Name: "Member"})
	require.NoError(t, err)
	_, err = m.Invite(ctx, users.InviteInput{Emails: []string{"r@example.com", "s@example.com"}, Role: role.ID})
	require.NoError(t, err)

	queued, err := st.ListMail(ctx, store.MailQuery{})
	require.NoError(t, err)
	require.Len(t, queued, 2)
	ids := map[string]string{}
	for _, q := range queued {
		assert.Regexp(t, `^[0-9a-f-]{36}@app\.example\.com$`, q.MessageID, "a unique id at the public URL's host")
		ids[q.To] = q.MessageID
	}
	assert.NotEqual(t, ids["r@example.com"], ids["s@example.com"])

	for range 3 {
		_, err := m.DeliverPending(ctx)
		require.NoError(t, err)
		clock.Advance(2 * time.Hour)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, attempts["r@example.com"], 3, "two failures, then delivered")
	for _, id := range attempts["r@example.com"] {
		assert.Equal(t, ids["r@example.com"], id, "the same Message-ID on every attempt")
	}
	assert.Equal(t, []string{ids["s@example.com"]}, attempts["s@example.com"])

	// A mail from before Message-IDs: one derived from its id, stable.
	old := &store.Mail{ID: "0d6f3c1a-1111-4222-8333-944455556666", Kind: "invite", To: "old@example.com",
		Subject: "x", Text: "x", HTML: "x", Status: store.MailPending, CreatedAt: clock.Now(), NextAttemptAt: clock.Now()}
	require.NoError(t, st.CreateUser(ctx, &store.User{ID: "old", Status: users.StatusInvited, CreatedAt: clock.Now(), UpdatedAt: clock.Now()}, store.Effects{Mail: old}))
	mu.Unlock()
	_, err = m.DeliverPending(ctx)
	mu.Lock()
	require.NoError(t, err)
	assert.Equal(t, []string{old.ID + "@app.example.com"}, attempts["old@example.com"])
}

// mailerFunc adapts a function to users.Mailer.
type mailerFunc func(ctx context.Context, m users.Message) error

func (f mailerFunc) Send(ctx context.Context, m users.Message) error { return f(ctx, m) }
