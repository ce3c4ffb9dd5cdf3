package mysqlstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gousers/users/store"
)

// where builds the WHERE clause of a store.UserQuery over users_users AS
// u, with its arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func (w *where) query(q store.UserQuery) error {
	switch {
	case q.NoRole:
		w.conds = append(w.conds, "u.role IS NULL")
	case q.Role != nil:
		w.conds = append(w.conds, "u.role = ?")
		w.args = append(w.args, *q.Role)
	}
	if len(q.IDs) > 0 {
		w.conds = append(w.conds, "u.id IN ("+placeholders(len(q.IDs))+")")
		w.args = append(w.args, anys(q.IDs)...)
	}
	if q.Search != "" {
		p := "%" + escapeLike(strings.ToLower(q.Search)) + "%"
		w.conds = append(w.conds, `(CAST(u.email_lc AS BINARY) LIKE CAST(? AS BINARY) ESCAPE '!'
	OR CAST(u.first_name_lc AS BINARY) LIKE CAST(? AS BINARY) ESCAPE '!'
	OR CAST(u.last_name_lc AS BINARY) LIKE CAST(? AS BINARY) ESCAPE '!')`)
		w.args = append(w.args, p, p, p)
	}
	if q.Filter != nil {
		c, args, err := filterSQL(filterColumns, q.Filter)
		if err != nil {
			return err
		}
		w.conds = append(w.conds, c)
		w.args = append(w.args, args...)
	}
	return nil
}

// column is how a filterable field is read: col is the column (exact,
// case-sensitive comparisons go through CAST(col AS BINARY), which neither
// folds case nor pads), lc its lower-cased form for the _i operators.
type column struct {
	col, lc string
}

// filterColumns are the fields a filter takes. Each but status has a
// lower-cased copy the store writes with strings.ToLower; a status is one
// of a few ASCII words, which the server lower-cases as Go does.
var filterColumns = map[store.Field]column{
	store.FieldID:        {"u.id", "u.id_lc"},
	store.FieldEmail:     {"u.email", "u.email_lc"},
	store.FieldFirstName: {"u.first_name", "u.first_name_lc"},
	store.FieldLastName:  {"u.last_name", "u.last_name_lc"},
	store.FieldStatus:    {"u.status", "LOWER(u.status)"},
	store.FieldRole:      {"u.role", "u.role_lc"},
}

