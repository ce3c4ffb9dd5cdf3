package pgstore

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// mailCols reads a store.Mail (see scanMail) from users_mail AS m.
const mailCols = `m.id, m.kind, m.user_id, m.to_addr, m.subject, m.text_body, m.html_body,
	m.status, m.attempts, m.last_error, m.created_at, m.next_attempt_at, m.lease_until, m.sent_at, m.message_id`

// ClaimMail implements store.Store in one statement (see the claimMail
// query): concurrent claimers on any number of instances skip each other's
// rows instead of waiting, and never both lease one mail.
func (s *Store) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := queryAll(ctx, s, "claim mail", s.q.claimMail, scanMail, now, leaseUntil, limit)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, store.CompareMail)
	return list, nil
}

// UpdateMail implements store.Store.
func (s *Store) UpdateMail(ctx context.Context, id string, u store.MailUpdate) error {
	return s.do(ctx, "update mail", func() error {
		ct, err := s.pool.Exec(ctx, s.q.updateMail, id, string(u.Status), u.Attempts, u.LastError,
			u.NextAttemptAt, u.SentAt, u.ClearBody)
		return sqlstore.Found(ct.RowsAffected(), err)
	})
}

// ListMail implements store.Store.
func (s *Store) ListMail(ctx context.Context, q store.MailQuery) ([]*store.Mail, error) {
	var (
		sb   strings.Builder
		args []any
		and  = " WHERE "
	)
	sb.WriteString(s.q.listMail)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.Status != "" {
		sb.WriteString(and + "m.status = " + arg(string(q.Status)))
		and = " AND "
	}
	if q.To != "" {
		sb.WriteString(and + "m.to_addr = " + arg(q.To))
	}
	sb.WriteString(" ORDER BY m.created_at, m.id")
	if q.Limit > 0 {
		sb.WriteString(" LIMIT " + arg(q.Limit))
	}
	return queryAll(ctx, s, "list mail", sb.String(), scanMail, args...)
}

func scanMail(row pgx.Row) (*store.Mail, error) {
	var (
		m      store.Mail
		status string
	)
	err := row.Scan(&m.ID, &m.Kind, &m.UserID, &m.To, &m.Subject, &m.Text, &m.HTML,
		&status, &m.Attempts, &m.LastError, &m.CreatedAt, &m.NextAttemptAt, &m.LeaseUntil, &m.SentAt, &m.MessageID)
	if err != nil {
		return nil, err
	}
	m.Status = store.MailStatus(status)
	m.CreatedAt = m.CreatedAt.UTC()
	m.NextAttemptAt = m.NextAttemptAt.UTC()
	m.LeaseUntil = utcPtr(m.LeaseUntil)
	m.SentAt = utcPtr(m.SentAt)
	return &m, nil
}

// MailStats implements store.Store with one statement: two counts and a
// minimum, each over a partial index (users_mail_pending_idx,
// users_mail_failed_idx).
func (s *Store) MailStats(ctx context.Context) (store.MailStats, error) {
	var st store.MailStats
	err := s.do(ctx, "mail stats", func() error {
		return s.pool.QueryRow(ctx, s.q.mailStats).Scan(&st.Pending, &st.Failed, &st.OldestPending)
	})
	if err != nil {
		return store.MailStats{}, err
	}
	st.OldestPending = utcPtr(st.OldestPending)
	return st, nil
}
