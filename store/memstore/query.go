package memstore

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/gousers/users/store"
)

// compileQuery returns the selection of q (every field but Sort, Limit and
// Offset) as a predicate; an error for a filter naming an unknown field,
// and a *store.UnsupportedError for an operator it does not run (OpRegex,
// or one it does not know).
func compileQuery(q store.UserQuery) (func(*store.User) bool, error) {
	var preds []func(*store.User) bool
	switch {
	case q.NoRole:
		preds = append(preds, func(u *store.User) bool { return u.Role == nil })
	case q.Role != nil:
		role := *q.Role
		preds = append(preds, func(u *store.User) bool { return u.Role != nil && *u.Role == role })
	}
	if len(q.IDs) > 0 {
		ids := make(map[string]bool, len(q.IDs))
		for _, id := range q.IDs {
			ids[id] = true
		}
		preds = append(preds, func(u *store.User) bool { return ids[u.ID] })
	}
	if q.Filter != nil {
		p, err := compileFilter(q.Filter, stringField)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	if q.Search != "" {
		term := strings.ToLower(q.Search)
		preds = append(preds, func(u *store.User) bool {
			return strings.Contains(strings.ToLower(u.Email), term) ||
				strings.Contains(strings.ToLower(u.FirstName), term) ||
				strings.Contains(strings.ToLower(u.LastName), term)
		})
	}
	return func(u *store.User) bool {
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
func stringField(f store.Field) (func(*store.User) string, error) {
	switch f {
	case store.FieldID:
		return func(u *store.User) string { return u.ID }, nil
	case store.FieldEmail:
		return func(u *store.User) string { return u.Email }, nil
	case store.FieldFirstName:
		return func(u *store.User) string { return u.FirstName }, nil
	case store.FieldLastName:
		return func(u *store.User) string { return u.LastName }, nil
	case store.FieldStatus:
		return func(u *store.User) string { return string(u.Status) }, nil
	case store.FieldRole:
		return func(u *store.User) string {
			if u.Role == nil {
				return ""
			}
			return *u.Role
		}, nil
	}
	return nil, fmt.Errorf("filter: %q is not a field a filter can compare", f)
}

// compileFilter returns flt as a predicate over records of type T, whose
// fields field returns.
func compileFilter[T any](flt *store.Filter, field func(store.Field) (func(T) string, error)) (func(T) bool, error) {
	if flt.Field == "" {
		group := flt.And
		isOr := flt.Or != nil
		if isOr {
			group = flt.Or
		}
		kids := make([]func(T) bool, len(group))
		for i, c := range group {
			if c == nil {
				return nil, fmt.Errorf("filter: nil condition in a group")
			}
			p, err := compileFilter(c, field)
			if err != nil {
				return nil, err
			}
			kids[i] = p
		}
		return func(u T) bool {
			for _, k := range kids {
				if k(u) == isOr {
					return isOr
				}
			}
			return !isOr
		}, nil
	}
	get, err := field(flt.Field)
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
	case store.OpEq, store.OpNeq:
		match, neg = func(v string) bool { return v == x }, flt.Op == store.OpNeq
	case store.OpContains, store.OpNContains:
		match, neg = func(v string) bool { return strings.Contains(v, x) }, flt.Op == store.OpNContains
	case store.OpIContains, store.OpNIContains:
		match, neg = func(v string) bool { return strings.Contains(strings.ToLower(v), lx) }, flt.Op == store.OpNIContains
	case store.OpStartsWith, store.OpNStartsWith:
		match, neg = func(v string) bool { return strings.HasPrefix(v, x) }, flt.Op == store.OpNStartsWith
	case store.OpIStartsWith, store.OpNIStartsWith:
		match, neg = func(v string) bool { return strings.HasPrefix(strings.ToLower(v), lx) }, flt.Op == store.OpNIStartsWith
	case store.OpEndsWith, store.OpNEndsWith:
		match, neg = func(v string) bool { return strings.HasSuffix(v, x) }, flt.Op == store.OpNEndsWith
	case store.OpIEndsWith, store.OpNIEndsWith:
		match, neg = func(v string) bool { return strings.HasSuffix(strings.ToLower(v), lx) }, flt.Op == store.OpNIEndsWith
	case store.OpIn, store.OpNin:
		set := make(map[string]bool, len(flt.Values))
		for _, v := range flt.Values {
			set[v] = true
		}
		match, neg = func(v string) bool { return set[v] }, flt.Op == store.OpNin
	case store.OpNull, store.OpEmpty:
		return func(u T) bool { return get(u) == "" }, nil
	case store.OpNNull, store.OpNEmpty:
		return func(u T) bool { return get(u) != "" }, nil
	default:
		return nil, &store.UnsupportedError{Op: flt.Op}
	}
	// A field without a value fails every positive comparison.
	return func(u T) bool {
		v := get(u)
		return (v != "" && match(v)) != neg
	}, nil
}

// compileSort returns the order of sorts, then ID.
func compileSort(sorts []store.Sort) (func(a, b *store.User) int, error) {
	if len(sorts) == 0 {
		sorts = []store.Sort{{Field: store.FieldCreatedAt}}
	}
	keys := make([]func(a, b *store.User) int, len(sorts))
	for i, s := range sorts {
		var key func(a, b *store.User) int
		switch s.Field {
		case store.FieldCreatedAt:
			key = func(a, b *store.User) int { return a.CreatedAt.Compare(b.CreatedAt) }
		case store.FieldUpdatedAt:
			key = func(a, b *store.User) int { return a.UpdatedAt.Compare(b.UpdatedAt) }
		case store.FieldRole:
			// A null role sorts before every role.
			key = func(a, b *store.User) int {
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
			key = func(a, b *store.User) int { return strings.Compare(get(a), get(b)) }
		}
		if s.Desc {
			asc := key
			key = func(a, b *store.User) int { return -asc(a, b) }
		}
		keys[i] = key
	}
	return func(a, b *store.User) int {
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
