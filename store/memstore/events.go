package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// deliveryKey names a pending delivery: an event and a handler.
type deliveryKey struct {
	event   int64
	handler string
}

// insertEvents stores events with the next IDs, and their deliveries.
func (s *Store) insertEvents(events []*store.Event) {
	for _, e := range events {
		s.lastEvent++
		c := *e
		c.ID, c.Time, c.Handlers = s.lastEvent, norm(e.Time), nil
		s.events = append(s.events, &c)
		for _, h := range uniq(e.Handlers) {
			s.deliveries[deliveryKey{c.ID, h}] = &store.EventRetry{NextAttemptAt: c.Time}
		}
	}
}

// event returns the event with the given id, or nil.
func (s *Store) event(id int64) *store.Event {
	i, ok := slices.BinarySearchFunc(s.events, id, func(e *store.Event, id int64) int { return cmp.Compare(e.ID, id) })
	if !ok {
		return nil
	}
	return s.events[i]
}

// ClaimEvents implements store.Store.
func (s *Store) ClaimEvents(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*store.EventDelivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now, leaseUntil = norm(now), norm(leaseUntil)
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]deliveryKey, 0, len(s.deliveries))
	for k := range s.deliveries {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b deliveryKey) int {
		return cmp.Or(cmp.Compare(a.event, b.event), strings.Compare(a.handler, b.handler))
	})
	type head struct{ handler, item string }
	seen := make(map[head]bool)
	var out []*store.EventDelivery
	for _, k := range keys {
		if len(out) >= limit {
			break
		}
		e := s.event(k.event)
		if e == nil {
			continue
		}
		h := head{k.handler, e.Item}
		if seen[h] {
			continue // an earlier event of this user waits for this handler
		}
		seen[h] = true
		d := s.deliveries[k]
		if d.NextAttemptAt.After(now) {
			continue
		}
		if l, ok := s.leases[k]; ok && l.After(now) {
			continue
		}
		s.leases[k] = leaseUntil
		c := *e
		out = append(out, &store.EventDelivery{Event: &c, Handler: k.handler, Attempts: d.Attempts, LastError: d.LastError})
	}
	return out, nil
}

// AckEvent implements store.Store.
func (s *Store) AckEvent(ctx context.Context, eventID int64, handler string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := deliveryKey{eventID, handler}
	if _, ok := s.deliveries[k]; !ok {
		return fmt.Errorf("memstore: ack event: %w", store.ErrNotFound)
	}
	delete(s.deliveries, k)
	delete(s.leases, k)
	return nil
}

// RetryEvent implements store.Store.
func (s *Store) RetryEvent(ctx context.Context, eventID int64, handler string, r store.EventRetry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := deliveryKey{eventID, handler}
	if _, ok := s.deliveries[k]; !ok {
		return fmt.Errorf("memstore: retry event: %w", store.ErrNotFound)
	}
	r.NextAttemptAt = norm(r.NextAttemptAt)
	s.deliveries[k] = &r
	delete(s.leases, k)
	return nil
}

// eventField returns the getter of a filterable event field.
func eventField(f store.Field) (func(*store.Event) string, error) {
	switch f {
	case store.FieldID:
		return func(e *store.Event) string { return strconv.FormatInt(e.ID, 10) }, nil
	case store.FieldAction:
		return func(e *store.Event) string { return e.Action }, nil
	case store.FieldFlow:
		return func(e *store.Event) string { return e.Flow }, nil
	case store.FieldCollection:
		return func(e *store.Event) string { return e.Collection }, nil
	case store.FieldItem:
		return func(e *store.Event) string { return e.Item }, nil
	case store.FieldUser:
		return func(e *store.Event) string { return e.Actor }, nil
	case store.FieldIP:
		return func(e *store.Event) string { return e.IP }, nil
	case store.FieldUserAgent:
		return func(e *store.Event) string { return e.UserAgent }, nil
	case store.FieldOrigin:
		return func(e *store.Event) string { return e.Origin }, nil
	case store.FieldRequestID:
		return func(e *store.Event) string { return e.RequestID }, nil
	case store.FieldEmail:
		return func(e *store.Event) string { return e.Email }, nil
	case store.FieldRole:
		return func(e *store.Event) string { return e.Role }, nil
	}
	return nil, fmt.Errorf("filter: %q is not an event field a filter can compare", f)
}

// selectEvents returns the events q selects, in its order, unpaged.
func (s *Store) selectEvents(q store.EventQuery) ([]*store.Event, error) {
	keep := func(*store.Event) bool { return true }
	if q.Filter != nil {
		p, err := compileFilter(q.Filter, eventField)
		if err != nil {
			return nil, err
		}
		keep = p
	}
	var keys []func(a, b *store.Event) int
	for _, st := range q.Sort {
		var key func(a, b *store.Event) int
		switch st.Field {
		case store.FieldID, store.FieldTimestamp:
			key = func(a, b *store.Event) int { return cmp.Compare(a.ID, b.ID) }
			if st.Field == store.FieldTimestamp {
				key = func(a, b *store.Event) int { return a.Time.Compare(b.Time) }
			}
		case store.FieldAction, store.FieldFlow, store.FieldCollection, store.FieldItem, store.FieldUser:
			get, _ := eventField(st.Field)
			key = func(a, b *store.Event) int { return strings.Compare(get(a), get(b)) }
		default:
			return nil, fmt.Errorf("sort: %q is not an event field to sort on", st.Field)
		}
		if st.Desc {
			asc := key
			key = func(a, b *store.Event) int { return -asc(a, b) }
		}
		keys = append(keys, key)
	}
	var out []*store.Event
	for _, e := range s.events {
		if keep(e) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b *store.Event) int {
		for _, k := range keys {
			if c := k(a, b); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]*store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sel, err := s.selectEvents(q)
	if err != nil {
		return nil, fmt.Errorf("memstore: list events: %w", err)
	}
	sel = page(sel, q.Offset, q.Limit)
	out := make([]*store.Event, len(sel))
	for i, e := range sel {
		c := *e
		out[i] = &c
	}
	return out, nil
}

// CountEvents implements store.Store.
func (s *Store) CountEvents(ctx context.Context, q store.EventQuery) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q.Sort = nil
	sel, err := s.selectEvents(q)
	if err != nil {
		return 0, fmt.Errorf("memstore: count events: %w", err)
	}
	return len(sel), nil
}

// PruneEvents implements store.Store.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	before = norm(before)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Oldest first: the events by time (IDs increase with inserts, not
	// necessarily with Time).
	old := make([]*store.Event, 0)
	for _, e := range s.events {
		if e.Time.Before(before) {
			old = append(old, e)
		}
	}
	slices.SortStableFunc(old, func(a, b *store.Event) int { return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID)) })
	old = old[:min(max(limit, 0), len(old))]
	gone := make(map[int64]bool, len(old))
	for _, e := range old {
		gone[e.ID] = true
	}
	s.events = slices.DeleteFunc(s.events, func(e *store.Event) bool { return gone[e.ID] })
	for k := range s.deliveries {
		if gone[k.event] {
			delete(s.deliveries, k)
			delete(s.leases, k)
		}
	}
	return len(old), nil
}
