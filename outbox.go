package users

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gousers/users/internal/linkurl"
	"github.com/gousers/users/store"
)

// mailKind names the reason a mail was sent: it selects the mail's
// template, and the outbox keeps it with the mail (store.Mail.Kind), and
// the Observer sees it (Observation.Mail).
type mailKind string

// Mail kinds.
const (
	mailVerifyEmail mailKind = "verify-email"
	mailInvite      mailKind = "invite"
	// mailSetPassword is sent when a contested registration is verified:
	// the address's owner chooses the password.
	mailSetPassword mailKind = "set-password"
	// mailPasswordReset carries a password-reset link.
	mailPasswordReset mailKind = "password-reset"
	// mailEmailChange carries the link that confirms an email change, to
	// the new address; mailEmailChangeNotice tells the current address,
	// with links to cancel the change and to reset the password.
	mailEmailChange       mailKind = "email-change"
	mailEmailChangeNotice mailKind = "email-change-notice"
)

// mailKinds lists every kind.
var mailKinds = []mailKind{mailVerifyEmail, mailInvite, mailSetPassword, mailPasswordReset, mailEmailChange, mailEmailChangeNotice}

// validFor is how long the link of a kind of mail works.
func (m *Manager) validFor(kind mailKind) time.Duration {
	switch kind {
	case mailVerifyEmail:
		return m.lifetimes.VerifyEmail
	case mailPasswordReset:
		return m.lifetimes.PasswordReset
	case mailEmailChange, mailEmailChangeNotice:
		return m.lifetimes.EmailChange
	}
	return m.lifetimes.Invite
}

// backoff is the wait after the n-th failed attempt (n >= 1).
func (d Delivery) backoff(n int) time.Duration {
	b := d.InitialBackoff
	for i := 1; i < n && b < d.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.MaxBackoff)
	return b + time.Duration(rand.Int64N(int64(b)/10+1))
}

// messageIDHost is the right-hand side of the Message-IDs of this
// Manager's mails: the public URL's host name (an IPv6 address in
// brackets), "localhost" if it has none.
func messageIDHost(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return "localhost"
	}
	if h := u.Hostname(); strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return strings.ToLower(u.Hostname())
}

// newMail renders a mail of the given kind into an outbox record. Its
// Message-ID is set here, once: every delivery attempt sends the same one,
// so a receiver can drop the copy a retry after a crash may send. The
// template sees the settings' project name.
func (m *Manager) newMail(ctx context.Context, kind mailKind, userID, to string, d mailData, now time.Time) (*store.Mail, error) {
	d.Email = to
	d.ValidFor = linkurl.ValidFor(m.validFor(kind))
	if !d.projectSet {
		s, err := m.settings(ctx)
		if err != nil {
			return nil, err
		}
		d.ProjectName = s.ProjectName
	}
	subject, text, html, err := m.templates.render(kind, d)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	return &store.Mail{
		ID:            id,
		MessageID:     id + "@" + m.msgIDHost,
		Kind:          string(kind),
		UserID:        userID,
		To:            to,
		Subject:       subject,
		Text:          text,
		HTML:          html,
		Status:        store.MailPending,
		CreatedAt:     now,
		NextAttemptAt: now,
	}, nil
}

// DeliveryReport counts what one DeliverPending call did.
type DeliveryReport struct {
	Sent    int // delivered to the Mailer
	Retried int // failed, scheduled for another attempt
	Failed  int // failed for good (permanent error or last attempt)
}

// DeliverPending delivers every mail that is due now, batch after batch,
// and returns what it did. It is what Run does on each tick; call it from a
// cron job or a test instead of running Run. Mails another worker holds
// are left to it. A Store error stops it; delivery errors do not (they
// are recorded on the mail).
func (m *Manager) DeliverPending(ctx context.Context) (DeliveryReport, error) {
	var rep DeliveryReport
	d := m.delivery
	for {
		now := m.clock()
		batch, err := m.store.ClaimMail(ctx, now, now.Add(d.Lease), d.BatchSize)
		if err != nil {
			return rep, opErr("deliver", err)
		}
		if len(batch) == 0 {
			return rep, nil
		}
		firstErr := fanOut(batch, d.Concurrency, func(mail *store.Mail) (store.MailStatus, error) {
			return m.deliverOne(ctx, mail)
		}, func(outcome store.MailStatus, _ error) {
			switch outcome {
			case store.MailSent:
				rep.Sent++
			case store.MailPending:
				rep.Retried++
			case store.MailFailed:
				rep.Failed++
			}
		})
		if firstErr != nil {
			return rep, opErr("deliver", firstErr)
		}
		if len(batch) < d.BatchSize {
			return rep, nil
		}
	}
}

