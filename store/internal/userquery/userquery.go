// Package userquery turns a store.UserQuery into SQL for the stores whose
// dialects differ only in a few words: sqlitestore and pgstore. Each
// describes its SQL in a [Dialect]; a [Builder] writes the statement.
package userquery

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gousers/users/store"
)

// The statement reads the table users_users, whose columns a Dialect may
// qualify (u.id). Every value is a bound parameter; column names come from
// the fixed tables below, never from the query. The rules every dialect
// shares:
//   - Byte-exact comparisons use =, the dialect's substring test
//     (Dialect.Contains) and its pattern match (Dialect.Match, prefix and
//     suffix, with the value's wildcards escaped).
//   - The _i operators and Search compare lower-cased copies of the columns
//     (…_lower), which the stores write with strings.ToLower, against the
//     lower-cased value: the servers' lower() depends on their locale or
//     folds only ASCII.
//   - A field without a value (a NULL role, an empty string) fails every
//     positive comparison: each positive condition requires col <> '' and
//     may be NULL (a NULL role), which WHERE, AND and OR treat as false; a
//     negative condition is NOT coalesce(positive, false), which a NULL
//     cannot upset.
//   - ORDER BY ends with id ascending, unless a sort on id came before; a
//     NULL role sorts first ascending and last descending.

// ErrInvalid marks a query the store cannot run (an unknown field, a
// malformed node). An operator the stores do not run (OpRegex, or one they
// do not know) is a *store.UnsupportedError.
var ErrInvalid = errors.New("invalid user query")

// Dialect is what differs between the stores' SQL.
type Dialect struct {
	// Placeholder is the placeholder of the n-th argument, counted from 1
	// ("$1" or "?").
	Placeholder func(n int) string
	// Qualifier is written before every column name ("u." or "").
	Qualifier string
	// True and False are the boolean literals.
	True, False string
	// In is the condition that col is one of the list, the placeholder of
	// an argument that ListArg made of the values.
	In      func(col, list string) string
	ListArg func(values []string) any
	// Contains is the condition that col holds sub, a placeholder, as a
	// substring, comparing bytes.
	Contains func(col, sub string) string
	// Match is the operator that matches col with a pattern ("LIKE",
	// "GLOB") comparing bytes; Any is the pattern's wildcard for any run of
	// characters, and Escape makes a value match itself in a pattern.
	Match  string
	Any    string
	Escape func(string) string
	// NullsFirst writes NULLS FIRST after an ascending sort on role and
	// NULLS LAST after a descending one, for a server that does not sort
	// NULL first by itself.
	NullsFirst bool
}

// filterColumns are the columns of the fields a filter compares, without
// the Qualifier; each has a lower-cased copy named column_lower.
var filterColumns = map[store.Field]string{
	store.FieldID:        "id",
	store.FieldEmail:     "email",
	store.FieldFirstName: "first_name",
	store.FieldLastName:  "last_name",
	store.FieldStatus:    "status",
	store.FieldRole:      "role",
}

// sortColumns are the columns of the fields a query sorts on.
var sortColumns = map[store.Field]string{
	store.FieldID:        "id",
	store.FieldEmail:     "email",
	store.FieldFirstName: "first_name",
	store.FieldLastName:  "last_name",
	store.FieldStatus:    "status",
	store.FieldRole:      "role",
	store.FieldCreatedAt: "created_at",
	store.FieldUpdatedAt: "updated_at",
}

// Table describes the columns a query reads: the users' (Users) or the
// events' (Events).
type Table struct {
	// Filter and Sort map a field to its column.
	Filter, Sort map[store.Field]string
	// Lower says that every filter column has a lower-cased copy
	// (column_lower) for the _i operators; without them those operators
	// are unsupported.
	Lower bool
	// IntID says that the id column is an integer: a filter compares it
	// with _eq, _neq, _in and _nin only, and a value that is not a decimal
	// integer matches nothing.
	IntID bool
	// Nullable is the one sort field that may be NULL ("" for none).
	Nullable store.Field
	// DefaultSort is the ORDER BY columns when a query has no sort.
	DefaultSort []string
}

// Users is the users_users table.
var Users = &Table{Filter: filterColumns, Sort: sortColumns, Lower: true, Nullable: store.FieldRole,
	DefaultSort: []string{"created_at", "id"}}

