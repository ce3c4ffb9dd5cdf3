package users_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

func cond(f store.Field, op store.Op, v string) *store.Filter {
	return &store.Filter{Field: f, Op: op, Value: v}
}

func TestParseUserFilterAccepts(t *testing.T) {
	t.Parallel()
	email, role, id, status := store.FieldEmail, store.FieldRole, store.FieldID, store.FieldStatus
	for _, tc := range []struct {
		name, doc string
		want      *store.Filter
	}{
		{"null is no filter", `null`, nil},
		{"empty object is no filter", ` { } `, nil},
		{"eq", `{"email":{"_eq":"a@x.com"}}`, cond(email, store.OpEq, "a@x.com")},
		{"shorthand eq", `{"email":"a@x.com"}`, cond(email, store.OpEq, "a@x.com")},
		{"values kept verbatim", `{"first_name":{"_contains":"%_\\' OR 1=1 --"}}`, cond(store.FieldFirstName, store.OpContains, `%_\' OR 1=1 --`)},
		{"null true", `{"role":{"_null":true}}`, cond(role, store.OpNull, "")},
		{"null false negates", `{"role":{"_null":false}}`, cond(role, store.OpNNull, "")},
		{"null as a query string spells it", `{"role":{"_null":"true"}}`, cond(role, store.OpNull, "")},
		{"nnull false negates", `{"role":{"_nnull":false}}`, cond(role, store.OpNull, "")},
		{"nnull true", `{"role":{"_nnull":"true"}}`, cond(role, store.OpNNull, "")},
		{"empty true", `{"last_name":{"_empty":true}}`, cond(store.FieldLastName, store.OpEmpty, "")},
		{"empty false negates", `{"last_name":{"_empty":"false"}}`, cond(store.FieldLastName, store.OpNEmpty, "")},
		{"nempty false negates", `{"last_name":{"_nempty":false}}`, cond(store.FieldLastName, store.OpEmpty, "")},
		{"eq null is null", `{"role":{"_eq":null}}`, cond(role, store.OpNull, "")},
		{"eq \"null\" is null, as Directus reads it", `{"role":{"_eq":"null"}}`, cond(role, store.OpNull, "")},
		{"neq NULL is nnull", `{"role":{"_neq":"NULL"}}`, cond(role, store.OpNNull, "")},
		{"shorthand null", `{"role":null}`, cond(role, store.OpNull, "")},
		{"contains \"null\" stays a string", `{"email":{"_contains":"null"}}`, cond(email, store.OpContains, "null")},
		{"in array", `{"id":{"_in":["a","b"]}}`, &store.Filter{Field: id, Op: store.OpIn, Values: []string{"a", "b"}}},
		{"in comma string", `{"id":{"_in":" a, b,,c "}}`, &store.Filter{Field: id, Op: store.OpIn, Values: []string{"a", "b", "c"}}},
		{"nin", `{"status":{"_nin":["suspended"]}}`, &store.Filter{Field: status, Op: store.OpNin, Values: []string{"suspended"}}},
		{"keys of an object all hold", `{"email":{"_contains":"x"},"status":{"_eq":"active"}}`,
			&store.Filter{And: []*store.Filter{cond(email, store.OpContains, "x"), cond(status, store.OpEq, "active")}}},
		{"operators of a field all hold", `{"email":{"_starts_with":"a","_ends_with":"z"}}`,
			&store.Filter{And: []*store.Filter{cond(email, store.OpStartsWith, "a"), cond(email, store.OpEndsWith, "z")}}},
		{"or", `{"_or":[{"status":{"_eq":"active"}},{"status":{"_eq":"invited"}}]}`,
			&store.Filter{Or: []*store.Filter{cond(status, store.OpEq, "active"), cond(status, store.OpEq, "invited")}}},
		{"and of one is that one", `{"_and":[{"_or":[{"role":{"_null":true}}]}]}`, cond(role, store.OpNull, "")},
		{"nested", `{"_and":[{"email":{"_iends_with":"@X.com"}},{"_or":[{"role":{"_null":true}},{"role":{"_eq":"r1"}}]}]}`,
			&store.Filter{And: []*store.Filter{
				cond(email, store.OpIEndsWith, "@X.com"),
				{Or: []*store.Filter{cond(role, store.OpNull, ""), cond(role, store.OpEq, "r1")}},
			}}},
		{"or inside a field", `{"email":{"_or":[{"_ends_with":"@a.com"},{"_ends_with":"@b.com"}]}}`,
			&store.Filter{Or: []*store.Filter{cond(email, store.OpEndsWith, "@a.com"), cond(email, store.OpEndsWith, "@b.com")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := users.ParseUserFilter([]byte(tc.doc))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	// Every string operator, under its own name.
	for _, op := range []store.Op{store.OpEq, store.OpNeq, store.OpContains, store.OpNContains,
		store.OpIContains, store.OpNIContains, store.OpStartsWith, store.OpNStartsWith, store.OpIStartsWith,
		store.OpNIStartsWith, store.OpEndsWith, store.OpNEndsWith, store.OpIEndsWith, store.OpNIEndsWith} {
		for _, f := range []store.Field{id, email, store.FieldFirstName, store.FieldLastName, status, role} {
			got, err := users.ParseUserFilter([]byte(`{"` + string(f) + `":{"` + string(op) + `":"v"}}`))
			require.NoError(t, err, "%s %s", f, op)
			assert.Equal(t, cond(f, op, "v"), got)
		}
	}
}

func TestParseUserFilterRefuses(t *testing.T) {
	t.Parallel()
	deep := func(n int) string {
		return strings.Repeat(`{"_and":[`, n) + `{"email":{"_eq":"a"}}` + strings.Repeat(`]}`, n)
	}
	many := `{"id":{"_in":[` + strings.Repeat(`"x",`, 10000) + `"x"]}}`
	for _, tc := range []struct{ name, doc, msg string }{
		{"not JSON", `nope`, "filter: invalid JSON at byte 2: invalid character 'o' in literal null (expecting 'u')"},
		{"unterminated", `{"email":{"_eq":"a"}`, "filter: invalid JSON at byte 20: unexpected end of JSON input"},
		{"empty document", ``, "filter: invalid JSON at byte 0: unexpected end of JSON input"},
		{"not an object", `["email"]`, "filter: want a JSON object, got an array"},
		{"trailing data", `{} {}`, "filter: invalid JSON: an object after the filter object"},
		{"unknown field", `{"password":{"_eq":"x"}}`, `filter: unknown field "password" (filters take id, email, first_name, last_name, status, role, _and and _or)`},
		{"unknown operator", `{"email":{"_foo":"x"}}`, `filter.email: unknown operator "_foo"`},
		{"operator without a field", `{"_eq":"x"}`, `filter: operator "_eq" needs a field: write {"<field>": {"_eq": …}} with a field among id, email, first_name, last_name, status, role`},
		{"Directus operator not run here", `{"email":{"_gt":"x"}}`, "filter.email: operator _gt is not supported on users (supported: _eq _neq _contains _ncontains _icontains _nicontains _starts_with _nstarts_with _istarts_with _nistarts_with _ends_with _nends_with _iends_with _niends_with _in _nin _null _nnull _empty _nempty)"},
		{"regex", `{"email":{"_regex":".*"}}`, "filter.email: operator _regex is not supported on users (supported: _eq _neq _contains _ncontains _icontains _nicontains _starts_with _nstarts_with _istarts_with _nistarts_with _ends_with _nends_with _iends_with _niends_with _in _nin _null _nnull _empty _nempty)"},
		{"related collection", `{"role":{"name":{"_eq":"Admin"}}}`, `filter.role: "name" is not an operator: filters on related collections (role.name) are not supported`},
		{"empty string", `{"email":{"_eq":""}}`, "filter.email._eq: can't filter for an empty string: use _empty or _nempty"},
		{"empty string shorthand", `{"email":""}`, "filter.email: can't filter for an empty string: use _empty or _nempty"},
		{"number", `{"email":{"_eq":5}}`, "filter.email._eq: want a string, got a number"},
		{"boolean", `{"email":{"_contains":true}}`, "filter.email._contains: want a string, got a boolean"},
		{"null where no null is meant", `{"email":{"_contains":null}}`, "filter.email._contains: want a string, got null"},
		{"object operand", `{"email":{"_eq":{"_eq":"a"}}}`, "filter.email._eq: want a string, got an object"},
		{"shorthand number", `{"email":1}`, "filter.email: want an object of operators (or a string, meaning _eq), got a number"},
		{"in empty array", `{"id":{"_in":[]}}`, "filter.id._in: needs at least one value"},
		{"in empty string", `{"id":{"_in":" , "}}`, "filter.id._in: needs at least one value"},
		{"in non-string item", `{"id":{"_in":["a",1]}}`, "filter.id._in[1]: want a string, got a number"},
		{"in empty item", `{"id":{"_in":["a",""]}}`, "filter.id._in[1]: can't filter for an empty string: use _empty or _nempty"},
		{"in object", `{"id":{"_in":{"0":"a"}}}`, "filter.id._in: want an array of strings or a comma-separated string, got an object"},
		{"null with a non-boolean", `{"role":{"_null":"yes"}}`, "filter.role._null: want true or false, got a string"},
		{"null with null", `{"role":{"_null":null}}`, "filter.role._null: want true or false, got null"},
		{"empty condition", `{"email":{}}`, "filter.email: empty condition {}: give at least one operator"},
		{"empty and", `{"_and":[]}`, "filter._and: empty array: _and needs at least one item"},
		{"empty object in or", `{"_or":[{}]}`, "filter._or[0]: empty filter object {}: give at least one condition"},
		{"and not an array", `{"_and":{}}`, "filter._and: want an array, got an object"},
		{"and of strings", `{"_and":["x"]}`, "filter._and[0]: want a filter object, got a string"},
		{"field-level or of strings", `{"email":{"_or":["x"]}}`, "filter.email._or[0]: want an object of operators, got a string"},
		{"duplicate operator", `{"email":{"_eq":"a","_eq":"b"}}`, `filter.email: duplicate key "_eq"`},
		{"duplicate field", `{"email":{"_eq":"a"},"email":{"_eq":"b"}}`, `filter: duplicate key "email"`},
		{"dynamic variable", `{"id":{"_eq":"$CURRENT_USER"}}`, "filter.id._eq: dynamic variables ($CURRENT_USER, $NOW…) are not supported"},
		{"dynamic variable in a list", `{"role":{"_in":"$CURRENT_ROLE"}}`, "filter.role._in[0]: dynamic variables ($CURRENT_USER, $NOW…) are not supported"},
		{"too deep", deep(33), "filter" + strings.Repeat("._and[0]", 32) + "._and: nested too deeply: more than 32 levels of _and/_or"},
		{"too many nodes", many, "filter.id._in[9997]: filter is too large: more than 10000 nodes (filter objects, operators and _in/_nin items)"},
		{"too big", `{"email":{"_eq":"` + strings.Repeat("a", 1<<20) + `"}}`, "filter: document is larger than 1048576 bytes"},
		{"not UTF-8", "{\"email\":{\"_eq\":\"\xff\"}}", "filter: document is not valid UTF-8"},
		{"long names are cut", `{"` + strings.Repeat("x", 100) + `":1}`, `filter: unknown field "` + strings.Repeat("x", 64) + `…" (filters take id, email, first_name, last_name, status, role, _and and _or)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := users.ParseUserFilter([]byte(tc.doc))
			require.Error(t, err)
			assert.Nil(t, f)
			assert.ErrorIs(t, err, users.ErrInvalidQuery)
			assert.ErrorIs(t, err, users.ErrInvalidPayload)
			var ve *users.ValidationError
			require.True(t, errors.As(err, &ve))
			assert.Equal(t, "filter", ve.Field)
			assert.Equal(t, tc.msg, ve.Message())
			assert.Equal(t, "users: "+ve.Message(), err.Error())
		})
	}
	// Just under the limits is fine.
	_, err := users.ParseUserFilter([]byte(deep(32)))
	require.NoError(t, err)
}

// A filter's operands never appear in its errors: they are the caller's
// data (an email address, a name), not ours to echo.
func TestParseUserFilterErrorsDoNotEchoOperands(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-operand-value"
	for _, doc := range []string{
		`{"email":{"_eq":5,"x":"` + secret + `"}}`,
		`{"email":{"_gt":"` + secret + `"}}`,
		`"` + secret + `"`,
		`{"role":{"_null":"` + secret + `"}}`,
		`{"id":{"_in":["` + secret + `",2]}}`,
		`{"id":{"_eq":"$CURRENT_USER` + secret + `"}}`,
		`{"_and":["` + secret + `"]}`,
	} {
		_, err := users.ParseUserFilter([]byte(doc))
		require.Error(t, err, doc)
		assert.NotContains(t, err.Error(), secret, doc)
	}
}

// FuzzParseUserFilter: no input panics; every error is an invalid query
// naming the filter; every filter parsed is one the Manager's validation
// accepts and the Store runs.
func FuzzParseUserFilter(f *testing.F) {
	for _, seed := range []string{
		`{"email":{"_eq":"a@x.com"}}`, `{"role":{"_null":"false"}}`, `{"id":{"_in":"a,b"}}`,
		`{"_and":[{"_or":[{"role":{"_null":true}},{"role":{"_eq":"r"}}]},{"status":{"_nin":["x"]}}]}`,
		`{"email":{"_or":[{"_ends_with":"@a.com"},{"_iends_with":"@b.com"}]}}`, `{"first_name":"x","last_name":null}`,
		`{}`, `null`, `{"_and":[]}`, `{"email":{"_eq":""}}`, `[`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		uf, err := users.ParseUserFilter([]byte(doc))
		if err != nil {
			var ve *users.ValidationError
			if !errors.Is(err, users.ErrInvalidQuery) || !errors.As(err, &ve) || ve.Field != "filter" {
				t.Fatalf("ParseUserFilter(%q): %v", doc, err)
			}
			return
		}
		e := newEnv(t)
		if _, err := e.m.ListUsers(e.ctx, store.UserQuery{Filter: uf}); err != nil {
			t.Fatalf("ListUsers with the filter of %q: %v", doc, err)
		}
	})
}

// ParseUserFilter reads the filter query parameter of GET /users as
// Directus writes it; a Store runs the result.
func ExampleParseUserFilter() {
	f, err := users.ParseUserFilter([]byte(`{"_or":[{"role":{"_null":true}},{"email":{"_iends_with":"@example.com"}}]}`))
	if err != nil {
		panic(err)
	}
	for _, c := range f.Or {
		fmt.Printf("%s %s %q\n", c.Field, c.Op, c.Value)
	}
	_, err = users.ParseUserFilter([]byte(`{"email":{"_regex":"^a"}}`))
	fmt.Println(errors.Is(err, users.ErrInvalidQuery))
	// Output:
	// role _null ""
	// email _iends_with "@example.com"
	// true
}