// deliverOne sends one claimed mail and records the outcome. The returned
// error is a Store error only.
func (m *Manager) deliverOne(ctx context.Context, mail *store.Mail) (store.MailStatus, error) {
	d := m.delivery
	sendCtx, cancel := context.WithTimeout(ctx, d.SendTimeout)
	msgID := mail.MessageID
	if msgID == "" {
		// A mail queued before mails carried one: derived from its id, so
		// that it too stays the same on every attempt.
		msgID = mail.ID + "@" + m.msgIDHost
	}
	sendErr := m.mailer.Send(sendCtx, Message{MessageID: msgID, To: mail.To, Subject: mail.Subject, Text: mail.Text, HTML: mail.HTML})
	cancel()
	now := m.clock()
	u := store.MailUpdate{Attempts: mail.Attempts + 1}
	switch {
	case sendErr == nil:
		u.Status, u.SentAt, u.ClearBody = store.MailSent, &now, true
	case errors.Is(sendErr, context.Canceled) && ctx.Err() != nil:
		// Shutting down: leave the mail pending for the next worker, and do
		// not count this as an attempt.
		u.Status, u.Attempts, u.NextAttemptAt = store.MailPending, mail.Attempts, now
		u.LastError = mail.LastError
	default:
		u.LastError = truncate(sendErr.Error(), 500)
		if errors.Is(sendErr, ErrPermanent) || u.Attempts >= d.MaxAttempts {
			u.Status = store.MailFailed
		} else {
			u.Status, u.NextAttemptAt = store.MailPending, now.Add(d.backoff(u.Attempts))
		}
		m.log.Warn("users: mail delivery failed", "mail_id", mail.ID, "kind", mail.Kind,
			"attempt", u.Attempts, "final", u.Status == store.MailFailed, "error", u.LastError)
	}
	// Record the outcome even if ctx was cancelled meanwhile: a sent mail
	// must not be sent again.
	if err := m.store.UpdateMail(context.WithoutCancel(ctx), mail.ID, u); err != nil {
		return "", err
	}
	if u.Attempts > mail.Attempts { // an attempt, not a shutdown
		m.noteDelivery(mail, sendErr, u, now)
	}
	return u.Status, nil
}

func truncate(s string, n int) string {
	// The text is stored (PostgreSQL refuses invalid UTF-8 in text), so
	// invalid bytes from a server's reply are replaced and the cut falls
	// on a character boundary.
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Run delivers mail, then events to the Hooks' handlers (DeliverEvents),
// until ctx is done: at once, then whenever this Manager queues a mail or
// an event, and every PollInterval (for what other processes queued, and
// retries coming due). Once an hour it also purges expired sessions and
// tokens (PurgeExpired) and prunes the activity log (PruneActivity). The host starts it
// (`go m.Run(ctx)`); nothing runs in the background otherwise. A Store
// error is logged and retried on the next tick. Run returns nil when ctx
// is done.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-m.wake:
		}
		if _, err := m.DeliverPending(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("users: mail delivery", "error", err)
		}
		if _, err := m.DeliverEvents(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("users: event delivery", "error", err)
		}
		m.purgeIfDue(ctx)
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(m.delivery.PollInterval)
	}
}

// ListMail lists outbox mails (newest state, oldest first) without their
// bodies, which hold live tokens.
func (m *Manager) ListMail(ctx context.Context, q store.MailQuery) ([]*store.Mail, error) {
	ms, err := m.store.ListMail(ctx, q)
	if err != nil {
		return nil, opErr("list mail", err)
	}
	for _, x := range ms {
		x.Text, x.HTML = "", ""
	}
	return ms, nil
}

// fanOut runs do on every item, at most n at once, hands each result to
// tally (one call at a time, so tally may count without a lock), and
// returns the first error do returned once all are done.
func fanOut[T, R any](items []T, n int, do func(T) (R, error), tally func(R, error)) error {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
		sem   = make(chan struct{}, n)
	)
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := do(it)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			tally(r, err)
		}()
	}
	wg.Wait()
	return first
}
