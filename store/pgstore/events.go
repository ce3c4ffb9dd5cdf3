package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
	"github.com/gousers/users/store/internal/userquery"
)

const eventCols = `u.id, u.action, u.flow, u.collection, u.item, u.actor, u.happened_at, u.ip, u.user_agent, u.origin, u.request_id, u.email, u.role`

// eventQueries are the statements of the events, qualified.
type eventQueries struct {
	insertEvent, insertEventOnly, claimEvents, ackEvent, retryEvent, pruneEvents, sessionUser, sessionUserByToken string
	lastAccess                                                                                                    string
}

func newEventQueries(q func(string) string) eventQueries {
	return eventQueries{
		// The event, then one delivery per handler ($13), in one statement.
		insertEvent: q(`WITH e AS (
	INSERT INTO users_events (action, flow, collection, item, actor, happened_at, ip, user_agent, origin, request_id, email, role)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id
)
INSERT INTO users_event_deliveries (event_id, handler, item, next_attempt_at)
SELECT e.id, h, $4, $6 FROM e CROSS JOIN unnest($13::text[]) AS h`),
		// The event of no handler: nothing to deliver.
		insertEventOnly: q(`INSERT INTO users_events (action, flow, collection, item, actor, happened_at, ip, user_agent, origin, request_id, email, role)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`),
		// As ClaimMail: the CTE locks what it picks and SKIP LOCKED passes
		// over deliveries another worker is claiming right now. A delivery
		// whose earlier sibling (same handler and user) is still pending —
		// leased, waiting for a retry, or being claimed — is not taken.
		claimEvents: q(`WITH c AS (
	SELECT d.id FROM users_event_deliveries d
	WHERE d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
	AND NOT EXISTS (SELECT 1 FROM users_event_deliveries x
		WHERE x.handler = d.handler AND x.item = d.item AND x.event_id < d.event_id)
	ORDER BY d.event_id
	LIMIT $3
	FOR UPDATE SKIP LOCKED
)
UPDATE users_event_deliveries d SET lease_until = $2 FROM c, users_events u
WHERE d.id = c.id AND u.id = d.event_id
RETURNING d.handler, d.attempts, d.last_error, ` + eventCols),
		lastAccess: q(`UPDATE users_users SET last_access = $2 WHERE id = $1`),
		ackEvent:   q(`DELETE FROM users_event_deliveries WHERE event_id = $1 AND handler = $2`),
		retryEvent: q(`UPDATE users_event_deliveries SET attempts = $3, last_error = $4, next_attempt_at = $5, lease_until = NULL
WHERE event_id = $1 AND handler = $2`),
		pruneEvents: q(`WITH old AS (
	SELECT id FROM users_events WHERE happened_at < $1 ORDER BY happened_at, id LIMIT $2
), d AS (
	DELETE FROM users_event_deliveries WHERE event_id IN (SELECT id FROM old)
)
DELETE FROM users_events WHERE id IN (SELECT id FROM old)`),
		sessionUser: q(`SELECT u.id, u.email, coalesce(u.role, '') FROM users_users u
JOIN users_sessions s ON s.user_id = u.id WHERE s.id = $1`),
		sessionUserByToken: q(`SELECT u.id, u.email, coalesce(u.role, '') FROM users_users u
JOIN users_sessions s ON s.user_id = u.id
WHERE s.token_hash = $1 OR s.id = (SELECT session_id FROM users_session_hashes WHERE hash = $1)`),
	}
}

func scanEvent(row pgx.Row) (*store.Event, error) {
	var e store.Event
	if err := row.Scan(&e.ID, &e.Action, &e.Flow, &e.Collection, &e.Item, &e.Actor, &e.Time,
		&e.IP, &e.UserAgent, &e.Origin, &e.RequestID, &e.Email, &e.Role); err != nil {
		return nil, err
	}
	e.Time = e.Time.UTC()
	return &e, nil
}

// queueEvents queues the inserts of events and their deliveries.
func (s *Store) queueEvents(b *pgx.Batch, events []*store.Event) {
	for _, e := range events {
		handlers := sortedUniq(e.Handlers)
		if len(handlers) == 0 {
			b.Queue(s.eq.insertEventOnly, e.Action, e.Flow, e.Collection, e.Item, e.Actor, e.Time,
				e.IP, e.UserAgent, e.Origin, e.RequestID, e.Email, e.Role)
			continue
		}
		b.Queue(s.eq.insertEvent, e.Action, e.Flow, e.Collection, e.Item, e.Actor, e.Time,
			e.IP, e.UserAgent, e.Origin, e.RequestID, e.Email, e.Role, handlers)
	}
}

