package mysqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

const eventCols = `u.id, u.action, u.flow, u.collection, u.item, u.actor, u.happened_at, u.ip, u.user_agent, u.origin, u.request_id, u.email, u.role`

func scanEvent(rows *sql.Rows) (*store.Event, error) {
	var (
		e  store.Event
		at int64
	)
	if err := rows.Scan(&e.ID, &e.Action, &e.Flow, &e.Collection, &e.Item, &e.Actor, &at,
		&e.IP, &e.UserAgent, &e.Origin, &e.RequestID, &e.Email, &e.Role); err != nil {
		return nil, err
	}
	e.Time = sqlstore.FromMicros(at)
	return &e, nil
}

// insertEvents writes events, and a pending delivery per handler of each,
// inside tx. The deliveries of an event are one statement right after the
// event's, which names the event by LAST_INSERT_ID() (the id the
// connection's previous statement generated), so that the statements can
// be sent in one round trip too (a batch).
func insertEvents(ctx context.Context, tx execer, events []*store.Event) error {
	for _, e := range events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users_events (action, flow, collection, item, actor, happened_at,
	ip, user_agent, origin, request_id, email, role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Action, e.Flow, e.Collection, e.Item, e.Actor, sqlstore.Micros(e.Time),
			e.IP, e.UserAgent, e.Origin, e.RequestID, e.Email, e.Role); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		handlers := uniqueSorted(e.Handlers)
		if len(handlers) == 0 {
			continue
		}
		var (
			sb   strings.Builder
			args []any
		)
		sb.WriteString("INSERT INTO users_event_deliveries (event_id, handler, item, last_error, next_attempt_at) VALUES ")
		for i, h := range handlers {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(LAST_INSERT_ID(), ?, ?, '', ?)")
			args = append(args, h, e.Item, sqlstore.Micros(e.Time))
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("insert event delivery: %w", err)
		}
	}
	return nil
}

// fillEventUser gives the events whose Item is empty the user that query
// (with args) selects: ErrNotFound when it selects none.
func fillEventUser(ctx context.Context, tx *sql.Tx, events []*store.Event, query string, args ...any) error {
	if !slices.ContainsFunc(events, func(e *store.Event) bool { return e.Item == "" }) {
		return nil
	}
	var id, email, role string
	err := tx.QueryRowContext(ctx, query, args...).Scan(&id, &email, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Item == "" {
			e.Item, e.Email, e.Role = id, email, role
			if e.Actor == "" {
				e.Actor = id
			}
		}
	}
	return nil
}