// Events is the users_events table.
var Events = &Table{
	Filter: map[store.Field]string{
		store.FieldID: "id", store.FieldAction: "action", store.FieldFlow: "flow",
		store.FieldCollection: "collection", store.FieldItem: "item", store.FieldUser: "actor",
		store.FieldIP: "ip", store.FieldUserAgent: "user_agent", store.FieldOrigin: "origin",
		store.FieldRequestID: "request_id", store.FieldEmail: "email", store.FieldRole: "role",
	},
	Sort: map[store.Field]string{
		store.FieldID: "id", store.FieldTimestamp: "happened_at", store.FieldAction: "action",
		store.FieldFlow: "flow", store.FieldCollection: "collection", store.FieldItem: "item",
		store.FieldUser: "actor",
	},
	IntID:       true,
	DefaultSort: []string{"id"},
}

// Builder accumulates a statement and its arguments.
type Builder struct {
	d    *Dialect
	t    *Table
	sb   strings.Builder
	args []any
}

// New returns an empty Builder for d, over the users.
func New(d *Dialect) *Builder { return &Builder{d: d, t: Users} }

// NewFor returns an empty Builder for d, over t.
func NewFor(d *Dialect, t *Table) *Builder { return &Builder{d: d, t: t} }

// Filter writes flt as a condition.
func (b *Builder) Filter(flt *store.Filter) error { return b.filter(flt) }

// Write writes s.
func (b *Builder) Write(s ...string) {
	for _, x := range s {
		b.sb.WriteString(x)
	}
}

// Arg writes a placeholder for v.
func (b *Builder) Arg(v any) { b.Write(b.param(v)) }

