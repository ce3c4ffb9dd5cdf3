package sqlitestore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gousers/users"
)

// A UserQuery becomes one SELECT: its WHERE built from the query's fields,
// its ORDER BY from Sort, then LIMIT/OFFSET. Every value is a bound
// parameter; column names come from the fixed table below, never from the
// query.
//
// How the contract's comparisons map to SQLite:
//   - Byte-exact comparisons use =, instr() (substring) and GLOB (prefix and
//     suffix, with the pattern's wildcard characters escaped). LIKE is not
//     used: it folds ASCII case.
//   - The _i operators and Search compare lower-cased copies of the columns
//     (…_lower), which the store writes with strings.ToLower, against the
//     lower-cased value: SQLite's lower() folds only ASCII.
//   - A field without a value (a NULL role, an empty string) fails every
//     positive comparison: each positive condition requires col <> '' and
//     may be NULL (a NULL role), which WHERE, AND and OR treat as false; a
//     negative condition is NOT coalesce(positive, 0), which a NULL cannot
//     upset.
//   - Strings sort with the BINARY collation (byte order); SQLite puts NULL
//     before every value ascending and after every value descending, as the
//     contract wants for a role.

// column is how a filter field is stored.
type column struct {
	name, lower string
}

var columns = map[users.UserField]column{
	users.FieldID:        {"id", "id_lower"},
	users.FieldEmail:     {"email", "email_lower"},
	users.FieldFirstName: {"first_name", "first_name_lower"},
	users.FieldLastName:  {"last_name", "last_name_lower"},
	users.FieldStatus:    {"status", "status_lower"},
	users.FieldRole:      {"role", "role_lower"},
}

var sortColumns = map[users.UserField]string{
	users.FieldID:        "id",
	users.FieldEmail:     "email",
	users.FieldFirstName: "first_name",
	users.FieldLastName:  "last_name",
	users.FieldStatus:    "status",
	users.FieldRole:      "role",
	users.FieldCreatedAt: "created_at",
	users.FieldUpdatedAt: "updated_at",
}

// errQuery marks a query the store cannot run (an unknown field or
// operator).
var errQuery = errors.New("invalid user query")

// sqlBuilder accumulates a WHERE clause and its arguments.
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
	b.sb.WriteString("?")
	b.args = append(b.args, v)
}

// userWhere builds the WHERE clause (without the keyword; "1" for none)
// of q.
func userWhere(q users.UserQuery) (string, []any, error) {
	var b sqlBuilder
	and := func() {
		if b.sb.Len() > 0 {
			b.w(" AND ")
		}
	}
	switch {
	case q.NoRole:
		and()
		b.w("role IS NULL")
	case q.Role != nil:
		and()
		b.w("role = ")
		b.arg(*q.Role)
	}
	if len(q.IDs) > 0 {
		and()
		b.w("id IN (SELECT value FROM json_each(")
		b.arg(jsonArray(q.IDs))
		b.w("))")
	}
	if q.Filter != nil {
		and()
		if err := b.filter(q.Filter); err != nil {
			return "", nil, err
		}
	}
	if q.Search != "" {
		and()
		term := strings.ToLower(q.Search)
		b.w("(instr(email_lower, ")
		b.arg(term)
		b.w(") > 0 OR instr(first_name_lower, ")
		b.arg(term)
		b.w(") > 0 OR instr(last_name_lower, ")
		b.arg(term)
		b.w(") > 0)")
	}
	if b.sb.Len() == 0 {
		return "1", nil, nil
	}
	return b.sb.String(), b.args, nil
}

// filter writes flt as a condition.
func (b *sqlBuilder) filter(flt *users.UserFilter) error {
	if flt.Field == "" {
		group, op, empty := flt.And, " AND ", "1"
		if flt.Or != nil {
			group, op, empty = flt.Or, " OR ", "0"
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
		b.w(", 0)")
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
			b.w("0")
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
			b.w("0")
			return
		}
		b.w(col.name, " IN (SELECT value FROM json_each(")
		b.arg(jsonArray(vs))
		b.w("))")
	case users.OpContains:
		b.w("(", col.name, " <> '' AND instr(", col.name, ", ")
		b.arg(v)
		b.w(") > 0)")
	case users.OpIContains:
		b.w("(", col.name, " <> '' AND instr(", col.lower, ", ")
		b.arg(strings.ToLower(v))
		b.w(") > 0)")
	case users.OpStartsWith, users.OpEndsWith, users.OpIStartsWith, users.OpIEndsWith:
		target := col.name
		if op == users.OpIStartsWith || op == users.OpIEndsWith {
			target, v = col.lower, strings.ToLower(v)
		}
		pattern := globEscape(v) + "*"
		if op == users.OpEndsWith || op == users.OpIEndsWith {
			pattern = "*" + globEscape(v)
		}
		b.w("(", col.name, " <> '' AND ", target, " GLOB ")
		b.arg(pattern)
		b.w(")")
	}
}

// globEscape makes s match itself in a GLOB pattern: each of * ? [ is put
// in a bracket expression of its own.
func globEscape(s string) string {
	if !strings.ContainsAny(s, "*?[") {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[':
			sb.WriteByte('[')
			sb.WriteRune(r)
			sb.WriteByte(']')
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// userOrder builds the ORDER BY list of sorts, id ascending last.
func userOrder(sorts []users.UserSort) (string, error) {
	if len(sorts) == 0 {
		return "created_at, id", nil
	}
	var parts []string
	for _, s := range sorts {
		col, ok := sortColumns[s.Field]
		if !ok {
			return "", fmt.Errorf("%w: %q is not a field to sort on", errQuery, s.Field)
		}
		if s.Desc {
			col += " DESC"
		}
		parts = append(parts, col)
		if s.Field == users.FieldID {
			break // unique: nothing after it matters
		}
	}
	if sorts[len(parts)-1].Field != users.FieldID {
		parts = append(parts, "id")
	}
	return strings.Join(parts, ", "), nil
}

// listUsersSQL is the statement ListUsers runs for q, and its arguments.
func listUsersSQL(q users.UserQuery) (string, []any, error) {
	where, args, err := userWhere(q)
	if err != nil {
		return "", nil, err
	}
	order, err := userOrder(q.Sort)
	if err != nil {
		return "", nil, err
	}
	query := `SELECT ` + userCols + ` FROM users_users WHERE ` + where + ` ORDER BY ` + order
	if q.Limit > 0 || q.Offset > 0 {
		limit := -1 // no cap
		if q.Limit > 0 {
			limit = q.Limit
		}
		query += ` LIMIT ? OFFSET ?`
		args = append(args, limit, max(q.Offset, 0))
	}
	return query, args, nil
}

// countUsersSQL is the statement CountUsers runs for q, and its arguments.
func countUsersSQL(q users.UserQuery) (string, []any, error) {
	where, args, err := userWhere(q)
	if err != nil {
		return "", nil, err
	}
	return `SELECT count(*) FROM users_users WHERE ` + where, args, nil
}
