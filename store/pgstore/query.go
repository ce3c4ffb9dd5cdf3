package pgstore

import (
	"strconv"
	"strings"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/userquery"
)

// A UserQuery becomes one SELECT on users_users AS u: its WHERE built from
// the query's fields, its ORDER BY from Sort, then LIMIT/OFFSET (see
// package userquery for the rules the SQL stores share).
//
// How the contract's comparisons map to PostgreSQL:
//   - Byte-exact comparisons use =, strpos() (substring) and LIKE with the
//     value's % _ and \ escaped (prefix and suffix); the columns are
//     COLLATE "C", so LIKE compares bytes and a prefix can use a btree.
//   - The _i operators and Search compare the lower-cased copies: lower()
//     would depend on the database's locale.
//   - A list of values is one array parameter: col = ANY($n).
//   - Strings sort bytewise (COLLATE "C"); PostgreSQL sorts NULL last
//     ascending, so a role sort says NULLS FIRST (NULLS LAST descending).
var dialect = &userquery.Dialect{
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	Qualifier:   "u.",
	True:        "true",
	False:       "false",
	In:          func(col, list string) string { return col + " = ANY(" + list + ")" },
	ListArg:     func(values []string) any { return values },
	Contains:    func(col, sub string) string { return "strpos(" + col + ", " + sub + ") > 0" },
	Match:       "LIKE",
	Any:         "%",
	Escape:      likeEscape,
	NullsFirst:  true,
}

// likeEscape makes s match itself in a LIKE pattern with the default
// escape character, backslash.
var likeEscape = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace

// listUsersSQL is the statement ListUsers runs for q (its tables
// qualified by qual), and its arguments.
func listUsersSQL(qual func(string) string, q store.UserQuery) (string, []any, error) {
	b := userquery.New(dialect)
	b.Write(qual(`SELECT ` + userCols + ` FROM users_users u`))
	if err := b.Where(q); err != nil {
		return "", nil, err
	}
	if err := b.OrderBy(q.Sort); err != nil {
		return "", nil, err
	}
	if q.Limit > 0 {
		b.Write(" LIMIT ")
		b.Arg(q.Limit)
	}
	if q.Offset > 0 {
		b.Write(" OFFSET ")
		b.Arg(q.Offset)
	}
	return b.String(), b.Args(), nil
}

// countUsersSQL is the statement CountUsers runs for q, and its arguments.
func countUsersSQL(qual func(string) string, q store.UserQuery) (string, []any, error) {
	b := userquery.New(dialect)
	b.Write(qual(`SELECT count(*) FROM users_users u`))
	if err := b.Where(q); err != nil {
		return "", nil, err
	}
	return b.String(), b.Args(), nil
}
