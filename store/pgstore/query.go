package pgstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gousers/users"
)

// A UserQuery becomes one SELECT on users_users AS u: its WHERE built from
// the query's fields, its ORDER BY from Sort, then LIMIT/OFFSET. Every
// value is a bound parameter; column names come from the fixed tables
// below, never from the query.
//
// How the contract's comparisons map to PostgreSQL:
//   - Byte-exact comparisons use =, strpos() (substring) and LIKE with the
//     value's % _ and \ escaped (prefix and suffix); the columns are
//     COLLATE "C", so LIKE compares bytes and a prefix can use a btree.
//   - The _i operators and Search compare lower-cased copies of the columns
//     (…_lower), which the store writes with strings.ToLower, against the
//     lower-cased value: lower() would depend on the database's locale.
//   - A field without a value (a NULL role, an empty string) fails every
//     positive comparison: each positive condition requires col <> '' and
//     may be NULL (a NULL role), which WHERE, AND and OR treat as false; a
//     negative condition is NOT coalesce(positive, false).
//   - Strings sort bytewise (COLLATE "C"); a NULL role sorts first
//     ascending (NULLS FIRST) and last descending (NULLS LAST).

type column struct {
	name, lower string
}

var columns = map[users.UserField]column{
	users.FieldID:        {"u.id", "u.id_lower"},
	users.FieldEmail:     {"u.email", "u.email_lower"},
	users.FieldFirstName: {"u.first_name", "u.first_name_lower"},
	users.FieldLastName:  {"u.last_name", "u.last_name_lower"},
	users.FieldStatus:    {"u.status", "u.status_lower"},
	users.FieldRole:      {"u.role", "u.role_lower"},
}

var sortColumns = map[users.UserField]string{
	users.FieldID:        "u.id",
	users.FieldEmail:     "u.email",
	users.FieldFirstName: "u.first_name",
	users.FieldLastName:  "u.last_name",
	users.FieldStatus:    "u.status",
	users.FieldRole:      "u.role",
	users.FieldCreatedAt: "u.created_at",
	users.FieldUpdatedAt: "u.updated_at",
}

// errQuery marks a query the store cannot run (an unknown field or
// operator).
var errQuery = errors.New("invalid user query")

// sqlBuilder accumulates SQL and its arguments ($1, $2…).
type sqlBuilder struct {
	sb   strings.Builder
	args []any
}

func (b *sqlBuilder) w(s ...string) {
	for _, x := range s {
		b.sb.WriteString(x)
	}
}

// arg writes a placeholder for v.
func (b *sqlBuilder) arg(v any) {
	b.args = append(b.args, v)
	b.sb.WriteString("$" + strconv.Itoa(len(b.args)))
}

// where writes q's WHERE clause, keyword included; nothing when q selects
// every user.
func (b *sqlBuilder) where(q users.UserQuery) error {
	and := " WHERE "
	next := func() {
		b.w(and)
		and = " AND "
	}
	switch {
	case q.NoRole:
		next()
		b.w("u.role IS NULL")
	case q.Role != nil:
		next()
		b.w("u.role = ")
		b.arg(*q.Role)
	}
	if len(q.IDs) > 0 {
		next()
		b.w("u.id = ANY(")
		b.arg(q.IDs)
		b.w(")")
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
		b.w("(strpos(u.email_lower, ")
		b.arg(term)
		b.w(") > 0 OR strpos(u.first_name_lower, ")
		b.arg(term)
		b.w(") > 0 OR strpos(u.last_name_lower, ")
		b.arg(term)
		b.w(") > 0)")
	}
	return nil
}

// filter writes flt as a condition.
func (b *sqlBuilder) filter(flt *users.UserFilter) error {
	if flt.Field == "" {
		group, op, empty := flt.And, " AND ", "true"
		if flt.Or != nil {
			group, op, empty = flt.Or, " OR ", "false"
		}
		if len(group) == 0 {
			b.w(empty)
			return nil
		}
		b.w("(")
		for i, c := range group {
			if c == nil {
				return fmt.Errorf("%w: nil condition in a filter group", errQuery)
			}
			if i > 0 {
				b.w(op)
			}
			if err := b.filter(c); err != nil {
				return err
			}
		}
		b.w(")")
		return nil
	}
	col, ok := columns[flt.Field]
	if !ok {
		return fmt.Errorf("%w: %q is not a field a filter can compare", errQuery, flt.Field)
	}
	switch flt.Op {
	case users.OpNull, users.OpEmpty:
		b.w("coalesce(", col.name, ", '') = ''")
		return nil
	case users.OpNNull, users.OpNEmpty:
		b.w("coalesce(", col.name, ", '') <> ''")
		return nil
	}
	neg, pos, err := positive(flt.Op)
	if err != nil {
		return err
	}
	if neg {
		b.w("NOT coalesce(")
	}
	b.compare(col, pos, flt)
	if neg {
		b.w(", false)")
	}
	return nil
}

