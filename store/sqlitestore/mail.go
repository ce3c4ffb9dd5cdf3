package sqlitestore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

const mailCols = `id, kind, user_id, to_addr, subject, text, html, status, attempts, last_error,
	created_at, next_attempt_at, lease_until, sent_at, message_id`

func scanMail(rows *sql.Rows) (*store.Mail, error) {
	var (
		m             store.Mail
		created, next int64
		lease, sentAt sql.NullInt64
	)
	if err := rows.Scan(&m.ID, &m.Kind, &m.UserID, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Status,
		&m.Attempts, &m.LastError, &created, &next, &lease, &sentAt, &m.MessageID); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAttemptAt = sqlstore.FromMicros(created), sqlstore.FromMicros(next)
	m.LeaseUntil, m.SentAt = sqlstore.FromMicrosNull(lease), sqlstore.FromMicrosNull(sentAt)
	return &m, nil
}

func insertMail(ctx context.Context, q querier, m *store.Mail) error {
	_, err := q.exec(ctx, `INSERT INTO users_mail (`+mailCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, string(m.Kind), m.UserID, m.To, m.Subject, m.Text, m.HTML, string(m.Status),
		m.Attempts, m.LastError, sqlstore.Micros(m.CreatedAt), sqlstore.Micros(m.NextAttemptAt), sqlstore.MicrosPtr(m.LeaseUntil), sqlstore.MicrosPtr(m.SentAt), m.MessageID)
	return err
}

// ClaimMail implements [store.Store]. It is one UPDATE … RETURNING
// statement, which SQLite runs atomically under its write lock.
func (s *Store) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Mail, error) {
	if limit <= 0 {
		return nil, s.fail(ctx, "claim mail", ctx.Err())
	}
	var out []*store.Mail
	err := s.writeOne(ctx, "claim mail", func(q querier) error {
		// The limit is written into the statement: SQLite plans with a
		// bound LIMIT's value and so prepares the statement again each
		// time it is bound. The workers claim with a fixed batch size.
		rows, err := q.query(ctx, `UPDATE users_mail SET lease_until = ?
	WHERE id IN (
		SELECT id FROM users_mail
		WHERE status = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		ORDER BY created_at, id LIMIT `+strconv.Itoa(limit)+`)
	RETURNING `+mailCols,
			sqlstore.Micros(leaseUntil), string(store.MailPending), sqlstore.Micros(now), sqlstore.Micros(now))
		if err != nil {
			return err
		}
		out, err = sqlstore.Collect(rows, scanMail)
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order.
	slices.SortFunc(out, store.CompareMail)
	return out, nil
}

// UpdateMail implements [store.Store].
func (s *Store) UpdateMail(ctx context.Context, id string, u store.MailUpdate) error {
	return s.writeOne(ctx, "update mail", func(q querier) error {
		return sqlstore.Found(sqlstore.Affected(q.exec(ctx, `UPDATE users_mail SET status = ?, attempts = ?, last_error = ?,
	next_attempt_at = ?, sent_at = ?, lease_until = NULL,
	text = CASE WHEN ? THEN '' ELSE text END, html = CASE WHEN ? THEN '' ELSE html END
	WHERE id = ?`,
			string(u.Status), u.Attempts, u.LastError, sqlstore.Micros(u.NextAttemptAt), sqlstore.MicrosPtr(u.SentAt),
			u.ClearBody, u.ClearBody, id)))
	})
}

// ListMail implements [store.Store].
func (s *Store) ListMail(ctx context.Context, mq store.MailQuery) ([]*store.Mail, error) {
	var (
		where []string
		args  []any
	)
	if mq.Status != "" {
		where = append(where, `status = ?`)
		args = append(args, string(mq.Status))
	}
	if mq.To != "" {
		where = append(where, `to_addr = ?`)
		args = append(args, mq.To)
	}
	query := `SELECT ` + mailCols + ` FROM users_mail`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY created_at, id`
	if mq.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, mq.Limit)
	}
	rows, err := s.read().query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(ctx, "list mail", err)
	}
	out, err := sqlstore.Collect(rows, scanMail)
	if err != nil {
		return nil, s.fail(ctx, "list mail", err)
	}
	return out, nil
}

// MailStats implements [store.Store] with one statement of three indexed
// lookups (users_mail_status): two counts of an index range and its first
// entry.
func (s *Store) MailStats(ctx context.Context) (store.MailStats, error) {
	var (
		st     store.MailStats
		oldest sql.NullInt64
	)
	err := s.read().queryRow(ctx, `SELECT
	(SELECT count(*) FROM users_mail WHERE status = ?),
	(SELECT count(*) FROM users_mail WHERE status = ?),
	(SELECT min(created_at) FROM users_mail WHERE status = ?)`, func(rows *sql.Rows) error {
		return rows.Scan(&st.Pending, &st.Failed, &oldest)
	}, string(store.MailPending), string(store.MailFailed), string(store.MailPending))
	if err != nil {
		return store.MailStats{}, s.fail(ctx, "mail stats", err)
	}
	st.OldestPending = sqlstore.FromMicrosNull(oldest)
	return st, nil
}