// escapeLike escapes LIKE's wildcards in s, for ESCAPE '!'.
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// filterSQL is the condition of f, with its arguments.
//
// A field without a value (NULL or empty) fails every positive comparison and
// passes every negative one: a positive operator is "has a value AND
// matches", a negative one the NOT of its positive.
func filterSQL(cols map[store.Field]column, f *store.Filter) (string, []any, error) {
	n := 0
	if f.And != nil {
		n++
	}
	if f.Or != nil {
		n++
	}
	if f.Field != "" {
		n++
	}
	if n > 1 {
		return "", nil, errors.New("filter node sets more than one of And, Or and Field")
	}
	switch {
	case f.Field == "" && f.Or != nil:
		return group(cols, f.Or, " OR ", "FALSE")
	case f.Field == "":
		return group(cols, f.And, " AND ", "TRUE")
	}
	c, ok := cols[f.Field]
	if !ok {
		return "", nil, fmt.Errorf("filter on unknown field %q", f.Field)
	}
	if c.lc == "" {
		switch f.Op {
		case store.OpIContains, store.OpNIContains, store.OpIStartsWith, store.OpNIStartsWith, store.OpIEndsWith, store.OpNIEndsWith:
			return "", nil, &store.UnsupportedError{Op: f.Op}
		}
	}
	has := "(" + c.col + " IS NOT NULL AND LENGTH(" + c.col + ") > 0)" // LENGTH: bytes, no padding
	bin := func(col string) string { return "CAST(" + col + " AS BINARY)" }
	like := func(col, pattern string) (string, []any) {
		return "(" + has + " AND " + bin(col) + " LIKE CAST(? AS BINARY) ESCAPE '!')", []any{pattern}
	}
	var (
		pos  string
		args []any
		neg  bool
	)
	switch f.Op {
	case store.OpNull, store.OpEmpty:
		return "NOT " + has, nil, nil
	case store.OpNNull, store.OpNEmpty:
		return has, nil, nil
	case store.OpEq, store.OpNeq:
		pos, args = "("+has+" AND "+bin(c.col)+" = CAST(? AS BINARY))", []any{f.Value}
		neg = f.Op == store.OpNeq
	case store.OpIn, store.OpNin:
		if len(f.Values) == 0 {
			pos = "FALSE"
		} else {
			ph := strings.Repeat("CAST(? AS BINARY), ", len(f.Values)-1) + "CAST(? AS BINARY)"
			pos, args = "("+has+" AND "+bin(c.col)+" IN ("+ph+"))", anys(f.Values)
		}
		neg = f.Op == store.OpNin
	case store.OpContains, store.OpNContains:
		pos, args = like(c.col, "%"+escapeLike(f.Value)+"%")
		neg = f.Op == store.OpNContains
	case store.OpStartsWith, store.OpNStartsWith:
		pos, args = like(c.col, escapeLike(f.Value)+"%")
		neg = f.Op == store.OpNStartsWith
	case store.OpEndsWith, store.OpNEndsWith:
		pos, args = like(c.col, "%"+escapeLike(f.Value))
		neg = f.Op == store.OpNEndsWith
	case store.OpIContains, store.OpNIContains:
		pos, args = like(c.lc, "%"+escapeLike(strings.ToLower(f.Value))+"%")
		neg = f.Op == store.OpNIContains
	case store.OpIStartsWith, store.OpNIStartsWith:
		pos, args = like(c.lc, escapeLike(strings.ToLower(f.Value))+"%")
		neg = f.Op == store.OpNIStartsWith
	case store.OpIEndsWith, store.OpNIEndsWith:
		pos, args = like(c.lc, "%"+escapeLike(strings.ToLower(f.Value)))
		neg = f.Op == store.OpNIEndsWith
	default: // OpRegex (each database has its own), or one it does not know
		return "", nil, &store.UnsupportedError{Op: f.Op}
	}
	if neg {
		return "NOT " + pos, args, nil
	}
	return pos, args, nil
}

// group joins the conditions of children with op; empty is the value of
// an empty group.
func group(cols map[store.Field]column, children []*store.Filter, op, empty string) (string, []any, error) {
	if len(children) == 0 {
		return empty, nil, nil
	}
	parts := make([]string, 0, len(children))
	var args []any
	for _, ch := range children {
		if ch == nil {
			return "", nil, errors.New("nil filter node")
		}
		c, a, err := filterSQL(cols, ch)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, c)
		args = append(args, a...)
	}
	return "(" + strings.Join(parts, op) + ")", args, nil
}

// sortColumns are the expressions a sort orders by: strings by their
// bytes (code-point order, no padding), timestamps as stored. A NULL role
// sorts first ascending and last descending, as MySQL orders NULL.
var sortColumns = map[store.Field]string{
	store.FieldID:        "CAST(u.id AS BINARY)",
	store.FieldEmail:     "CAST(u.email AS BINARY)",
	store.FieldFirstName: "CAST(u.first_name AS BINARY)",
	store.FieldLastName:  "CAST(u.last_name AS BINARY)",
	store.FieldStatus:    "CAST(u.status AS BINARY)",
	store.FieldRole:      "CAST(u.role AS BINARY)",
	store.FieldCreatedAt: "u.created_at",
	store.FieldUpdatedAt: "u.updated_at",
}

// orderBy is the ORDER BY clause of sorts; ID ascending breaks ties.
// Without sorts, CreatedAt then ID, which the (created_at, id) index
// serves.
func orderBy(sorts []store.Sort) (string, error) {
	if len(sorts) == 0 {
		return " ORDER BY u.created_at, u.id", nil
	}
	parts := make([]string, 0, len(sorts)+1)
	for _, s := range sorts {
		col, ok := sortColumns[s.Field]
		if !ok {
			return "", fmt.Errorf("sort on unknown field %q", s.Field)
		}
		if s.Desc {
			col += " DESC"
		}
		parts = append(parts, col)
	}
	parts = append(parts, "CAST(u.id AS BINARY)")
	return " ORDER BY " + strings.Join(parts, ", "), nil
}