// ClaimEvents implements store.Store as ClaimMail does: SELECT … FOR
// UPDATE SKIP LOCKED picks the first pending delivery of each handler and
// user that is due, then an UPDATE leases them, in one read-committed
// transaction.
func (s *Store) ClaimEvents(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.EventDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*store.EventDelivery
	err := s.do(ctx, "claim events", func() error {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			out = out[:0]
			rows, err := tx.QueryContext(ctx, `SELECT d.id, d.handler, d.attempts, d.last_error, `+eventCols+`
FROM users_event_deliveries d JOIN users_events u ON u.id = d.event_id
WHERE d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
AND NOT EXISTS (SELECT 1 FROM users_event_deliveries x
	WHERE x.handler = d.handler AND x.item = d.item AND x.event_id < d.event_id)
ORDER BY d.event_id
LIMIT ?
FOR UPDATE SKIP LOCKED`, sqlstore.Micros(now), sqlstore.Micros(now), limit)
			if err != nil {
				return err
			}
			var ids []any
			list, err := sqlstore.Collect(rows, func(rows *sql.Rows) (*store.EventDelivery, error) {
				var (
					id int64
					d  store.EventDelivery
					e  store.Event
					at int64
				)
				if err := rows.Scan(&id, &d.Handler, &d.Attempts, &d.LastError, &e.ID, &e.Action, &e.Flow, &e.Collection, &e.Item, &e.Actor, &at,
					&e.IP, &e.UserAgent, &e.Origin, &e.RequestID, &e.Email, &e.Role); err != nil {
					return nil, err
				}
				e.Time = sqlstore.FromMicros(at)
				d.Event = &e
				ids = append(ids, id)
				return &d, nil
			})
			if err != nil || len(list) == 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users_event_deliveries SET lease_until = ? WHERE id IN (`+placeholders(len(ids))+`)`,
				append([]any{sqlstore.Micros(leaseUntil)}, ids...)...); err != nil {
				return err
			}
			out = list
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AckEvent implements store.Store.
func (s *Store) AckEvent(ctx context.Context, eventID int64, handler string) error {
	return s.do(ctx, "ack event", func() error {
		return sqlstore.Found(sqlstore.Affected(s.db.ExecContext(ctx,
			`DELETE FROM users_event_deliveries WHERE event_id = ? AND handler = ?`, eventID, handler)))
	})
}

// RetryEvent implements store.Store.
func (s *Store) RetryEvent(ctx context.Context, eventID int64, handler string, r store.EventRetry) error {
	return s.do(ctx, "retry event", func() error {
		return sqlstore.Found(sqlstore.Affected(s.db.ExecContext(ctx, `UPDATE users_event_deliveries
SET attempts = ?, last_error = ?, next_attempt_at = ?, lease_until = NULL WHERE event_id = ? AND handler = ?`,
			r.Attempts, r.LastError, sqlstore.Micros(r.NextAttemptAt), eventID, handler)))
	})
}

// eventFilterColumns are the event fields a filter takes; none has a
// lower-cased copy (no _i operators). The id is compared as its decimal
// string.
var eventFilterColumns = map[store.Field]column{
	store.FieldID: {col: "u.id"}, store.FieldAction: {col: "u.action"}, store.FieldFlow: {col: "u.flow"},
	store.FieldCollection: {col: "u.collection"}, store.FieldItem: {col: "u.item"}, store.FieldUser: {col: "u.actor"},
	store.FieldIP: {col: "u.ip"}, store.FieldUserAgent: {col: "u.user_agent"}, store.FieldOrigin: {col: "u.origin"},
	store.FieldRequestID: {col: "u.request_id"}, store.FieldEmail: {col: "u.email"}, store.FieldRole: {col: "u.role"},
}

// eventSortColumns are the expressions an event sort orders by.
var eventSortColumns = map[store.Field]string{
	store.FieldID: "u.id", store.FieldTimestamp: "u.happened_at",
	store.FieldAction: "CAST(u.action AS BINARY)", store.FieldFlow: "CAST(u.flow AS BINARY)",
	store.FieldCollection: "CAST(u.collection AS BINARY)", store.FieldItem: "CAST(u.item AS BINARY)",
	store.FieldUser: "CAST(u.actor AS BINARY)",
}

// eventWhere is the WHERE clause of q, with its arguments.
func eventWhere(q store.EventQuery) (string, []any, error) {
	if q.Filter == nil {
		return "", nil, nil
	}
	c, args, err := filterSQL(eventFilterColumns, q.Filter)
	if err != nil {
		return "", nil, err
	}
	return " WHERE " + c, args, nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, error) {
	where, args, err := eventWhere(q)
	if err != nil {
		return nil, fmt.Errorf("mysqlstore: list events: %w", err)
	}
	order := " ORDER BY u.id"
	if len(q.Sort) > 0 {
		order = " ORDER BY "
		for _, st := range q.Sort {
			col, ok := eventSortColumns[st.Field]
			if !ok {
				return nil, fmt.Errorf("mysqlstore: list events: sort on unknown field %q", st.Field)
			}
			if st.Desc {
				col += " DESC"
			}
			order += col + ", "
		}
		order += "u.id"
	}
	page := ""
	if q.Limit > 0 || q.Offset > 0 {
		limit := int64(1<<63 - 1)
		if q.Limit > 0 {
			limit = int64(q.Limit)
		}
		page = " LIMIT ? OFFSET ?"
		args = append(args, limit, max(q.Offset, 0))
	}
	var out []*store.Event
	err = s.do(ctx, "list events", func() (err error) {
		out, err = queryAll(ctx, s.db, `SELECT `+eventCols+` FROM users_events u`+where+order+page, scanEvent, args...)
		return err
	})
	return out, err
}

// CountEvents implements store.Store.
func (s *Store) CountEvents(ctx context.Context, q store.EventQuery) (int, error) {
	where, args, err := eventWhere(q)
	if err != nil {
		return 0, fmt.Errorf("mysqlstore: count events: %w", err)
	}
	var n int
	err = s.do(ctx, "count events", func() error {
		return s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users_events u`+where, args...).Scan(&n)
	})
	return n, err
}

// PruneEvents implements store.Store: the oldest events' ids, then their
// deliveries and themselves, in one transaction.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.do(ctx, "prune events", func() error {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM users_events WHERE happened_at < ? ORDER BY happened_at, id LIMIT ?`,
				sqlstore.Micros(before), limit)
			if err != nil {
				return err
			}
			ids, err := sqlstore.Collect(rows, func(rows *sql.Rows) (any, error) {
				var id int64
				err := rows.Scan(&id)
				return id, err
			})
			if err != nil || len(ids) == 0 {
				n = 0
				return err
			}
			in := placeholders(len(ids))
			if _, err := tx.ExecContext(ctx, `DELETE FROM users_event_deliveries WHERE event_id IN (`+in+`)`, ids...); err != nil {
				return err
			}
			n, err = sqlstore.Affected(tx.ExecContext(ctx, `DELETE FROM users_events WHERE id IN (`+in+`)`, ids...))
			return err
		})
	})
	return int(n), err
}
