package memstore

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/gousers/users"
)

// compileQuery returns the selection of q (every field but Sort, Limit and
// Offset) as a predicate; an error for a filter naming an unknown field or
// operator.
func compileQuery(q users.UserQuery) (func(*users.UserRecord) bool, error) {
	var preds []func(*users.UserRecord) bool
	switch {
	case q.NoRole:
		preds = append(preds, func(u *users.UserRecord) bool { return u.Role == nil })
	case q.Role != nil:
		role := *q.Role
		preds = append(preds, func(u *users.UserRecord) bool { return u.Role != nil && *u.Role == role })
	}
	if len(q.IDs) > 0 {
		ids := make(map[string]bool, len(q.IDs))
		for _, id := range q.IDs {
			ids[id] = true
		}
		preds = append(preds, func(u *users.UserRecord) bool { return ids[u.ID] })
	}
	if q.Filter != nil {
		p, err := compileFilter(q.Filter)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	if q.Search != "" {
		term := strings.ToLower(q.Search)
		preds = append(preds, func(u *users.UserRecord) bool {
			return strings.Contains(strings.ToLower(u.Email), term) ||
				strings.Contains(strings.ToLower(u.FirstName), term) ||
				strings.Contains(strings.ToLower(u.LastName), term)
		})
	}
	return func(u *users.UserRecord) bool {
		for _, p := range preds {
			if !p(u) {
				return false
			}
		}
		return true
	}, nil
}

// stringField returns the getter of a filterable field: the value, and
// whether the user has one (a null role or an empty string has none).
func stringField(f users.UserField) (func(*users.UserRecord) string, error) {
	switch f {
	case users.FieldID:
		return func(u *users.UserRecord) string { return u.ID }, nil
	case users.FieldEmail:
		return func(u *users.UserRecord) string { return u.Email }, nil
	case users.FieldFirstName:
		return func(u *users.UserRecord) string { return u.FirstName }, nil
	case users.FieldLastName:
		return func(u *users.UserRecord) string { return u.LastName }, nil
	case users.FieldStatus:
		return func(u *users.UserRecord) string { return string(u.Status) }, nil
	case users.FieldRole:
		return func(u *users.UserRecord) string {
			if u.Role == nil {
				return ""
			}
			return *u.Role
		}, nil
	}
	return nil, fmt.Errorf("filter: %q is not a field a filter can compare", f)
}

// compileFilter returns flt as a predicate.
func compileFilter(flt *users.UserFilter) (func(*users.UserRecord) bool, error) {
	if flt.Field == "" {
		group := flt.And
		isOr := flt.Or != nil
		if isOr {
			group = flt.Or
		}
		kids := make([]func(*users.UserRecord) bool, len(group))
		for i, c := range group {
			if c == nil {
				return nil, fmt.Errorf("filter: nil condition in a group")
			}
			p, err := compileFilter(c)
			if err != nil {
				return nil, err
			}
			kids[i] = p
		}
		return func(u *users.UserRecord) bool {
			for _, k := range kids {
				if k(u) == isOr {
					return isOr
				}
			}
			return !isOr
		}, nil
	}
	get, err := stringField(flt.Field)
	if err != nil {
		return nil, err
	}
	// match is the positive comparison on a field that has a value; neg
	// says the operator is its negation.
	var (
		match func(v string) bool
		neg   bool
		x     = flt.Value
		lx    = strings.ToLower(flt.Value)
	)
	switch flt.Op {
	case users.OpEq, users.OpNeq:
		match, neg = func(v string) bool { return v == x }, flt.Op == users.OpNeq
	case users.OpContains, users.OpNContains:
		match, neg = func(v string) bool { return strings.Contains(v, x) }, flt.Op == users.OpNContains
	case users.OpIContains, users.OpNIContains:
		match, neg = func(v string) bool { return strings.Contains(strings.ToLower(v), lx) }, flt.Op == users.OpNIContains
	case users.OpStartsWith, users.OpNStartsWith:
		match, neg = func(v string) bool { return strings.HasPrefix(v, x) }, flt.Op == users.OpNStartsWith
	case users.OpIStartsWith, users.OpNIStartsWith:
		match, neg = func(v string) bool { return strings.HasPrefix(strings.ToLower(v), lx) }, flt.Op == users.OpNIStartsWith
	case users.OpEndsWith, users.OpNEndsWith:
		match, neg = func(v string) bool { return strings.HasSuffix(v, x) }, flt.Op == users.OpNEndsWith
	case users.OpIEndsWith, users.OpNIEndsWith:
		match, neg = func(v string) bool { return strings.HasSuffix(strings.ToLower(v), lx) }, flt.Op == users.OpNIEndsWith
	case users.OpIn, users.OpNin:
		set := make(map[string]bool, len(flt.Values))
		for _, v := range flt.Values {
			set[v] = true
		}
		match, neg = func(v string) bool { return set[v] }, flt.Op == users.OpNin
	case users.OpNull, users.OpEmpty:
		return func(u *users.UserRecord) bool { return get(u) == "" }, nil
	case users.OpNNull, users.OpNEmpty:
		return func(u *users.UserRecord) bool { return get(u) != "" }, nil
	default:
		return nil, fmt.Errorf("filter: unknown operator %q", flt.Op)
	}
	// A field without a value fails every positive comparison.
	return func(u *users.UserRecord) bool {
		v := get(u)
		return (v != "" && match(v)) != neg
	}, nil
}

// compileSort returns the order of sorts, then ID.
func compileSort(sorts []users.UserSort) (func(a, b *users.UserRecord) int, error) {
	if len(sorts) == 0 {
		sorts = []users.UserSort{{Field: users.FieldCreatedAt}}
	}
	keys := make([]func(a, b *users.UserRecord) int, len(sorts))
	for i, s := range sorts {
		var key func(a, b *users.UserRecord) int
		switch s.Field {
		case users.FieldCreatedAt:
			key = func(a, b *users.UserRecord) int { return a.CreatedAt.Compare(b.CreatedAt) }
		case users.FieldUpdatedAt:
			key = func(a, b *users.UserRecord) int { return a.UpdatedAt.Compare(b.UpdatedAt) }
		case users.FieldRole:
			// A null role sorts before every role.
			key = func(a, b *users.UserRecord) int {
				if a.Role == nil || b.Role == nil {
					return cmp.Compare(boolInt(a.Role != nil), boolInt(b.Role != nil))
				}
				return strings.Compare(*a.Role, *b.Role)
			}
		default:
			get, err := stringField(s.Field)
			if err != nil {
				return nil, fmt.Errorf("sort: %q is not a field to sort on", s.Field)
			}
			key = func(a, b *users.UserRecord) int { return strings.Compare(get(a), get(b)) }
		}
		if s.Desc {
			asc := key
			key = func(a, b *users.UserRecord) int { return -asc(a, b) }
		}
		keys[i] = key
	}
	return func(a, b *users.UserRecord) int {
		for _, k := range keys {
			if c := k(a, b); c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	}, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
