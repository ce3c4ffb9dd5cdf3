package users

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// The parser's tests: the grammar, as ParseFilter (a listing's fields)
// reads it into the tree a Store runs, and the rule that a document is
// accepted or refused alike by ParseFilter and ParseEmailFilter. The email
// filter's evaluation is tested in emailfilter_test.go.

func cond(f store.Field, op store.Op, v string) *store.Filter {
	return &store.Filter{Field: f, Op: op, Value: v}
}

// parseTree parses doc for a listing and returns its tree.
func parseTree(t *testing.T, doc string) *store.Filter {
	t.Helper()
	f, err := ParseFilter([]byte(doc))
	require.NoError(t, err)
	require.NotNil(t, f)
	return f.tree
}

func TestParseFilterAccepts(t *testing.T) {
	t.Parallel()
	email, role, id, status := store.FieldEmail, store.FieldRole, store.FieldID, store.FieldStatus
	for _, tc := range []struct {
		name, doc string
		want      *store.Filter
	}{
		{"empty object holds for everyone", ` { } `, nil},
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
		{"in a \"null\" stays a string", `{"role":{"_in":["null"]}}`, &store.Filter{Field: role, Op: store.OpIn, Values: []string{"null"}}},
		{"in array", `{"id":{"_in":["a","b"]}}`, &store.Filter{Field: id, Op: store.OpIn, Values: []string{"a", "b"}}},
		{"in comma string", `{"id":{"_in":" a, b,,c "}}`, &store.Filter{Field: id, Op: store.OpIn, Values: []string{"a", "b", "c"}}},
		{"in empty array holds for nobody", `{"id":{"_in":[]}}`, &store.Filter{Field: id, Op: store.OpIn, Values: []string{}}},
		{"in empty string", `{"id":{"_in":" , "}}`, &store.Filter{Field: id, Op: store.OpIn, Values: []string{}}},
		{"nin", `{"status":{"_nin":["suspended"]}}`, &store.Filter{Field: status, Op: store.OpNin, Values: []string{"suspended"}}},
		{"regex", `{"email":{"_regex":"/^a/i"}}`, cond(email, store.OpRegex, "/^a/i")},
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
			assert.Equal(t, tc.want, parseTree(t, tc.doc))
		})
	}
	// Every string operator, under its own name, on every field.
	for _, op := range []store.Op{store.OpEq, store.OpNeq, store.OpContains, store.OpNContains,
		store.OpIContains, store.OpNIContains, store.OpStartsWith, store.OpNStartsWith, store.OpIStartsWith,
		store.OpNIStartsWith, store.OpEndsWith, store.OpNEndsWith, store.OpIEndsWith, store.OpNIEndsWith} {
		for _, f := range []store.Field{id, email, store.FieldFirstName, store.FieldLastName, status, role} {
			assert.Equal(t, cond(f, op, "v"), parseTree(t, `{"`+string(f)+`":{"`+string(op)+`":"v"}}`))
		}
	}
	// null is no filter at all.
	f, err := ParseFilter([]byte(" null "))
	require.NoError(t, err)
	assert.Nil(t, f)
	f, err = ParseFilter([]byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, "{}", f.String(), "{} is kept as written")
}

