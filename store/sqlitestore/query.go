package sqlitestore

import (
	"strconv"
	"strings"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/userquery"
)

// A UserQuery becomes one SELECT: its WHERE built from the query's fields,
// its ORDER BY from Sort, then LIMIT/OFFSET (see package userquery for the
// rules the SQL stores share).
//
// How the contract's comparisons map to SQLite:
//   - Byte-exact comparisons use =, instr() (substring) and GLOB (prefix and
//     suffix, with the pattern's wildcard characters escaped). LIKE is not
//     used: it folds ASCII case.
//   - The _i operators and Search compare the lower-cased copies: SQLite's
//     lower() folds only ASCII.
//   - A list of values is one JSON array parameter, read with json_each.
//   - Strings sort with the BINARY collation (byte order); SQLite puts NULL
//     before every value ascending and after every value descending, as the
//     contract wants for a role.
var dialect = &userquery.Dialect{
	Placeholder: func(int) string { return "?" },
	True:        "1",
	False:       "0",
	In:          func(col, list string) string { return col + " IN (SELECT value FROM json_each(" + list + "))" },
	ListArg:     func(values []string) any { return jsonArray(values) },
	Contains:    func(col, sub string) string { return "instr(" + col + ", " + sub + ") > 0" },
	Match:       "GLOB",
	Any:         "*",
	Escape:      globEscape,
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

// listUsersSQL is the statement ListUsers runs for q, and its arguments.
func listUsersSQL(q store.UserQuery) (string, []any, error) {
	b := userquery.New(dialect)
	b.Write(`SELECT ` + userCols + ` FROM users_users`)
	if err := b.Where(q); err != nil {
		return "", nil, err
	}
	if err := b.OrderBy(q.Sort); err != nil {
		return "", nil, err
	}
	if q.Limit > 0 || q.Offset > 0 {
		limit := -1 // no cap
		if q.Limit > 0 {
			limit = q.Limit
		}
		// The limit is written into the statement, not bound: SQLite plans
		// with the value of a bound LIMIT and so prepares the statement
		// again each time that parameter is bound, on every call (a fifth
		// of a page's cost, by its CPU time). The few limits clients use
		// make few statements. OFFSET is bound: it does not re-prepare.
		b.Write(" LIMIT " + strconv.Itoa(limit) + " OFFSET ")
		b.Arg(max(q.Offset, 0))
	}
	return b.String(), b.Args(), nil
}

// countUsersSQL is the statement CountUsers runs for q, and its arguments.
func countUsersSQL(q store.UserQuery) (string, []any, error) {
	b := userquery.New(dialect)
	b.Write(`SELECT count(*) FROM users_users`)
	if err := b.Where(q); err != nil {
		return "", nil, err
	}
	return b.String(), b.Args(), nil
}
