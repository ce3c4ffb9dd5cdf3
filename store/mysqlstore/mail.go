package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// mailCols reads a store.Mail (see scanMail) from users_mail AS m.
const mailCols = `m.id, m.message_id, m.kind, m.user_id, m.to_addr, m.subject, m.text_body, m.html_body,
	m.status, m.attempts, m.last_error, m.created_at, m.next_attempt_at, m.lease_until, m.sent_at`

func insertMail(ctx context.Context, q execer, m *store.Mail) error {
	_, err := q.ExecContext(ctx, `INSERT INTO users_mail (id, message_id, kind, user_id, to_addr, subject, text_body, html_body,
	status, attempts, last_error, created_at, next_attempt_at, lease_until, sent_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.MessageID, string(m.Kind), m.UserID, m.To, m.Subject, m.Text, m.HTML,
		string(m.Status), m.Attempts, m.LastError, sqlstore.Micros(m.CreatedAt), sqlstore.Micros(m.NextAttemptAt),
		sqlstore.MicrosPtr(m.LeaseUntil), sqlstore.MicrosPtr(m.SentAt))
	return err
}

func scanMail(rows *sql.Rows) (*store.Mail, error) {
	var (
		m                  store.Mail
		status             string
		created, next      int64
		leaseUntil, sentAt sql.NullInt64
	)
	if err := rows.Scan(&m.ID, &m.MessageID, &m.Kind, &m.UserID, &m.To, &m.Subject, &m.Text, &m.HTML,
		&status, &m.Attempts, &m.LastError, &created, &next, &leaseUntil, &sentAt); err != nil {
		return nil, err
	}
	m.Status = store.MailStatus(status)
	m.CreatedAt = sqlstore.FromMicros(created)
	m.NextAttemptAt = sqlstore.FromMicros(next)
	m.LeaseUntil = sqlstore.FromMicrosNull(leaseUntil)
	m.SentAt = sqlstore.FromMicrosNull(sentAt)
	return &m, nil
}

// ClaimMail implements store.Store in one read-committed transaction: a
// SELECT … FOR UPDATE SKIP LOCKED picks the due mails, oldest first,
// passing over rows another worker is claiming right now (instead of
// waiting for it), and locks them; an UPDATE sets their lease; the commit
// releases them. A row claimed and committed by another worker since is
// read at its latest version by the locking read, so its new lease makes
// it drop out.
func (s *Store) ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	var list []*store.Mail
	err := s.do(ctx, "claim mail", func() error {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			list, err = queryAll(ctx, tx, `SELECT `+mailCols+` FROM users_mail m
WHERE m.status = 'pending' AND m.next_attempt_at <= ? AND (m.lease_until IS NULL OR m.lease_until <= ?)
ORDER BY m.created_at, m.id
LIMIT ?
FOR UPDATE SKIP LOCKED`, scanMail, sqlstore.Micros(now), sqlstore.Micros(now), limit)
			if err != nil || len(list) == 0 {
				return err
			}
			ids := make([]any, 0, len(list)+1)
			ids = append(ids, sqlstore.Micros(leaseUntil))
			for _, m := range list {
				ids = append(ids, m.ID)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users_mail SET lease_until = ? WHERE id IN (`+placeholders(len(list))+`)`, ids...); err != nil {
				return err
			}
			lease := sqlstore.FromMicros(sqlstore.Micros(leaseUntil))
			for _, m := range list {
				l := lease
				m.LeaseUntil = &l
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// UpdateMail implements store.Store.
func (s *Store) UpdateMail(ctx context.Context, id string, u store.MailUpdate) error {
	body := ""
	if u.ClearBody {
		body = ", text_body = '', html_body = ''"
	}
	return s.do(ctx, "update mail", func() error {
		// Once per mail sent: prepared (two forms).
		res, err := s.ro.ExecContext(ctx, `UPDATE users_mail SET status = ?, attempts = ?, last_error = ?,
	next_attempt_at = ?, sent_at = ?, lease_until = NULL`+body+` WHERE id = ?`,
			string(u.Status), u.Attempts, u.LastError, sqlstore.Micros(u.NextAttemptAt), sqlstore.MicrosPtr(u.SentAt), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		// MySQL counts changed rows, not matched ones: an update that
		// changed nothing also reports 0.
		var one int
		err = s.db.QueryRowContext(ctx, `SELECT 1 FROM users_mail WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
}

// ListMail implements store.Store.
func (s *Store) ListMail(ctx context.Context, q store.MailQuery) ([]*store.Mail, error) {
	var (
		conds []string
		args  []any
	)
	if q.Status != "" {
		conds = append(conds, "m.status = ?")
		args = append(args, string(q.Status))
	}
	if q.To != "" {
		conds = append(conds, "m.to_addr = ? AND CAST(m.to_addr AS BINARY) = CAST(? AS BINARY)")
		args = append(args, q.To, q.To)
	}
	query := `SELECT ` + mailCols + ` FROM users_mail m`
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query += " ORDER BY m.created_at, m.id"
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return read(ctx, s, "list mail", func() ([]*store.Mail, error) {
		return queryAll(ctx, s.db, query, scanMail, args...)
	})
}

// MailStats implements store.Store in one query of three index lookups on
// (status, created_at, id).
func (s *Store) MailStats(ctx context.Context) (store.MailStats, error) {
	var (
		st     store.MailStats
		oldest sql.NullInt64
	)
	err := s.do(ctx, "mail stats", func() error {
		return s.db.QueryRowContext(ctx, `SELECT
	(SELECT COUNT(*) FROM users_mail WHERE status = 'pending'),
	(SELECT COUNT(*) FROM users_mail WHERE status = 'failed'),
	(SELECT MIN(created_at) FROM users_mail WHERE status = 'pending')`).Scan(&st.Pending, &st.Failed, &oldest)
	})
	if err != nil {
		return store.MailStats{}, err
	}
	st.OldestPending = sqlstore.FromMicrosNull(oldest)
	return st, nil
}
