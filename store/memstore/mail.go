package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gousers/users/store"
)

// ClaimMail implements store.Store. A limit of zero or less claims
// nothing.
func (s *Store) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now, leaseUntil = norm(now), norm(leaseUntil)
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*store.Mail
	for _, m := range s.mail {
		if m.Status == store.MailPending && !m.NextAttemptAt.After(now) && (m.LeaseUntil == nil || !m.LeaseUntil.After(now)) {
			due = append(due, m)
		}
	}
	slices.SortFunc(due, store.CompareMail)
	due = due[:min(max(limit, 0), len(due))]
	out := make([]*store.Mail, len(due))
	for i, m := range due {
		m.LeaseUntil = &leaseUntil
		out[i] = copyMail(m)
	}
	return out, nil
}

// UpdateMail implements store.Store.
func (s *Store) UpdateMail(ctx context.Context, id string, u store.MailUpdate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.mail[id]
	if !ok {
		return fmt.Errorf("memstore: update mail: %w", store.ErrNotFound)
	}
	m.Status = u.Status
	m.Attempts = u.Attempts
	m.LastError = u.LastError
	m.NextAttemptAt = norm(u.NextAttemptAt)
	m.SentAt = normPtr(u.SentAt)
	m.LeaseUntil = nil
	if u.ClearBody {
		m.Text, m.HTML = "", ""
	}
	return nil
}

// ListMail implements store.Store.
func (s *Store) ListMail(ctx context.Context, q store.MailQuery) ([]*store.Mail, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*store.Mail
	for _, m := range s.mail {
		if (q.Status == "" || m.Status == q.Status) && (q.To == "" || m.To == q.To) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, store.CompareMail)
	out = page(out, 0, q.Limit)
	for i, m := range out {
		out[i] = copyMail(m)
	}
	return out, nil
}

// MailStats implements store.Store.
func (s *Store) MailStats(ctx context.Context) (store.MailStats, error) {
	if err := ctx.Err(); err != nil {
		return store.MailStats{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var st store.MailStats
	for _, m := range s.mail {
		switch m.Status {
		case store.MailPending:
			st.Pending++
			if st.OldestPending == nil || m.CreatedAt.Before(*st.OldestPending) {
				st.OldestPending = new(m.CreatedAt)
			}
		case store.MailFailed:
			st.Failed++
		}
	}
	return st, nil
}

func copyMail(m *store.Mail) *store.Mail {
	c := *m
	if m.LeaseUntil != nil {
		c.LeaseUntil = new(*m.LeaseUntil)
	}
	if m.SentAt != nil {
		c.SentAt = new(*m.SentAt)
	}
	return &c
}
