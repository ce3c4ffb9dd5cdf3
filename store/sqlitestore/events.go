package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
	"github.com/gousers/users/store/internal/userquery"
)

const eventCols = `id, action, flow, collection, item, actor, happened_at, ip, user_agent, origin, request_id, email, role`

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
// in the transaction of q.
func insertEvents(ctx context.Context, q querier, events []*store.Event) error {
	for _, e := range events {
		res, err := q.exec(ctx, `INSERT INTO users_events (action, flow, collection, item, actor, happened_at,
	ip, user_agent, origin, request_id, email, role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Action, e.Flow, e.Collection, e.Item, e.Actor, sqlstore.Micros(e.Time),
			e.IP, e.UserAgent, e.Origin, e.RequestID, e.Email, e.Role)
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for _, h := range uniq(e.Handlers) {
			if _, err := q.exec(ctx, `INSERT INTO users_event_deliveries (event_id, handler, item, next_attempt_at)
	VALUES (?, ?, ?, ?)`, id, h, e.Item, sqlstore.Micros(e.Time)); err != nil {
				return fmt.Errorf("insert event delivery: %w", err)
			}
		}
	}
	return nil
}

// withEvents inserts events once err, the outcome of the change they
// report, is nil.
func withEvents(ctx context.Context, q querier, events []*store.Event, err error) error {
	if err != nil || len(events) == 0 {
		return err
	}
	return insertEvents(ctx, q, events)
}

// fillEventUser gives the events whose Item is empty the user that query
// (with args) selects: its id, email and role.
func fillEventUser(ctx context.Context, q querier, events []*store.Event, query string, args ...any) error {
	if !slices.ContainsFunc(events, func(e *store.Event) bool { return e.Item == "" }) {
		return nil
	}
	var id, email, role string
	err := q.queryRow(ctx, query, func(rows *sql.Rows) error { return rows.Scan(&id, &email, &role) }, args...)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) || errors.Is(err, store.ErrNotFound) {
			return nil // no session: nothing is deleted, nothing inserted
		}
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

// ClaimEvents implements [store.Store]: one UPDATE … RETURNING statement,
// which SQLite runs atomically under its write lock. A delivery is the
// first of its handler and user when no delivery of the same handler and
// item has a lower event id.
func (s *Store) ClaimEvents(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.EventDelivery, error) {
	if limit <= 0 {
		return nil, s.fail(ctx, "claim events", ctx.Err())
	}
	type claimed struct {
		event, attempts int64
		handler, err    string
	}
	var (
		cs  []claimed
		out []*store.EventDelivery
	)
	err := s.write(ctx, "claim events", func(q querier) error {
		// The limit is written into the statement, as ClaimMail's is.
		rows, err := q.query(ctx, `UPDATE users_event_deliveries SET lease_until = ?
	WHERE id IN (
		SELECT d.id FROM users_event_deliveries d
		WHERE d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
		AND NOT EXISTS (SELECT 1 FROM users_event_deliveries e
			WHERE e.handler = d.handler AND e.item = d.item AND e.event_id < d.event_id)
		ORDER BY d.event_id LIMIT `+strconv.Itoa(limit)+`)
	RETURNING event_id, handler, attempts, last_error`,
			sqlstore.Micros(leaseUntil), sqlstore.Micros(now), sqlstore.Micros(now))
		if err != nil {
			return err
		}
		cs, err = sqlstore.Collect(rows, func(rows *sql.Rows) (claimed, error) {
			var c claimed
			err := rows.Scan(&c.event, &c.handler, &c.attempts, &c.err)
			return c, err
		})
		if err != nil || len(cs) == 0 {
			return err
		}
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = strconv.FormatInt(c.event, 10)
		}
		evs, err := queryAll(ctx, q, `SELECT `+eventCols+` FROM users_events WHERE id IN (SELECT value FROM json_each(?))`,
			scanEvent, "["+strings.Join(ids, ",")+"]")
		if err != nil {
			return err
		}
		byID := make(map[int64]*store.Event, len(evs))
		for _, e := range evs {
			byID[e.ID] = e
		}
		out = out[:0]
		for _, c := range cs {
			e, ok := byID[c.event]
			if !ok {
				continue
			}
			ec := *e
			out = append(out, &store.EventDelivery{Event: &ec, Handler: c.handler, Attempts: int(c.attempts), LastError: c.err})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order.
	slices.SortFunc(out, compareDelivery)
	return out, nil
}

func compareDelivery(a, b *store.EventDelivery) int {
	if a.Event.ID != b.Event.ID {
		if a.Event.ID < b.Event.ID {
			return -1
		}
		return 1
	}
	switch {
	case a.Handler < b.Handler:
		return -1
	case a.Handler > b.Handler:
		return 1
	}
	return 0
}

// AckEvent implements [store.Store].
func (s *Store) AckEvent(ctx context.Context, eventID int64, handler string) error {
	return s.writeOne(ctx, "ack event", func(q querier) error {
		return sqlstore.Found(sqlstore.Affected(q.exec(ctx,
			`DELETE FROM users_event_deliveries WHERE event_id = ? AND handler = ?`, eventID, handler)))
	})
}

// RetryEvent implements [store.Store].
func (s *Store) RetryEvent(ctx context.Context, eventID int64, handler string, r store.EventRetry) error {
	return s.writeOne(ctx, "retry event", func(q querier) error {
		return sqlstore.Found(sqlstore.Affected(q.exec(ctx, `UPDATE users_event_deliveries
	SET attempts = ?, last_error = ?, next_attempt_at = ?, lease_until = NULL WHERE event_id = ? AND handler = ?`,
			r.Attempts, r.LastError, sqlstore.Micros(r.NextAttemptAt), eventID, handler)))
	})
}

// ListEvents implements [store.Store].
func (s *Store) ListEvents(ctx context.Context, eq store.EventQuery) ([]*store.Event, error) {
	b := userquery.NewFor(dialect, userquery.Events)
	b.Write(`SELECT ` + eventCols + ` FROM users_events`)
	if eq.Filter != nil {
		b.Write(" WHERE ")
		if err := b.Filter(eq.Filter); err != nil {
			return nil, fmt.Errorf("sqlitestore: list events: %w", err)
		}
	}
	if err := b.OrderBy(eq.Sort); err != nil {
		return nil, fmt.Errorf("sqlitestore: list events: %w", err)
	}
	if eq.Limit > 0 || eq.Offset > 0 {
		limit := -1
		if eq.Limit > 0 {
			limit = eq.Limit
		}
		b.Write(" LIMIT ")
		b.Arg(limit)
		b.Write(" OFFSET ")
		b.Arg(max(eq.Offset, 0))
	}
	out, err := queryAll(ctx, s.read(), b.String(), scanEvent, b.Args()...)
	if err != nil {
		return nil, s.fail(ctx, "list events", err)
	}
	return out, nil
}

// CountEvents implements [store.Store].
func (s *Store) CountEvents(ctx context.Context, eq store.EventQuery) (int, error) {
	b := userquery.NewFor(dialect, userquery.Events)
	b.Write(`SELECT count(*) FROM users_events`)
	if eq.Filter != nil {
		b.Write(" WHERE ")
		if err := b.Filter(eq.Filter); err != nil {
			return 0, fmt.Errorf("sqlitestore: count events: %w", err)
		}
	}
	var n int
	if err := s.read().queryRow(ctx, b.String(), func(rows *sql.Rows) error { return rows.Scan(&n) }, b.Args()...); err != nil {
		return 0, s.fail(ctx, "count events", err)
	}
	return n, nil
}

// PruneEvents implements [store.Store].
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, s.fail(ctx, "prune events", ctx.Err())
	}
	var n int64
	err := s.write(ctx, "prune events", func(q querier) error {
		// The newest event stays, whatever its time: a new event's id is
		// one more than the highest in the table, so deleting the highest
		// would give its id again.
		const old = `SELECT id FROM users_events WHERE happened_at < ?
	AND id < (SELECT max(id) FROM users_events) ORDER BY happened_at, id LIMIT ?`
		if _, err := q.exec(ctx, `DELETE FROM users_event_deliveries WHERE event_id IN (`+old+`)`,
			sqlstore.Micros(before), limit); err != nil {
			return err
		}
		var err error
		n, err = sqlstore.Affected(q.exec(ctx, `DELETE FROM users_events WHERE id IN (`+old+`)`, sqlstore.Micros(before), limit))
		return err
	})
	return int(n), err
}
