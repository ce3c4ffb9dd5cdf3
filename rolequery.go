package users

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gousers/users/internal/echo"
	"github.com/gousers/users/store"
)

// This file holds the listing of roles: Directus's query parameters over
// the roles, read by the one filter parser (as ParseFilter reads) and run by the
// Manager over the store's roles, which are few.

// RoleQuery selects roles for FindRoles and CountRoles. The zero value
// selects every role; every field given must hold.
type RoleQuery struct {
	// Filter, when not empty, is a filter in Directus's JSON syntax over
	// the fields of a role — id, name, description — that must hold: the
	// grammar, operators, limits and errors are those of ParseFilter, with
	// these fields in place of a user's; _regex is refused.
	Filter []byte
	// Search, when not empty, selects the roles whose name or description
	// contains it, case-insensitively. At most 1 KiB of valid UTF-8.
	Search string
	// Sort orders the result: id, name, description, admin_access, each
	// with "-" before it for descending. Strings sort by their bytes,
	// false before true; id ascending breaks ties. Empty: name, then id.
	Sort []string
	// Limit caps the result (0: no cap); Offset skips that many.
	Limit, Offset int
}

// roleSortFields are the fields RoleQuery.Sort takes.
var roleSortFields = []store.Field{store.FieldID, roleFieldName, roleFieldDescription, roleFieldAdminAccess}

// FindRoles lists the roles q selects, in its order and page. A query that
// cannot run — a negative limit or offset, an unknown sort field, a search
// over 1 KiB, a filter with _regex — is a *ValidationError matching
// ErrInvalidQuery.
func (m *Manager) FindRoles(ctx context.Context, q RoleQuery) ([]*Role, error) {
	rs, err := m.selectRoles(ctx, q)
	if err != nil {
		return nil, opErr("find roles", err)
	}
	rs = rs[min(q.Offset, len(rs)):]
	if q.Limit > 0 && q.Limit < len(rs) {
		rs = rs[:q.Limit]
	}
	return rs, nil
}

// CountRoles returns how many roles q selects, ignoring its Sort, Limit
// and Offset (Directus's filter_count; RoleQuery{} gives total_count).
// Its errors are those of FindRoles.
func (m *Manager) CountRoles(ctx context.Context, q RoleQuery) (int, error) {
	q.Sort, q.Limit, q.Offset = nil, 0, 0
	rs, err := m.selectRoles(ctx, q)
	if err != nil {
		return 0, opErr("count roles", err)
	}
	return len(rs), nil
}