// positive returns the positive operator of op, and whether op is its
// negation.
func positive(op users.FilterOp) (neg bool, pos users.FilterOp, err error) {
	switch op {
	case users.OpEq, users.OpContains, users.OpIContains, users.OpStartsWith, users.OpIStartsWith,
		users.OpEndsWith, users.OpIEndsWith, users.OpIn:
		return false, op, nil
	case users.OpNeq:
		return true, users.OpEq, nil
	case users.OpNContains:
		return true, users.OpContains, nil
	case users.OpNIContains:
		return true, users.OpIContains, nil
	case users.OpNStartsWith:
		return true, users.OpStartsWith, nil
	case users.OpNIStartsWith:
		return true, users.OpIStartsWith, nil
	case users.OpNEndsWith:
		return true, users.OpEndsWith, nil
	case users.OpNIEndsWith:
		return true, users.OpIEndsWith, nil
	case users.OpNin:
		return true, users.OpIn, nil
	}
	return false, "", fmt.Errorf("%w: unknown filter operator %q", errQuery, op)
}

// compare writes the positive comparison op of col with flt's value: false
// (or NULL) for a field without a value.
func (b *sqlBuilder) compare(col column, op users.FilterOp, flt *users.UserFilter) {
	v := flt.Value
	switch op {
	case users.OpEq:
		if v == "" {
			b.w("false")
			return
		}
		b.w(col.name, " = ")
		b.arg(v)
	case users.OpIn:
		var vs []string
		for _, x := range flt.Values {
			if x != "" {
				vs = append(vs, x)
			}
		}
		if len(vs) == 0 {
			b.w("false")
			return
		}
		b.w(col.name, " = ANY(")
		b.arg(vs)
		b.w(")")
	case users.OpContains:
		b.w("(", col.name, " <> '' AND strpos(", col.name, ", ")
		b.arg(v)
		b.w(") > 0)")
	case users.OpIContains:
		b.w("(", col.name, " <> '' AND strpos(", col.lower, ", ")
		b.arg(strings.ToLower(v))
		b.w(") > 0)")
	case users.OpStartsWith, users.OpEndsWith, users.OpIStartsWith, users.OpIEndsWith:
		target := col.name
		if op == users.OpIStartsWith || op == users.OpIEndsWith {
			target, v = col.lower, strings.ToLower(v)
		}
		pattern := likeEscape(v) + "%"
		if op == users.OpEndsWith || op == users.OpIEndsWith {
			pattern = "%" + likeEscape(v)
		}
		b.w("(", col.name, " <> '' AND ", target, " LIKE ")
		b.arg(pattern)
		b.w(")")
	}
}

// likeEscape makes s match itself in a LIKE pattern with the default
// escape character, backslash.
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace

// order writes q's ORDER BY, id ascending last.
func (b *sqlBuilder) order(sorts []users.UserSort) error {
	if len(sorts) == 0 {
		b.w(" ORDER BY u.created_at, u.id")
		return nil
	}
	b.w(" ORDER BY ")
	for i, s := range sorts {
		col, ok := sortColumns[s.Field]
		if !ok {
			return fmt.Errorf("%w: %q is not a field to sort on", errQuery, s.Field)
		}
		if i > 0 {
			b.w(", ")
		}
		b.w(col)
		switch {
		case s.Field == users.FieldRole && s.Desc:
			b.w(" DESC NULLS LAST")
		case s.Field == users.FieldRole:
			b.w(" NULLS FIRST")
		case s.Desc:
			b.w(" DESC")
		}
		if s.Field == users.FieldID {
			return nil // unique: nothing after it matters
		}
	}
	b.w(", u.id")
	return nil
}

// listUsersSQL is the statement ListUsers runs for q (its tables
// qualified by qual), and its arguments.
func listUsersSQL(qual func(string) string, q users.UserQuery) (string, []any, error) {
	var b sqlBuilder
	b.w(qual(`SELECT ` + userCols + ` FROM users_users u`))
	if err := b.where(q); err != nil {
		return "", nil, err
	}
	if err := b.order(q.Sort); err != nil {
		return "", nil, err
	}
	if q.Limit > 0 {
		b.w(" LIMIT ")
		b.arg(q.Limit)
	}
	if q.Offset > 0 {
		b.w(" OFFSET ")
		b.arg(q.Offset)
	}
	return b.sb.String(), b.args, nil
}

// countUsersSQL is the statement CountUsers runs for q, and its arguments.
func countUsersSQL(qual func(string) string, q users.UserQuery) (string, []any, error) {
	var b sqlBuilder
	b.w(qual(`SELECT count(*) FROM users_users u`))
	if err := b.where(q); err != nil {
		return "", nil, err
	}
	return b.sb.String(), b.args, nil
}