// userFilterErrorCases are documents ParseFilter refuses, with the reason.
var userFilterErrorCases = []struct{ name, doc, reason string }{
	{"not JSON", `nope`, "invalid JSON at byte 2: invalid character 'o' in literal null (expecting 'u')"},
	{"unterminated", `{"email":{"_eq":"a"}`, "invalid JSON at byte 20: unexpected end of JSON input"},
	{"empty document", ``, "invalid JSON at byte 0: unexpected end of JSON input"},
	{"not an object", `["email"]`, "want a JSON object, got an array"},
	{"trailing data", `{} {}`, "invalid JSON: an object after the filter object"},
	{"unknown field", `{"password":{"_eq":"x"}}`, `unknown field "password" (filters take id, email, first_name, last_name, status, role, _and and _or)`},
	{"unknown operator", `{"email":{"_foo":"x"}}`, `email: unknown operator "_foo"`},
	{"operator without a field", `{"_eq":"x"}`, `operator "_eq" needs a field: write {"<field>": {"_eq": …}} with a field among id, email, first_name, last_name, status, role`},
	{"Directus operator not run here", `{"email":{"_gt":"x"}}`, "email: operator _gt is not supported on email (supported: _eq _neq _contains _ncontains _icontains _nicontains _starts_with _nstarts_with _istarts_with _nistarts_with _ends_with _nends_with _iends_with _niends_with _in _nin _null _nnull _empty _nempty _regex)"},
	{"related collection", `{"role":{"name":{"_eq":"Admin"}}}`, `role: "name" is not an operator: filters on related collections (role.name) are not supported`},
	{"empty string", `{"email":{"_eq":""}}`, "email._eq: can't filter for an empty string: use _empty or _nempty"},
	{"empty string shorthand", `{"email":""}`, "email: can't filter for an empty string: use _empty or _nempty"},
	{"empty regex", `{"email":{"_regex":""}}`, "email._regex: can't filter for an empty string: use _empty or _nempty"},
	{"NUL", `{"email":{"_contains":"a\u0000"}}`, "email._contains: can't contain a NUL character"},
	{"number", `{"email":{"_eq":5}}`, "email._eq: want a string, got a number"},
	{"boolean", `{"email":{"_contains":true}}`, "email._contains: want a string, got a boolean"},
	{"null where no null is meant", `{"email":{"_contains":null}}`, "email._contains: want a string, got null"},
	{"object operand", `{"email":{"_eq":{"_eq":"a"}}}`, "email._eq: want a string, got an object"},
	{"shorthand number", `{"email":1}`, "email: want an object of operators (or a string, meaning _eq), got a number"},
	{"in non-string item", `{"id":{"_in":["a",1]}}`, "id._in[1]: want a string, got a number"},
	{"in empty item", `{"id":{"_in":["a",""]}}`, "id._in[1]: can't filter for an empty string: use _empty or _nempty"},
	{"in object", `{"id":{"_in":{"0":"a"}}}`, "id._in: want an array of strings or a comma-separated string, got an object"},
	{"null with a non-boolean", `{"role":{"_null":"yes"}}`, "role._null: want true or false, got a string"},
	{"null with null", `{"role":{"_null":null}}`, "role._null: want true or false, got null"},
	{"empty condition", `{"email":{}}`, "email: empty condition {}: give at least one operator"},
	{"empty and", `{"_and":[]}`, "_and: empty array: _and needs at least one item"},
	{"empty object in or", `{"_or":[{}]}`, "_or[0]: empty filter object {}: give at least one condition"},
	{"and not an array", `{"_and":{}}`, "_and: want an array, got an object"},
	{"and of strings", `{"_and":["x"]}`, "_and[0]: want a filter object, got a string"},
	{"field-level or of strings", `{"email":{"_or":["x"]}}`, "email._or[0]: want an object of operators, got a string"},
	{"duplicate operator", `{"email":{"_eq":"a","_eq":"b"}}`, `email: duplicate key "_eq"`},
	{"duplicate field", `{"email":{"_eq":"a"},"email":{"_eq":"b"}}`, `duplicate key "email"`},
	{"dynamic variable", `{"id":{"_eq":"$CURRENT_USER"}}`, "id._eq: dynamic variables ($CURRENT_USER, $NOW…) are not supported"},
	{"dynamic variable in a list", `{"role":{"_in":"$CURRENT_ROLE"}}`, "role._in[0]: dynamic variables ($CURRENT_USER, $NOW…) are not supported"},
	{"bad regex", `{"first_name":{"_regex":"a("}}`, "first_name._regex: cannot compile regular expression: missing closing )"},
	{"long names are cut", `{"` + strings.Repeat("x", 100) + `":1}`, `unknown field "` + strings.Repeat("x", 64) + `…" (filters take id, email, first_name, last_name, status, role, _and and _or)`},
}