// deleteSessionWith deletes a session (del, with arg) and inserts events,
// in one transaction; events without an Item get the session's user, which
// who (with arg) reads first. ErrNotFound, nothing written, when no
// session is deleted.
func (s *Store) deleteSessionWith(ctx context.Context, del, who string, arg any, events []*store.Event) error {
	return s.do(ctx, "delete session", func() error {
		return s.inTx(ctx, func(c *pgx.Conn) error {
			if _, err := c.Exec(ctx, "begin"); err != nil {
				return err
			}
			if slices.ContainsFunc(events, func(e *store.Event) bool { return e.Item == "" }) {
				var id, email, role string
				err := c.QueryRow(ctx, who, arg).Scan(&id, &email, &role)
				if errors.Is(err, pgx.ErrNoRows) {
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
			}
			ct, err := c.Exec(ctx, del, arg)
			if err := sqlstore.Found(ct.RowsAffected(), err); err != nil {
				return err
			}
			b := &pgx.Batch{}
			s.queueEvents(b, events)
			b.Queue("commit")
			return c.SendBatch(ctx, b).Close()
		})
	})
}

// ClaimEvents implements store.Store in one statement (see claimEvents).
func (s *Store) ClaimEvents(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.EventDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	list, err := queryAll(ctx, s, "claim events", s.eq.claimEvents, func(row pgx.Row) (*store.EventDelivery, error) {
		var (
			d store.EventDelivery
			e store.Event
		)
		if err := row.Scan(&d.Handler, &d.Attempts, &d.LastError, &e.ID, &e.Action, &e.Flow, &e.Collection, &e.Item, &e.Actor, &e.Time,
			&e.IP, &e.UserAgent, &e.Origin, &e.RequestID, &e.Email, &e.Role); err != nil {
			return nil, err
		}
		e.Time = e.Time.UTC()
		d.Event = &e
		return &d, nil
	}, now, leaseUntil, limit)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *store.EventDelivery) int {
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
	})
	return list, nil
}

// AckEvent implements store.Store.
func (s *Store) AckEvent(ctx context.Context, eventID int64, handler string) error {
	return s.do(ctx, "ack event", func() error {
		ct, err := s.pool.Exec(ctx, s.eq.ackEvent, eventID, handler)
		return sqlstore.Found(ct.RowsAffected(), err)
	})
}

// RetryEvent implements store.Store.
func (s *Store) RetryEvent(ctx context.Context, eventID int64, handler string, r store.EventRetry) error {
	return s.do(ctx, "retry event", func() error {
		ct, err := s.pool.Exec(ctx, s.eq.retryEvent, eventID, handler, r.Attempts, r.LastError, r.NextAttemptAt)
		return sqlstore.Found(ct.RowsAffected(), err)
	})
}

// eventsSQL is the statement ListEvents (count false) or CountEvents runs
// for q, and its arguments.
func (s *Store) eventsSQL(q store.EventQuery, count bool) (string, []any, error) {
	b := userquery.NewFor(dialect, userquery.Events)
	if count {
		b.Write(s.qual(`SELECT count(*) FROM users_events u`))
	} else {
		b.Write(s.qual(`SELECT ` + eventCols + ` FROM users_events u`))
	}
	if q.Filter != nil {
		b.Write(" WHERE ")
		if err := b.Filter(q.Filter); err != nil {
			return "", nil, err
		}
	}
	if count {
		return b.String(), b.Args(), nil
	}
	if err := b.OrderBy(q.Sort); err != nil {
		return "", nil, err
	}
	if q.Limit > 0 {
		b.Write(" LIMIT ")
		b.Arg(q.Limit)
	}
	if q.Offset > 0 {
		b.Write(" OFFSET ")
		b.Arg(q.Offset)
	}
	return b.String(), b.Args(), nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, error) {
	query, args, err := s.eventsSQL(q, false)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list events: %w", err)
	}
	return queryAll(ctx, s, "list events", query, scanEvent, args...)
}

// CountEvents implements store.Store.
func (s *Store) CountEvents(ctx context.Context, q store.EventQuery) (int, error) {
	query, args, err := s.eventsSQL(q, true)
	if err != nil {
		return 0, fmt.Errorf("pgstore: count events: %w", err)
	}
	var n int
	err = s.do(ctx, "count events", func() error { return s.pool.QueryRow(ctx, query, args...).Scan(&n) })
	return n, err
}

// PruneEvents implements store.Store in one statement.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.do(ctx, "prune events", func() error {
		ct, err := s.pool.Exec(ctx, s.eq.pruneEvents, before, limit)
		n = ct.RowsAffected()
		return err
	})
	return int(n), err
}