// param adds v to the arguments and returns its placeholder.
func (b *Builder) param(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

// String is the statement written so far.
func (b *Builder) String() string { return b.sb.String() }

// Args are the arguments of the statement, in order.
func (b *Builder) Args() []any { return b.args }

// col is the qualified name of column.
func (b *Builder) col(column string) string { return b.d.Qualifier + column }

// Where writes q's WHERE clause, keyword included; nothing when q selects
// every user.
func (b *Builder) Where(q store.UserQuery) error {
	and := " WHERE "
	next := func() {
		b.Write(and)
		and = " AND "
	}
	switch {
	case q.NoRole:
		next()
		b.Write(b.col("role"), " IS NULL")
	case q.Role != nil:
		next()
		b.Write(b.col("role"), " = ")
		b.Arg(*q.Role)
	}
	if len(q.IDs) > 0 {
		next()
		b.Write(b.d.In(b.col("id"), b.param(b.d.ListArg(q.IDs))))
	}
	if q.Filter != nil {
		next()
		if err := b.filter(q.Filter); err != nil {
			return err
		}
	}
	if q.Search != "" {
		next()
		term := strings.ToLower(q.Search)
		b.Write("(", b.d.Contains(b.col("email_lower"), b.param(term)))
		b.Write(" OR ", b.d.Contains(b.col("first_name_lower"), b.param(term)))
		b.Write(" OR ", b.d.Contains(b.col("last_name_lower"), b.param(term)), ")")
	}
	return nil
}

// filter writes flt as a condition.
func (b *Builder) filter(flt *store.Filter) error {
	if flt.Field == "" {
		group, op, empty := flt.And, " AND ", b.d.True
		if flt.Or != nil {
			group, op, empty = flt.Or, " OR ", b.d.False
		}
		if len(group) == 0 {
			b.Write(empty)
			return nil
		}
		b.Write("(")
		for i, c := range group {
			if c == nil {
				return fmt.Errorf("%w: nil condition in a filter group", ErrInvalid)
			}
			if i > 0 {
				b.Write(op)
			}
			if err := b.filter(c); err != nil {
				return err
			}
		}
		b.Write(")")
		return nil
	}
	column, ok := b.t.Filter[flt.Field]
	if !ok {
		return fmt.Errorf("%w: %q is not a field a filter can compare", ErrInvalid, flt.Field)
	}
	if b.t.IntID && flt.Field == store.FieldID {
		return b.intID(column, flt)
	}
	switch flt.Op {
	case store.OpIContains, store.OpNIContains, store.OpIStartsWith, store.OpNIStartsWith, store.OpIEndsWith, store.OpNIEndsWith:
		if !b.t.Lower {
			return &store.UnsupportedError{Op: flt.Op}
		}
	}
	switch flt.Op {
	case store.OpNull, store.OpEmpty:
		b.Write("coalesce(", b.col(column), ", '') = ''")
		return nil
	case store.OpNNull, store.OpNEmpty:
		b.Write("coalesce(", b.col(column), ", '') <> ''")
		return nil
	}
	neg, pos, err := positive(flt.Op)
	if err != nil {
		return err
	}
	if neg {
		b.Write("NOT coalesce(")
	}
	b.compare(column, pos, flt)
	if neg {
		b.Write(", ", b.d.False, ")")
	}
	return nil
}

// intID writes the comparison of an integer id column: _eq, _neq, _in and
// _nin, a value that is not a decimal integer matching nothing.
func (b *Builder) intID(column string, flt *store.Filter) error {
	var values []string
	switch flt.Op {
	case store.OpEq, store.OpNeq:
		values = []string{flt.Value}
	case store.OpIn, store.OpNin:
		values = flt.Values
	default:
		return &store.UnsupportedError{Op: flt.Op}
	}
	var ids []int64
	for _, v := range values {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(n, 10) == v {
			ids = append(ids, n)
		}
	}
	neg := flt.Op == store.OpNeq || flt.Op == store.OpNin
	if neg {
		b.Write("NOT ")
	}
	if len(ids) == 0 {
		b.Write("(", b.d.False, ")")
		return nil
	}
	b.Write("(")
	for i, n := range ids {
		if i > 0 {
			b.Write(" OR ")
		}
		b.Write(b.col(column), " = ")
		b.Arg(n)
	}
	b.Write(")")
	return nil
}

// positive returns the positive operator of op, and whether op is its
// negation; a *store.UnsupportedError for an operator the stores do not
// run.
func positive(op store.Op) (neg bool, pos store.Op, err error) {
	switch op {
	case store.OpEq, store.OpContains, store.OpIContains, store.OpStartsWith, store.OpIStartsWith,
		store.OpEndsWith, store.OpIEndsWith, store.OpIn:
		return false, op, nil
	case store.OpNeq:
		return true, store.OpEq, nil
	case store.OpNContains:
		return true, store.OpContains, nil
	case store.OpNIContains:
		return true, store.OpIContains, nil
	case store.OpNStartsWith:
		return true, store.OpStartsWith, nil
	case store.OpNIStartsWith:
		return true, store.OpIStartsWith, nil
	case store.OpNEndsWith:
		return true, store.OpEndsWith, nil
	case store.OpNIEndsWith:
		return true, store.OpIEndsWith, nil
	case store.OpNin:
		return true, store.OpIn, nil
	}
	return false, "", &store.UnsupportedError{Op: op}
}

// compare writes the positive comparison op of column with flt's value:
// false (or NULL) for a field without a value.
func (b *Builder) compare(column string, op store.Op, flt *store.Filter) {
	name, lower := b.col(column), b.col(column+"_lower")
	v := flt.Value
	switch op {
	case store.OpEq:
		if v == "" {
			b.Write(b.d.False)
			return
		}
		b.Write(name, " = ")
		b.Arg(v)
	case store.OpIn:
		var vs []string
		for _, x := range flt.Values {
			if x != "" {
				vs = append(vs, x)
			}
		}
		if len(vs) == 0 {
			b.Write(b.d.False)
			return
		}
		b.Write(b.d.In(name, b.param(b.d.ListArg(vs))))
	case store.OpContains:
		b.Write("(", name, " <> '' AND ", b.d.Contains(name, b.param(v)), ")")
	case store.OpIContains:
		b.Write("(", name, " <> '' AND ", b.d.Contains(lower, b.param(strings.ToLower(v))), ")")
	case store.OpStartsWith, store.OpEndsWith, store.OpIStartsWith, store.OpIEndsWith:
		target := name
		if op == store.OpIStartsWith || op == store.OpIEndsWith {
			target, v = lower, strings.ToLower(v)
		}
		pattern := b.d.Escape(v) + b.d.Any
		if op == store.OpEndsWith || op == store.OpIEndsWith {
			pattern = b.d.Any + b.d.Escape(v)
		}
		b.Write("(", name, " <> '' AND ", target, " ", b.d.Match, " ")
		b.Arg(pattern)
		b.Write(")")
	}
}

// OrderBy writes the ORDER BY clause of sorts, id ascending last; without
// sorts, created_at then id.
func (b *Builder) OrderBy(sorts []store.Sort) error {
	if len(sorts) == 0 {
		b.Write(" ORDER BY ")
		for i, c := range b.t.DefaultSort {
			if i > 0 {
				b.Write(", ")
			}
			b.Write(b.col(c))
		}
		return nil
	}
	b.Write(" ORDER BY ")
	for i, s := range sorts {
		column, ok := b.t.Sort[s.Field]
		if !ok {
			return fmt.Errorf("%w: %q is not a field to sort on", ErrInvalid, s.Field)
		}
		if i > 0 {
			b.Write(", ")
		}
		b.Write(b.col(column))
		if s.Desc {
			b.Write(" DESC")
		}
		if s.Field == b.t.Nullable && b.d.NullsFirst {
			if s.Desc {
				b.Write(" NULLS LAST")
			} else {
				b.Write(" NULLS FIRST")
			}
		}
		if s.Field == store.FieldID {
			return nil // unique: nothing after it matters
		}
	}
	b.Write(", ", b.col("id"))
	return nil
}