func TestParseFilterRefuses(t *testing.T) {
	t.Parallel()
	deep := func(n int) string {
		return strings.Repeat(`{"_and":[`, n) + `{"email":{"_eq":"a"}}` + strings.Repeat(`]}`, n)
	}
	cases := append(userFilterErrorCases, []struct{ name, doc, reason string }{
		{"too deep", deep(33), strings.TrimPrefix(strings.Repeat("._and[0]", 32), ".") + "._and: nested too deeply: more than 32 levels of _and/_or"},
		{"too many nodes", `{"id":{"_in":[` + strings.Repeat(`"x",`, 10000) + `"x"]}}`, "id._in[9997]: filter is too large: more than 10000 nodes (objects, operators and _in/_nin items)"},
		{"too big", `{"email":{"_eq":"` + strings.Repeat("a", 1<<20) + `"}}`, "document is larger than 1048576 bytes"},
		{"not UTF-8", "{\"email\":{\"_eq\":\"\xff\"}}", "document is not valid UTF-8"},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter([]byte(tc.doc))
			require.Error(t, err)
			assert.Nil(t, f)
			assert.ErrorIs(t, err, ErrInvalidQuery)
			assert.ErrorIs(t, err, ErrInvalidPayload)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve))
			assert.Equal(t, "filter", ve.Field)
			assert.Equal(t, tc.reason, ve.Reason)
			assert.Equal(t, `users: "filter" `+tc.reason, err.Error())
		})
	}
	// Just under the limits is fine.
	_, err := ParseFilter([]byte(deep(32)))
	require.NoError(t, err)
}

// A filter's operands never appear in its errors: they are the caller's
// data (an email address, a name), not ours to repeat.
func TestParseFilterErrorsDoNotEchoOperands(t *testing.T) {
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
		`{"email":{"_regex":"(` + secret + `"}}`,
		`{"email":{"_regex":"/` + secret + `/g"}}`,
	} {
		for _, parse := range []func([]byte) error{
			func(b []byte) error { _, err := ParseFilter(b); return err },
			func(b []byte) error { _, err := ParseEmailFilter(b); return err },
		} {
			err := parse([]byte(doc))
			require.Error(t, err, doc)
			assert.NotContains(t, err.Error(), secret, doc)
		}
	}
}

// sameAnswer checks that ParseFilter and ParseEmailFilter answer doc alike:
// both accept it, or both refuse it with the same reason — unless the
// email filter refuses a field it does not take.
func sameAnswer(doc []byte) error {
	f, uerr := ParseFilter(doc)
	e, eerr := ParseEmailFilter(doc)
	reason := func(err error) string {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return ve.Reason
		}
		return ""
	}
	switch {
	case eerr != nil && strings.Contains(reason(eerr), "unknown field") ||
		eerr != nil && strings.Contains(reason(eerr), "needs a field"):
		return nil // a listing takes more fields
	case (uerr == nil) != (eerr == nil):
		return fmt.Errorf("ParseFilter: %v, ParseEmailFilter: %v", uerr, eerr)
	case uerr != nil && reason(uerr) != reason(eerr):
		return fmt.Errorf("reasons differ: ParseFilter %q, ParseEmailFilter %q", reason(uerr), reason(eerr))
	case uerr == nil && f.String() != e.String():
		return fmt.Errorf("documents differ: %s and %s", f, e)
	}
	return nil
}

// The grammar is one: every document of the email filter's tests and of
// the listing's is accepted or refused alike by both parsers, with the
// same reason.
func TestFilterSameDocumentSameAnswer(t *testing.T) {
	t.Parallel()
	var docs []string
	for _, tc := range filterMatchCases {
		docs = append(docs, tc.doc)
	}
	for _, tc := range filterErrorCases {
		docs = append(docs, tc.doc)
	}
	for _, tc := range userFilterErrorCases {
		docs = append(docs, tc.doc)
	}
	docs = append(docs, `null`, `{}`, `{"email":{"_in":[]}}`, `{"email":"a@x.com"}`, `{"email":{"_eq":null}}`,
		`{"email":{"_eq":""}}`, `{"email":{"_eq":"$NOW"}}`, `{"email":{"_regex":"^a"}}`, `{"email":{"_gt":"a"}}`)
	for _, doc := range docs {
		assert.NoError(t, sameAnswer([]byte(doc)), doc)
	}
}