// selectRoles checks q and returns the roles its filter and search
// select, in its order (its page is the caller's).
func (m *Manager) selectRoles(ctx context.Context, q RoleQuery) ([]*Role, error) {
	order, err := q.check()
	if err != nil {
		return nil, err
	}
	all, err := m.store.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	tree, err := parseRoleFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	term := strings.ToLower(q.Search)
	out := make([]*Role, 0, len(all))
	for _, r := range all {
		if tree != nil && !matchRecord(tree, func(f store.Field) string { return roleField(r, f) }) {
			continue
		}
		if term != "" && !strings.Contains(strings.ToLower(r.Name), term) && !strings.Contains(strings.ToLower(r.Description), term) {
			continue
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, order)
	return out, nil
}

// check validates q and returns its order.
func (q RoleQuery) check() (func(a, b *Role) int, error) {
	switch {
	case q.Limit < 0:
		return nil, queryError("limit", "must not be negative")
	case q.Offset < 0:
		return nil, queryError("offset", "must not be negative")
	case len(q.Search) > maxSearchBytes:
		return nil, queryError("search", "must be at most %d bytes", maxSearchBytes)
	case !utf8.ValidString(q.Search) || strings.IndexByte(q.Search, 0) >= 0:
		return nil, queryError("search", "must be valid UTF-8 without NUL characters")
	}
	sorts := []store.Sort{{Field: roleFieldName}}
	if len(q.Sort) > 0 {
		sorts = nil
	}
	for _, it := range q.Sort {
		s := store.Sort{Field: store.Field(strings.TrimPrefix(it, "-")), Desc: strings.HasPrefix(it, "-")}
		switch {
		case slices.Contains(roleSortFields, s.Field):
			sorts = append(sorts, s)
		case strings.Contains(it, "."):
			return nil, queryError("sort", "sorting on related collections (%q) is not supported", echo.Cut(it))
		default:
			return nil, queryError("sort", "unknown field %q (sorts take id, name, description, admin_access, each with - for descending)", echo.Cut(it))
		}
	}
	return func(a, b *Role) int {
		for _, s := range sorts {
			var c int
			if s.Field == roleFieldAdminAccess {
				c = cmp.Compare(boolRank(a.AdminAccess), boolRank(b.AdminAccess))
			} else {
				c = strings.Compare(roleField(a, s.Field), roleField(b, s.Field))
			}
			if s.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	}, nil
}

// parseRoleFilter parses a RoleQuery's filter document (nil for none).
func parseRoleFilter(doc []byte) (*store.Filter, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	tree, _, err := parseFilter(doc, roleFilterSchema)
	if err != nil {
		return nil, &ValidationError{Field: "filter", Reason: err.Error(), Err: ErrInvalidQuery}
	}
	if tree != nil && hasOp(tree, store.OpRegex) {
		return nil, queryError("filter", "operator _regex is not supported when listing roles")
	}
	return tree, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// roleField is the text of a role's field for a filter or a sort.
func roleField(r *Role, f store.Field) string {
	switch f {
	case store.FieldID:
		return r.ID
	case roleFieldName:
		return r.Name
	case roleFieldDescription:
		return r.Description
	}
	return ""
}

// matchRecord evaluates a filter tree over a record whose fields get
// returns, with the rules of store.Filter: a field without a value (empty)
// fails every positive comparison and passes every negative one; the _i
// operators compare strings.ToLower of both sides. The parser has checked
// every field and operator (an operator it did not expect holds for none).
func matchRecord(t *store.Filter, get func(store.Field) string) bool {
	switch {
	case t.Or != nil:
		return slices.ContainsFunc(t.Or, func(k *store.Filter) bool { return matchRecord(k, get) })
	case t.Field == "":
		for _, k := range t.And {
			if !matchRecord(k, get) {
				return false
			}
		}
		return true
	}
	v, x := get(t.Field), t.Value
	lv, lx := strings.ToLower(v), strings.ToLower(x)
	var hit, neg bool
	switch t.Op {
	case store.OpNull, store.OpEmpty:
		return v == ""
	case store.OpNNull, store.OpNEmpty:
		return v != ""
	case store.OpEq, store.OpNeq:
		hit, neg = v == x, t.Op == store.OpNeq
	case store.OpContains, store.OpNContains:
		hit, neg = strings.Contains(v, x), t.Op == store.OpNContains
	case store.OpIContains, store.OpNIContains:
		hit, neg = strings.Contains(lv, lx), t.Op == store.OpNIContains
	case store.OpStartsWith, store.OpNStartsWith:
		hit, neg = strings.HasPrefix(v, x), t.Op == store.OpNStartsWith
	case store.OpIStartsWith, store.OpNIStartsWith:
		hit, neg = strings.HasPrefix(lv, lx), t.Op == store.OpNIStartsWith
	case store.OpEndsWith, store.OpNEndsWith:
		hit, neg = strings.HasSuffix(v, x), t.Op == store.OpNEndsWith
	case store.OpIEndsWith, store.OpNIEndsWith:
		hit, neg = strings.HasSuffix(lv, lx), t.Op == store.OpNIEndsWith
	case store.OpIn, store.OpNin:
		hit, neg = slices.Contains(t.Values, v), t.Op == store.OpNin
	default:
		return false
	}
	return (v != "" && hit) != neg
}
