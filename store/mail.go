package store

import (
	"cmp"
	"context"
	"strings"
	"time"
)

// Outbox keeps the mail the Manager queues and its delivery worker sends.
// Mails are inserted through [Effects], in the transaction of the change
// that causes them.
type Outbox interface {
	// ClaimMail leases up to limit mails whose Status is MailPending and
	// whose NextAttemptAt is at or before now, and whose lease (if any)
	// ended at or before now, oldest CreatedAt first (then ID). Each
	// claimed mail's LeaseUntil is set to leaseUntil before it is
	// returned, so two callers — in one process or several — never claim
	// the same mail while its lease runs. A mail whose worker died is
	// claimable again once its lease has ended.
	ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Mail, error)

	// UpdateMail records the outcome of a delivery attempt: it sets the
	// mail's Status, Attempts, LastError, NextAttemptAt and SentAt from u,
	// clears its lease, and — when u.ClearBody is true — empties its Text
	// and HTML (a sent mail's link holds a live token). ErrNotFound when
	// there is no such mail.
	UpdateMail(ctx context.Context, id string, u MailUpdate) error

	// ListMail returns the mails matching q, oldest CreatedAt first (then
	// ID).
	ListMail(ctx context.Context, q MailQuery) ([]*Mail, error)

	// MailStats counts the outbox by state, with one query or a few cheap
	// ones (it serves health checks, which call it often): the number of
	// pending and of failed mails, and the CreatedAt of the oldest pending
	// one. An error here means the back-end is unreachable.
	MailStats(ctx context.Context) (MailStats, error)
}

// CompareMail orders mails as ClaimMail and ListMail return them: by
// CreatedAt, then by ID. It returns a negative number when a comes first,
// a positive one when b does, 0 when they are the same mail; use it with
// slices.SortFunc.
func CompareMail(a, b *Mail) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
}

// MailStatus is the delivery state of an outbox mail.
type MailStatus string

// Mail states.
const (
	MailPending MailStatus = "pending" // waiting for its first or next attempt
	MailSent    MailStatus = "sent"    // delivered to the Mailer
	MailFailed  MailStatus = "failed"  // gave up after the last attempt
)

// Mail is one outbox entry.
type Mail struct {
	ID        string
	MessageID string // the Message-ID header, kept across retries
	// Kind names the reason the mail was sent ("verify-email",
	// "invite"…); the Store keeps it and does not interpret it.
	Kind          string
	UserID        string
	To            string
	Subject       string
	Text          string
	HTML          string
	Status        MailStatus
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	SentAt        *time.Time
}

// MailUpdate is the outcome of a delivery attempt; see Outbox.UpdateMail.
type MailUpdate struct {
	Status        MailStatus
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	SentAt        *time.Time
	ClearBody     bool
}

// MailQuery selects mails for ListMail. Zero value: every mail.
type MailQuery struct {
	Status MailStatus // "" for every status
	To     string     // "" for every recipient; compared exactly
	Limit  int        // 0: no cap
}

// MailStats is what Outbox.MailStats counts.
type MailStats struct {
	Pending int
	Failed  int
	// OldestPending is the CreatedAt of the oldest pending mail; nil when
	// none is pending.
	OldestPending *time.Time
}