// FuzzParseFilter fuzzes the one parser. No input panics; every error is
// the *ValidationError of its field; ParseFilter and ParseEmailFilter
// answer alike; a filter marshals as its document; an email filter matches
// as the reference evaluator says; and every listing filter is one the
// Manager accepts and the Store runs (but _regex, which the Manager
// refuses).
func FuzzParseFilter(f *testing.F) {
	for _, tc := range filterMatchCases {
		f.Add([]byte(tc.doc))
	}
	for _, tc := range filterErrorCases {
		f.Add([]byte(tc.doc))
	}
	for _, tc := range userFilterErrorCases {
		f.Add([]byte(tc.doc))
	}
	for _, seed := range []string{
		`{"email":{"_eq":"a@x.com"}}`, `{"role":{"_null":"false"}}`, `{"id":{"_in":"a,b"}}`,
		`{"_and":[{"_or":[{"role":{"_null":true}},{"role":{"_eq":"r"}}]},{"status":{"_nin":["x"]}}]}`,
		`{"email":{"_or":[{"_ends_with":"@a.com"},{"_iends_with":"@b.com"}]}}`, `{"first_name":"x","last_name":null}`,
		`{}`, `null`, `{"_and":[]}`, `{"email":{"_eq":""}}`, `[`,
	} {
		f.Add([]byte(seed))
	}
	f.Add([]byte(manyRules("_or", "_eq", 10, func(i int) string { return fmt.Sprintf("u%d@D.com", i) })))
	f.Add([]byte(manyRules("_and", "_nends_with", 10, func(i int) string { return fmt.Sprintf("@d%d.com", i) })))
	f.Add([]byte(manyRules("_or", "_ends_with", 10, func(i int) string { return fmt.Sprintf("d%d.com", i) })))
	emails := []string{"", "a@x.com", "A@X.COM", "test@example.com", "jöhn@EXÄMPLE.com", "no-at", "a@b@c.d", "\xff@\xfe"}
	st := memstore.New()
	f.Fuzz(func(t *testing.T, doc []byte) {
		if err := sameAnswer(doc); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		uf, err := ParseFilter(doc)
		if err != nil {
			var ve *ValidationError
			if !errors.Is(err, ErrInvalidQuery) || !errors.As(err, &ve) || ve.Field != "filter" || ve.Reason == "" || uf != nil {
				t.Fatalf("ParseFilter(%q): %v", doc, err)
			}
		} else {
			sq, err := UserQuery{Filter: uf}.storeQuery()
			switch {
			case hasOp(uf.storeFilter(), store.OpRegex):
				if !errors.Is(err, ErrInvalidQuery) {
					t.Fatalf("a listing with _regex: %v", err)
				}
			case err != nil:
				t.Fatalf("the Manager refuses the filter of %q: %v", doc, err)
			default:
				if _, err := st.ListUsers(context.Background(), sq); err != nil {
					t.Fatalf("the Store refuses the filter of %q: %v", doc, err)
				}
			}
		}
		flt, err := ParseEmailFilter(doc)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != emailFilterField || !errors.Is(err, ErrInvalidPayload) || ve.Reason == "" || flt != nil {
				t.Fatalf("ParseEmailFilter error %v is not a filter *ValidationError", err)
			}
			return
		}
		m1, _ := flt.MarshalJSON()
		g, err := ParseEmailFilter(m1)
		if err != nil {
			t.Fatalf("the marshalled document %s does not parse: %v", m1, err)
		}
		if m2, _ := g.MarshalJSON(); !bytes.Equal(m1, m2) {
			t.Fatalf("MarshalJSON is not stable: %s then %s", m1, m2)
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, doc)
		if !bytes.Equal(m1, compact.Bytes()) {
			t.Fatalf("MarshalJSON = %s, want the document %s", m1, compact.Bytes())
		}
		for _, e := range append(emails, string(doc)) {
			got := flt.Match(e)
			if g.Match(e) != got {
				t.Fatalf("round-tripped filter disagrees on %q", e)
			}
			want, err := refMatch(doc, e)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("Match(%q) = %v, reference says %v, filter %s", e, got, want, doc)
			}
		}
	})
}
