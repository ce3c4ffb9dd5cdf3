package users

import (
	"context"
	"slices"
	"strings"

	"github.com/gousers/users/internal/echo"
	"github.com/gousers/users/store"
)

// ActivityQuery selects entries of the activity log (the events: see
// Event) for ListActivity and CountActivity. The zero value selects every
// entry, oldest first.
type ActivityQuery struct {
	// Filter, when not empty, is a filter in Directus's JSON syntax (as for
	// ParseFilter) over the activity fields: id, action, flow, collection,
	// item (the user the entry is about), user (the actor), ip,
	// user_agent, origin, request_id, email and role. They take the
	// byte-exact operators; id takes _eq, _neq, _in and _nin.
	Filter []byte
	// Sort, as in Directus ("-timestamp"): id, timestamp, action, flow,
	// collection, item, user. Empty: id ascending.
	Sort []string
	// Limit caps the result (0: no cap); Offset skips that many.
	Limit, Offset int
}

var (
	// exactOps are the operators of a field with no lower-cased copy.
	exactOps = slices.DeleteFunc(slices.Clone(textOps), func(op store.Op) bool {
		switch op {
		case store.OpIContains, store.OpNIContains, store.OpIStartsWith, store.OpNIStartsWith,
			store.OpIEndsWith, store.OpNIEndsWith, store.OpRegex:
			return true
		}
		return false
	})
	// activityFilterSchema is what an activity filter takes.
	activityFilterSchema = filterSchema{
		{store.FieldID, []store.Op{store.OpEq, store.OpNeq, store.OpIn, store.OpNin}},
		{store.FieldAction, exactOps}, {store.FieldFlow, exactOps}, {store.FieldCollection, exactOps},
		{store.FieldItem, exactOps}, {store.FieldUser, exactOps}, {store.FieldIP, exactOps},
		{store.FieldUserAgent, exactOps}, {store.FieldOrigin, exactOps}, {store.FieldRequestID, exactOps},
		{store.FieldEmail, exactOps}, {store.FieldRole, exactOps},
	}
	activitySortFields = []store.Field{
		store.FieldID, store.FieldTimestamp, store.FieldAction, store.FieldFlow,
		store.FieldCollection, store.FieldItem, store.FieldUser,
	}
)

// storeQuery checks q and returns the query the Store runs; every error is
// a *ValidationError matching ErrInvalidQuery.
func (q ActivityQuery) storeQuery() (store.EventQuery, error) {
	sq := store.EventQuery{Limit: q.Limit, Offset: q.Offset}
	switch {
	case q.Limit < 0:
		return sq, queryError("limit", "must not be negative")
	case q.Offset < 0:
		return sq, queryError("offset", "must not be negative")
	}
	if len(q.Filter) > 0 {
		tree, _, err := parseFilter(q.Filter, activityFilterSchema)
		if err != nil {
			return sq, queryError("filter", "%s", err.Error())
		}
		sq.Filter = tree
	}
	for _, it := range q.Sort {
		s := store.Sort{Field: store.Field(strings.TrimPrefix(it, "-")), Desc: strings.HasPrefix(it, "-")}
		if !slices.Contains(activitySortFields, s.Field) {
			return sq, queryError("sort", "unknown field %q (sorts take id, timestamp, action, flow, collection, item, user, each with - for descending)", echo.Cut(it))
		}
		sq.Sort = append(sq.Sort, s)
	}
	return sq, nil
}

// ListActivity lists the activity log's entries q selects, in its order
// and page (an administrator's view). A query that cannot run is a
// *ValidationError matching ErrInvalidQuery.
func (m *Manager) ListActivity(ctx context.Context, q ActivityQuery) ([]Event, error) {
	sq, err := q.storeQuery()
	if err != nil {
		return nil, opErr("list activity", err)
	}
	rs, err := m.store.ListEvents(ctx, sq)
	if err != nil {
		return nil, opErr("list activity", storeQueryErr(err))
	}
	out := make([]Event, len(rs))
	for i, r := range rs {
		out[i] = publicEvent(r)
	}
	return out, nil
}

// CountActivity returns how many entries q selects, ignoring its Sort,
// Limit and Offset.
func (m *Manager) CountActivity(ctx context.Context, q ActivityQuery) (int, error) {
	sq, err := q.storeQuery()
	if err != nil {
		return 0, opErr("count activity", err)
	}
	n, err := m.store.CountEvents(ctx, store.EventQuery{Filter: sq.Filter})
	if err != nil {
		return 0, opErr("count activity", storeQueryErr(err))
	}
	return n, nil
}
