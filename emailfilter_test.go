package users

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specFilter is the filter the package documentation gives as an example:
// addresses at example.com, except those starting with "test".
const specFilter = `{"_and":[{"email":{"_ends_with":"@example.com"}},{"email":{"_nstarts_with":"test"}}]}`

// nested3 nests _or / _and / _or three levels deep.
const nested3 = `{"_or":[{"_and":[{"email":{"_ends_with":"@a.com"}},{"_or":[{"email":{"_starts_with":"dev"}},{"email":{"_starts_with":"ops"}}]}]},{"email":{"_eq":"boss@b.com"}}]}`

type filterMatchCase struct {
	name  string
	doc   string
	email string
	want  bool
}

// filterMatchCases covers every operator, positive and negative. The
// documents also seed the fuzzers.
var filterMatchCases = []filterMatchCase{
	// _eq / _neq: local part case-sensitive, domain case-insensitive.
	{"eq/equal", `{"email":{"_eq":"alice@example.com"}}`, "alice@example.com", true},
	{"eq/other", `{"email":{"_eq":"alice@example.com"}}`, "bob@example.com", false},
	{"eq/domain case", `{"email":{"_eq":"A@Example.com"}}`, "A@example.COM", true},
	{"eq/local case", `{"email":{"_eq":"A@Example.com"}}`, "a@example.com", true},
	{"eq/null means _null", `{"email":{"_eq":null}}`, "a@x.com", false},
	{"eq/null holds for no email", `{"email":{"_eq":"NULL"}}`, "", true},
	{"eq/shorthand", `{"email":"Alice@Example.com"}`, "alice@example.com", true},
	{"eq/shorthand other", `{"email":"alice@example.com"}`, "bob@example.com", false},
	{"eq/prefix only", `{"email":{"_eq":"alice@example.com"}}`, "alice@example.co", false},
	{"eq/longer", `{"email":{"_eq":"alice@example.com"}}`, "alice@example.com.evil", false},
	{"neq/equal under domain rule", `{"email":{"_neq":"alice@example.com"}}`, "alice@EXAMPLE.com", false},
	{"neq/other", `{"email":{"_neq":"alice@example.com"}}`, "bob@example.com", true},
	{"neq/local case differs", `{"email":{"_neq":"alice@example.com"}}`, "Alice@example.com", false},
	{"neq/null", `{"email":{"_neq":null}}`, "a@x.com", true},

	// _contains / _ncontains.
	{"contains/across at", `{"email":{"_contains":"lice@ex"}}`, "alice@example.com", true},
	{"contains/across at domain case", `{"email":{"_contains":"lice@EX"}}`, "alice@eXample.com", true},
	{"contains/in domain any case", `{"email":{"_contains":"EXAMPLE"}}`, "alice@example.com", true},
	{"contains/in local any case", `{"email":{"_contains":"ALICE"}}`, "alice@x.com", true},
	{"contains/in local", `{"email":{"_contains":"lic"}}`, "alice@x.com", true},
	{"contains/absent", `{"email":{"_contains":"bob"}}`, "alice@x.com", false},
	{"ncontains/absent", `{"email":{"_ncontains":"spam"}}`, "alice@example.com", true},
	{"ncontains/present", `{"email":{"_ncontains":"ice"}}`, "alice@example.com", false},
	{"ncontains/present in domain other case", `{"email":{"_ncontains":"spam"}}`, "a@SPAM.com", false},

	// _icontains / _nicontains.
	{"icontains/other case", `{"email":{"_icontains":"ALICE"}}`, "alice@x.com", true},
	{"icontains/absent", `{"email":{"_icontains":"zz"}}`, "alice@x.com", false},
	{"nicontains/present", `{"email":{"_nicontains":"ALICE"}}`, "alice@x.com", false},
	{"nicontains/absent", `{"email":{"_nicontains":"zz"}}`, "alice@x.com", true},

	// _starts_with / _nstarts_with.
	{"starts_with/yes", `{"email":{"_starts_with":"ali"}}`, "alice@x.com", true},
	{"starts_with/local case", `{"email":{"_starts_with":"Ali"}}`, "alice@x.com", true},
	{"starts_with/into domain", `{"email":{"_starts_with":"alice@EX"}}`, "alice@example.com", true},
	{"starts_with/into domain wrong local", `{"email":{"_starts_with":"alice@ex"}}`, "malice@example.com", false},
	{"starts_with/no", `{"email":{"_starts_with":"bob"}}`, "alice@x.com", false},
	{"nstarts_with/yes", `{"email":{"_nstarts_with":"test"}}`, "test1@x.com", false},
	{"nstarts_with/local case", `{"email":{"_nstarts_with":"test"}}`, "Test1@x.com", false},

	// _istarts_with / _nistarts_with.
	{"istarts_with/other case", `{"email":{"_istarts_with":"TEST"}}`, "test1@x.com", true},
	{"istarts_with/no", `{"email":{"_istarts_with":"x"}}`, "test1@x.com", false},
	{"nistarts_with/other case", `{"email":{"_nistarts_with":"TEST"}}`, "test1@x.com", false},
	{"nistarts_with/no", `{"email":{"_nistarts_with":"TEST"}}`, "alice@x.com", true},

	// _ends_with / _nends_with.
	{"ends_with/domain", `{"email":{"_ends_with":"@example.com"}}`, "a@example.com", true},
	{"ends_with/domain upper", `{"email":{"_ends_with":"@example.com"}}`, "a@EXAMPLE.COM", true},
	{"ends_with/operand upper", `{"email":{"_ends_with":"@Example.COM"}}`, "a@example.com", true},
	{"ends_with/other domain", `{"email":{"_ends_with":"@example.com"}}`, "a@example.org", false},
	{"ends_with/subdomain is not the domain", `{"email":{"_ends_with":"@example.com"}}`, "a@evil.example.com", false},
	{"ends_with/longer domain", `{"email":{"_ends_with":"@evil.example.com"}}`, "a@example.com", false},
	{"ends_with/no at upper", `{"email":{"_ends_with":"COM"}}`, "a@x.com", true},
	{"ends_with/no at suffix", `{"email":{"_ends_with":"le.com"}}`, "a@example.com", true},
	{"ends_with/no at too long", `{"email":{"_ends_with":"xample.com"}}`, "a@e.com", false},
	{"ends_with/full local case", `{"email":{"_ends_with":"a@example.com"}}`, "A@example.com", true},
	{"ends_with/full", `{"email":{"_ends_with":"ba@example.com"}}`, "aba@EXAMPLE.com", true},
	{"nends_with/domain upper", `{"email":{"_nends_with":"@example.com"}}`, "a@EXAMPLE.com", false},
	{"nends_with/other", `{"email":{"_nends_with":"@example.com"}}`, "a@x.org", true},

	// _iends_with / _niends_with.
	{"iends_with/upper operand", `{"email":{"_iends_with":".COM"}}`, "a@x.com", true},
	{"iends_with/local part too", `{"email":{"_iends_with":"A@EXAMPLE.COM"}}`, "a@example.com", true},
	{"iends_with/no", `{"email":{"_iends_with":".org"}}`, "a@x.com", false},
	{"niends_with/yes", `{"email":{"_niends_with":".COM"}}`, "a@x.com", false},
	{"niends_with/no", `{"email":{"_niends_with":".org"}}`, "a@x.com", true},

	// _in / _nin.
	{"in/member", `{"email":{"_in":["a@x.com","b@x.com"]}}`, "b@x.com", true},
	{"in/not member", `{"email":{"_in":["a@x.com","b@x.com"]}}`, "c@x.com", false},
	{"in/local case", `{"email":{"_in":["a@x.com","b@x.com"]}}`, "B@x.com", true},
	{"in/domain case", `{"email":{"_in":["a@x.com","b@X.com"]}}`, "b@x.COM", true},
	{"in/empty matches nothing", `{"email":{"_in":[]}}`, "a@x.com", false},
	{"in/comma string", `{"email":{"_in":"a@x.com, b@x.com"}}`, "b@x.com", true},
	{"in/comma string miss", `{"email":{"_in":"a@x.com, b@x.com"}}`, "c@x.com", false},
	{"in/empty string matches nothing", `{"email":{"_in":""}}`, "a@x.com", false},
	{"nin/member", `{"email":{"_nin":["a@x.com"]}}`, "a@X.com", false},
	{"nin/not member", `{"email":{"_nin":["a@x.com"]}}`, "b@x.com", true},
	{"nin/empty matches everything", `{"email":{"_nin":[]}}`, "a@x.com", true},
	{"nin/comma string", `{"email":{"_nin":"a@x.com,b@x.com"}}`, "b@x.com", false},

	// _null / _nnull / _empty / _nempty, booleans honoured.
	{"null/true", `{"email":{"_null":true}}`, "a@x.com", false},
	{"null/true empty", `{"email":{"_null":true}}`, "", true},
	{"nnull/true empty", `{"email":{"_nnull":true}}`, "", false},
	{"null/false", `{"email":{"_null":false}}`, "a@x.com", true},
	{"null/string true", `{"email":{"_null":"true"}}`, "a@x.com", false},
	{"null/string false", `{"email":{"_null":"false"}}`, "a@x.com", true},
	{"nnull/true", `{"email":{"_nnull":true}}`, "a@x.com", true},
	{"nnull/false", `{"email":{"_nnull":false}}`, "a@x.com", false},
	{"nnull/string false", `{"email":{"_nnull":"false"}}`, "a@x.com", false},
	{"empty/true non-empty", `{"email":{"_empty":true}}`, "a@x.com", false},
	{"empty/true empty", `{"email":{"_empty":true}}`, "", true},
	{"empty/false non-empty", `{"email":{"_empty":false}}`, "a@x.com", true},
	{"empty/false empty", `{"email":{"_empty":false}}`, "", false},
	{"nempty/true non-empty", `{"email":{"_nempty":true}}`, "a@x.com", true},
	{"nempty/true empty", `{"email":{"_nempty":true}}`, "", false},
	{"nempty/false non-empty", `{"email":{"_nempty":false}}`, "a@x.com", false},
	{"nempty/false empty", `{"email":{"_nempty":"false"}}`, "", true},

	// _regex.
	{"regex/plain", `{"email":{"_regex":"^[a-z]+@example\\.com$"}}`, "alice@example.com", true},
	{"regex/domain lower-cased", `{"email":{"_regex":"^[a-z]+@example\\.com$"}}`, "alice@EXAMPLE.COM", true},
	{"regex/sees the address lower-cased", `{"email":{"_regex":"^[a-z]+@example\\.com$"}}`, "Alice@example.com", true},
	{"regex/upper-case pattern needs i", `{"email":{"_regex":"^ALICE@"}}`, "Alice@example.com", false},
	{"regex/literal", `{"email":{"_regex":"/^[a-z]+@example\\.com$/"}}`, "alice@example.com", true},
	{"regex/literal i", `{"email":{"_regex":"/^[a-z]+@example\\.com$/i"}}`, "Alice@Example.com", true},
	{"regex/unanchored", `{"email":{"_regex":"ice@"}}`, "alice@x.com", true},
	{"regex/no", `{"email":{"_regex":"^bob"}}`, "alice@x.com", false},
	{"regex/js unicode escape", `{"email":{"_regex":"^\\u0061lice"}}`, "alice@x.com", true},
	{"regex/escaped slash", `{"email":{"_regex":"/^a\\/b@/"}}`, "a/b@x.com", true},
	{"regex/lone slash is a pattern", `{"email":{"_regex":"/"}}`, "alice@x.com", false},

	// Every key of an object counts.
	{"all keys/both hold", `{"email":{"_ends_with":"@a.com","_nstarts_with":"x"}}`, "y@a.com", true},
	{"all keys/second fails", `{"email":{"_ends_with":"@a.com","_nstarts_with":"x"}}`, "xy@a.com", false},
	{"all keys/first fails", `{"email":{"_ends_with":"@a.com","_nstarts_with":"x"}}`, "y@b.com", false},
	{"all keys/email and _and", `{"email":{"_ends_with":"@a.com"},"_and":[{"email":{"_nstarts_with":"x"}}]}`, "xy@a.com", false},
	{"all keys/email and _and hold", `{"email":{"_ends_with":"@a.com"},"_and":[{"email":{"_nstarts_with":"x"}}]}`, "y@a.com", true},
	{"all keys/_and and email", `{"_and":[{"email":{"_nstarts_with":"x"}}],"email":{"_ends_with":"@a.com"}}`, "y@b.com", false},
	{"all keys/email and _or", `{"email":{"_ends_with":"@a.com"},"_or":[{"email":{"_eq":"y@a.com"}},{"email":{"_eq":"z@a.com"}}]}`, "z@a.com", true},
	{"all keys/email and _or fails", `{"email":{"_ends_with":"@a.com"},"_or":[{"email":{"_eq":"y@b.com"}},{"email":{"_eq":"z@a.com"}}]}`, "y@b.com", false},
	{"all keys/_and and _or", `{"_and":[{"email":{"_ends_with":"@a.com"}}],"_or":[{"email":{"_starts_with":"y"}}]}`, "x@a.com", false},

	// Nesting.
	{"nested/dev", nested3, "dev1@a.com", true},
	{"nested/ops", nested3, "ops@A.com", true},
	{"nested/qa", nested3, "qa@a.com", false},
	{"nested/dev wrong domain", nested3, "dev@b.com", false},
	{"nested/boss", nested3, "boss@b.com", true},
	{"nested/Boss", nested3, "Boss@b.com", true},
	{"nested/or in a field", `{"email":{"_or":[{"_ends_with":"@a.com"},{"_ends_with":"@b.com"}]}}`, "x@B.com", true},
	{"nested/or in a field miss", `{"email":{"_or":[{"_ends_with":"@a.com"},{"_ends_with":"@b.com"}]}}`, "x@c.com", false},

	// The documented example.
	{"spec/allowed", specFilter, "a@example.com", true},
	{"spec/test user", specFilter, "test1@example.com", false},
	{"spec/other domain", specFilter, "a@other.com", false},
	{"spec/domain upper", specFilter, "a@EXAMPLE.COM", true},
	{"spec/mixed case domain", specFilter, "Jane.Doe@Example.Com", true},

	// Unicode.
	{"unicode/local ends_with", `{"email":{"_ends_with":"@example.com"}}`, "jöhn@example.com", true},
	{"unicode/local starts_with", `{"email":{"_starts_with":"jö"}}`, "jöhn@x.com", true},
	{"unicode/local case", `{"email":{"_starts_with":"jö"}}`, "JÖhn@x.com", true},
	{"unicode/istarts_with", `{"email":{"_istarts_with":"JÖ"}}`, "jöhn@x.com", true},
	{"unicode/icontains", `{"email":{"_icontains":"ÖH"}}`, "jöhn@x.com", true},
	{"unicode/eq domain case", `{"email":{"_eq":"Jöhn@Exämple.com"}}`, "Jöhn@EXÄMPLE.COM", true},
	{"unicode/eq local case", `{"email":{"_eq":"Jöhn@Exämple.com"}}`, "jöhn@exämple.com", true},
	{"unicode/in domain case", `{"email":{"_in":["jöhn@exämple.com"]}}`, "jöhn@EXÄMPLE.com", true},
	{"unicode/kelvin sign folds to k", `{"email":{"_iends_with":"k"}}`, "a@x.\u212a", true},
	{"unicode/sharp s", `{"email":{"_ends_with":"@straße.de"}}`, "a@STRAẞE.DE", true},
	{"unicode/invalid byte matches nothing", `{"email":{"_icontains":"\ufffd"}}`, "a\xff@x.com", false},
	{"unicode/regex domain lower-cased", `{"email":{"_regex":"@exämple\\.com$"}}`, "a@EXÄMPLE.com", true},

	// Addresses without '@' (not valid emails, but Match is total).
	{"no at/eq", `{"email":{"_eq":"abc"}}`, "abc", true},
	{"no at/ends_with case", `{"email":{"_ends_with":"BC"}}`, "abc", true},
	{"no at/ends_with", `{"email":{"_ends_with":"bc"}}`, "abc", true},
}

func TestEmailFilterMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range filterMatchCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := ParseEmailFilter([]byte(tc.doc))
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.Match(tc.email), "Match(%q) with %s", tc.email, tc.doc)
			ref, err := refMatch([]byte(tc.doc), tc.email)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ref, "reference evaluator disagrees with the table")
		})
	}
}

func TestEmailFilterNilAndZeroMatchEverything(t *testing.T) {
	t.Parallel()
	var nilFilter *EmailFilter
	assert.True(t, nilFilter.Match("a@x.com"))
	assert.True(t, (&EmailFilter{}).Match("a@x.com"))
	assert.Equal(t, "null", nilFilter.String())
	b, err := nilFilter.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, "null", string(b))
}

// manyRules builds {"<group>":[{"email":{"<op>":operand(0)}}, …]}.
func manyRules(group, op string, n int, operand func(int) string) string {
	var b strings.Builder
	b.WriteString(`{"` + group + `":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		v, _ := json.Marshal(operand(i))
		fmt.Fprintf(&b, `{"email":{%q:%s}}`, op, v)
	}
	b.WriteString(`]}`)
	return b.String()
}

// TestFilterMergedSets checks that large families of rules are compiled to
// set lookups and that the lookups keep the semantics of the rules.
func TestEmailFilterMergedSets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		doc    string
		kind   filterKind
		emails map[string]bool
	}{
		{
			name: "or of eq",
			doc:  manyRules("_or", "_eq", 20, func(i int) string { return fmt.Sprintf("user%d@Dom%d.com", i, i) }),
			kind: kindIn,
			emails: map[string]bool{
				"user3@dom3.com": true, "user3@DOM3.COM": true, "User3@dom3.com": true,
				"user3@dom4.com": false, "user19@dom19.com": true, "user20@dom20.com": false, "user3": false,
				"user3@dom3.com\xff": false,
			},
		},
		{
			name: "or of ends_with domain",
			doc:  manyRules("_or", "_ends_with", 20, func(i int) string { return fmt.Sprintf("@Dom%d.com", i) }),
			kind: kindDomainSet,
			emails: map[string]bool{
				"a@dom3.com": true, "A@DOM3.COM": true, "a@sub.dom3.com": false, "a@dom33.com": false,
				"a@x.com": false, "dom3.com": false, "@dom3.com": true,
			},
		},
		{
			name: "or of ends_with suffix",
			doc:  manyRules("_or", "_ends_with", 20, func(i int) string { return fmt.Sprintf(".Dom%d.com", i) }),
			kind: kindSuffixSet,
			emails: map[string]bool{
				"a@x.dom3.com": true, "a@X.DOM3.COM": true, "a@dom3.com": false, "a@xdom3.com": false,
				"a@x.dom3.com.evil": false, "no-at.Dom3.com": true, "no-at.dom3.COM": true,
				"a@x.dömain.dom3.com": true, "a@X.DÖMAIN.DOM3.COM": true,
			},
		},
		{
			name: "and of neq",
			doc:  manyRules("_and", "_neq", 20, func(i int) string { return fmt.Sprintf("bad%d@x.com", i) }),
			kind: kindIn,
			emails: map[string]bool{
				"bad3@x.com": false, "bad3@X.COM": false, "Bad3@x.com": false, "good@x.com": true,
			},
		},
		{
			name: "and of nends_with domain",
			doc:  manyRules("_and", "_nends_with", 20, func(i int) string { return fmt.Sprintf("@spam%d.com", i) }),
			kind: kindDomainSet,
			emails: map[string]bool{
				"a@spam3.com": false, "a@SPAM3.COM": false, "a@x.spam3.com": true, "a@x.com": true,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := ParseEmailFilter([]byte(tc.doc))
			require.NoError(t, err)
			require.Equal(t, tc.kind, f.root.kind, "the rules should compile to one set lookup")
			for e, want := range tc.emails {
				assert.Equal(t, want, f.Match(e), "Match(%q)", e)
				ref, err := refMatch([]byte(tc.doc), e)
				require.NoError(t, err)
				assert.Equal(t, want, ref, "reference(%q)", e)
			}
		})
	}
}

func TestEmailFilterMatchDoesNotAllocate(t *testing.T) {
	// Not parallel: AllocsPerRun counts every goroutine's allocations.
	docs := []string{
		bench5Clause,
		manyRules("_or", "_eq", 100, func(i int) string { return fmt.Sprintf("user%d@dom%d.com", i, i) }),
		manyRules("_or", "_ends_with", 100, func(i int) string { return fmt.Sprintf("@dom%d.com", i) }),
		manyRules("_or", "_ends_with", 100, func(i int) string { return fmt.Sprintf(".dom%d.com", i) }),
		`{"email":{"_icontains":"ÖH","_nistarts_with":"x","_iends_with":"COM"}}`,
	}
	for _, doc := range docs {
		f, err := ParseEmailFilter([]byte(doc))
		require.NoError(t, err)
		for _, e := range []string{"alice@example.com", "Alice@EXAMPLE.COM", "jöhn@EXÄMPLE.com", "user7@DOM7.COM"} {
			allocs := testing.AllocsPerRun(100, func() { f.Match(e) })
			assert.Zero(t, allocs, "Match(%q) allocates with %.60s…", e, doc)
		}
	}
}

func TestEmailFilterConcurrentMatch(t *testing.T) {
	t.Parallel()
	f, err := ParseEmailFilter([]byte(specFilter))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if !f.Match("a@EXAMPLE.com") || f.Match("test@example.com") {
					t.Error("wrong answer under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}

// deepFilter nests n levels of _and around one condition.
func deepFilter(n int) string {
	return strings.Repeat(`{"_and":[`, n) + `{"email":{"_eq":"a@x.com"}}` + strings.Repeat(`]}`, n)
}

type filterErrorCase struct {
	name string
	doc  string
	want string // a part of the reason that names the culprit
}

var filterErrorCases = []filterErrorCase{
	{"invalid JSON", `{"email":`, "invalid JSON"},
	{"empty document", ``, "invalid JSON"},
	{"trailing data", `{"email":{"_eq":"a@x.com"}} {}`, "invalid JSON"},
	{"invalid UTF-8", "{\"email\":{\"_eq\":\"\xff\"}}", "not valid UTF-8"},
	{"array", `[{"email":{"_eq":"a@x.com"}}]`, "want a JSON object, got an array"},
	{"string", `"a@x.com"`, `want a JSON object, got a string`},
	{"number", `42`, "want a JSON object, got a number"},
	{"empty nested filter", `{"_and":[{}]}`, "_and[0]: empty filter object"},
	{"empty condition", `{"email":{}}`, "email: empty condition"},
	{"unknown operator", `{"email":{"_foo":"x"}}`, `email: unknown operator "_foo"`},
	{"unknown operator nested", `{"_and":[{"email":{"_eq":"a@x.com"}},{"email":{"_foo":"x"}}]}`, `_and[1].email: unknown operator "_foo"`},
	{"Directus operator not run here", `{"email":{"_eq":"a@x.com","_gt":"x"}}`, `email: operator _gt is not supported on email (supported: _eq _neq`},
	{"unknown field", `{"name":{"_eq":"x"}}`, `unknown field "name" (filters take email, _and and _or)`},
	{"unknown field nested", `{"_or":[{"email":{"_eq":"a@x.com"}},{"role":{"_eq":"x"}}]}`, `_or[1]: unknown field "role"`},
	{"_not is not an operator", `{"_not":{"email":{"_eq":"x"}}}`, `operator "_not" needs a field`},
	{"related collection", `{"email":{"domain":{"_eq":"x"}}}`, `email: "domain" is not an operator`},
	{"duplicate operator", `{"email":{"_eq":"a@x.com","_eq":"b@x.com"}}`, `email: duplicate key "_eq"`},
	{"duplicate field", `{"email":{"_eq":"a@x.com"},"email":{"_eq":"b@x.com"}}`, `duplicate key "email"`},
	{"eq number", `{"email":{"_eq":1}}`, "email._eq: want a string, got a number"},
	{"contains null", `{"email":{"_contains":null}}`, "email._contains: want a string, got null"},
	{"eq empty string", `{"email":{"_eq":""}}`, "email._eq: can't filter for an empty string: use _empty or _nempty"},
	{"eq NUL", `{"email":{"_eq":"a\u0000b"}}`, "email._eq: can't contain a NUL character"},
	{"dynamic variable", `{"email":{"_eq":"$CURRENT_USER.email"}}`, "email._eq: dynamic variables ($CURRENT_USER, $NOW…) are not supported"},
	{"ends_with array", `{"email":{"_ends_with":["@a.com"]}}`, "email._ends_with: want a string, got an array"},
	{"in object", `{"email":{"_in":{}}}`, "email._in: want an array of strings or a comma-separated string, got an object"},
	{"in number item", `{"email":{"_in":["a@x.com",1]}}`, "email._in[1]: want a string, got a number"},
	{"in empty item", `{"email":{"_in":["a@x.com",""]}}`, "email._in[1]: can't filter for an empty string"},
	{"nin null item", `{"email":{"_nin":[null]}}`, "email._nin[0]: want a string, got null"},
	{"null number", `{"email":{"_null":1}}`, "email._null: want true or false, got a number"},
	{"empty other string", `{"email":{"_empty":"yes"}}`, `email._empty: want true or false, got a string`},
	{"nnull null", `{"email":{"_nnull":null}}`, "email._nnull: want true or false, got null"},
	{"regex boolean", `{"email":{"_regex":true}}`, "email._regex: want a string, got a boolean"},
	{"email a number", `{"email":1}`, `email: want an object of operators (or a string, meaning _eq), got a number`},
	{"and not an array", `{"_and":{"email":{"_eq":"a@x.com"}}}`, "_and: want an array, got an object"},
	{"and item not an object", `{"_and":[1]}`, "_and[0]: want a filter object, got a number"},
	{"field-level or of strings", `{"email":{"_or":["x"]}}`, "email._or[0]: want an object of operators, got a string"},
	{"empty and", `{"_and":[]}`, "_and: empty array"},
	{"empty or", `{"email":{"_eq":"a@x.com"},"_or":[]}`, "_or: empty array"},
	{"bad regex", `{"email":{"_regex":"("}}`, `email._regex: cannot compile regular expression: missing closing )`},
	{"lookahead", `{"email":{"_regex":"^(?=.*x)"}}`, "lookahead and lookbehind are JavaScript-only"},
	{"lookbehind", `{"_or":[{"email":{"_regex":"(?<!x)@a"}}]}`, "_or[0].email._regex: cannot compile regular expression: lookahead and lookbehind"},
	{"backreference", `{"email":{"_regex":"(a)\\1"}}`, "backreferences are JavaScript-only"},
	{"regex flag g", `{"email":{"_regex":"/a/g"}}`, `email._regex: unsupported flags "g"`},
	{"regex flags ii", `{"email":{"_regex":"/a/ii"}}`, `unsupported flags "ii"`},
	{"too deep", deepFilter(maxFilterDepth + 1), "nested too deeply: more than 32 levels"},
	{"far too deep", deepFilter(5000), "nested too deeply"},
}

func TestParseEmailFilterErrors(t *testing.T) {
	t.Parallel()
	bigIn := `{"email":{"_in":[` + strings.Repeat(`"a@x.com",`, maxFilterNodes) + `"a@x.com"]}}`
	bigOr := manyRules("_or", "_eq", maxFilterNodes/2+1, func(i int) string { return "a@x.com" })
	huge := `{"email":{"_eq":"` + strings.Repeat("a", maxFilterBytes) + `"}}`
	cases := append(filterErrorCases,
		filterErrorCase{"too many _in items", bigIn, "email._in[9997]: filter is too large: more than 10000 nodes"},
		filterErrorCase{"too many rules", bigOr, "filter is too large"},
		filterErrorCase{"too big", huge, "larger than 1048576 bytes"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := ParseEmailFilter([]byte(tc.doc))
			require.Error(t, err)
			assert.Nil(t, f)
			assert.ErrorIs(t, err, ErrInvalidPayload)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "public_registration_email_filter", ve.Field)
			assert.Contains(t, ve.Reason, tc.want)
			assert.Contains(t, err.Error(), `"public_registration_email_filter" `)
		})
	}
}

func TestParseEmailFilterLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	f, err := ParseEmailFilter([]byte(deepFilter(maxFilterDepth)))
	require.NoError(t, err)
	assert.True(t, f.Match("a@X.com"))
	assert.False(t, f.Match("b@x.com"))

	// 1 filter object + 1 operator object + 1 operator + 9997 items =
	// 10000 nodes.
	doc := `{"email":{"_in":[` + strings.Repeat(`"b@x.com",`, maxFilterNodes-4) + `"a@x.com"]}}`
	f, err = ParseEmailFilter([]byte(doc))
	require.NoError(t, err)
	assert.True(t, f.Match("a@x.com"))
}

func TestEmailFilterJSONRoundTrip(t *testing.T) {
	t.Parallel()
	docs := []string{specFilter, nested3, `{"email":{"_nstarts_with":"x","_ends_with":"@a.com"}}`, `{"email":{"_eq":"\u0041@x.com"}}`}
	for _, tc := range filterMatchCases {
		docs = append(docs, tc.doc)
	}
	for _, doc := range docs {
		f, err := ParseEmailFilter([]byte(doc))
		require.NoError(t, err)
		m1, err := f.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, doc, string(m1), "MarshalJSON must return the document as given")
		assert.Equal(t, doc, f.String())
		g, err := ParseEmailFilter(m1)
		require.NoError(t, err)
		assert.Equal(t, f, g, "parsing the marshalled document must give an equal filter")
		m2, err := g.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, m1, m2, "MarshalJSON must be stable")
	}
}

func TestEmailFilterMarshalCompactsWhitespaceOnly(t *testing.T) {
	t.Parallel()
	f, err := ParseEmailFilter([]byte(" {\n\t\"email\" : { \"_nstarts_with\" : \"x y\", \"_ends_with\" : \"@A.com\" } }\n"))
	require.NoError(t, err)
	b, err := f.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, `{"email":{"_nstarts_with":"x y","_ends_with":"@A.com"}}`, string(b))

	// The result is a copy: changing it does not change the filter.
	b[2] = 'X'
	assert.Equal(t, `{"email":{"_nstarts_with":"x y","_ends_with":"@A.com"}}`, f.String())
}

func TestEmailFilterInStruct(t *testing.T) {
	t.Parallel()
	type settings struct {
		Filter *EmailFilter `json:"public_registration_email_filter"`
	}
	f, err := ParseEmailFilter([]byte(specFilter))
	require.NoError(t, err)

	b, err := json.Marshal(settings{Filter: f})
	require.NoError(t, err)
	assert.Equal(t, `{"public_registration_email_filter":`+specFilter+`}`, string(b))

	b, err = json.Marshal(settings{})
	require.NoError(t, err)
	assert.Equal(t, `{"public_registration_email_filter":null}`, string(b))

	var s settings
	require.NoError(t, json.Unmarshal([]byte(`{"public_registration_email_filter": `+nested3+`}`), &s))
	require.NotNil(t, s.Filter)
	assert.Equal(t, nested3, s.Filter.String())
	assert.True(t, s.Filter.Match("dev@a.com"))

	require.NoError(t, json.Unmarshal([]byte(`{"public_registration_email_filter":null}`), &s))
	assert.Nil(t, s.Filter)

	err = json.Unmarshal([]byte(`{"public_registration_email_filter":{"email":{"_foo":"x"}}}`), &s)
	assert.ErrorIs(t, err, ErrInvalidPayload)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, ve.Reason, `email: unknown operator "_foo"`)
}

func TestEmailFilterUnmarshalJSON(t *testing.T) {
	t.Parallel()
	var f EmailFilter
	require.NoError(t, f.UnmarshalJSON([]byte(specFilter)))
	assert.Equal(t, specFilter, f.String())
	assert.False(t, f.Match("test@example.com"))

	// A bad document leaves f unchanged.
	require.ErrorIs(t, f.UnmarshalJSON([]byte(`{"email":{}}`)), ErrInvalidPayload)
	assert.Equal(t, specFilter, f.String())

	// null is the absent filter.
	require.NoError(t, f.UnmarshalJSON([]byte(" null ")))
	assert.Equal(t, "null", f.String())
	assert.True(t, f.Match("test@example.com"))
}

// TestFoldRune checks, over every rune, the properties the allocation-free
// comparisons rely on: fold is idempotent, equal for exactly the runes of one
// simple-folding orbit, and never longer in UTF-8 than its source.
func TestFoldRune(t *testing.T) {
	t.Parallel()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		f := foldRune(r)
		if foldRune(f) != f || utf8.RuneLen(f) > utf8.RuneLen(r) || !strings.EqualFold(string(r), string(f)) {
			t.Fatalf("foldRune(%U) = %U", r, f)
		}
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if foldRune(o) != f {
				t.Fatalf("foldRune(%U) = %U but foldRune(%U) = %U", r, f, o, foldRune(o))
			}
		}
	}
}

func TestFoldedComparisons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s, op                    string
		prefix, suffix, contains bool
	}{
		{"Hello", "he", true, false, true},
		{"Hello", "LO", false, true, true},
		{"Hello", "ell", false, false, true},
		{"Hello", "hello", true, true, true},
		{"Hello", "helloo", false, false, false},
		{"ÖSTERREICH", "österreich", true, true, true},
		{"x\u212ay", "K", false, false, true}, // Kelvin sign folds to k
		{"ẞ", "ß", true, true, true},
		{"a\xffb", "\ufffd", false, false, false},
		{"a\xffb", "b", false, true, true},
		{"", "", true, true, true},
		{"abc", "", true, true, true},
	}
	for _, tc := range tests {
		f := foldString(tc.op)
		assert.Equal(t, tc.prefix, foldedHasPrefix(tc.s, f), "prefix %q %q", tc.s, tc.op)
		assert.Equal(t, tc.suffix, foldedHasSuffix(tc.s, f), "suffix %q %q", tc.s, tc.op)
		assert.Equal(t, tc.contains, foldedContains(tc.s, f), "contains %q %q", tc.s, tc.op)
		assert.Equal(t, tc.prefix && tc.suffix && utf8.RuneCountInString(tc.s) == utf8.RuneCountInString(tc.op), foldedEqual(tc.s, f), "equal %q %q", tc.s, tc.op)
	}
}

// ---------------------------------------------------------------------------
// Fuzzing (the parser's fuzz test, FuzzParseFilter, is in filter_test.go)

// fuzzOps are the operators FuzzFilterMatch picks from.
var fuzzOps = []string{
	"_eq", "_neq", "_contains", "_ncontains", "_icontains", "_nicontains",
	"_starts_with", "_nstarts_with", "_istarts_with", "_nistarts_with",
	"_ends_with", "_nends_with", "_iends_with", "_niends_with", "_in", "_nin",
}

// FuzzFilterMatch builds a filter from an operator and operands (one per
// line: several lines make an _or, or for a negated operator an _and, of
// one rule each, and 8 or more exercise the merged set lookups) and checks
// Match against the reference evaluator.
func FuzzFilterMatch(f *testing.F) {
	f.Add(uint8(0), "A@Example.com", "A@example.COM")
	f.Add(uint8(2), "lice@EX", "alice@eXample.com")
	f.Add(uint8(4), "ÖH", "jöhn@x.com")
	f.Add(uint8(10), "COM", "a@x.com")
	f.Add(uint8(10), "@d1.com\n@d2.com\n@d3.com\n@d4.com\n@d5.com\n@d6.com\n@d7.com\n@D8.com", "a@d8.COM")
	f.Add(uint8(10), ".d1.com\n.d2.com\n.d3.com\n.d4.com\n.d5.com\n.d6.com\n.d7.com\n.D8.com", "a@x.d8.COM")
	f.Add(uint8(1), "a@x\nb@x\nc@x\nd@x\ne@x\nf@x\ng@x\nh@X", "h@x")
	f.Add(uint8(11), "@d1.com\n@d2.com\n@d3.com\n@d4.com\n@d5.com\n@d6.com\n@d7.com\n@D8.com", "a@d8.COM")
	f.Add(uint8(14), "a@x.com\nb@X.com", "b@x.COM")
	f.Add(uint8(8), "\u212a", "k@x.com")
	f.Add(uint8(12), "ß", "a@STRAẞ")
	f.Add(uint8(0), "null", "")
	f.Fuzz(func(t *testing.T, opIndex uint8, operands, addr string) {
		op := fuzzOps[int(opIndex)%len(fuzzOps)]
		var items []string
		for _, it := range strings.Split(operands, "\n") {
			// What the grammar refuses in any operand (an empty string, a
			// NUL, a dynamic variable) is left out.
			if checkOperand("", strings.ToValidUTF8(it, "\uFFFD")) == nil && len(items) < 40 {
				items = append(items, it)
			}
		}
		var doc []byte
		switch {
		case op == "_in" || op == "_nin":
			v, _ := json.Marshal(items)
			doc = []byte(fmt.Sprintf(`{"email":{%q:%s}}`, op, v))
		case len(items) == 0:
			return
		case len(items) == 1:
			v, _ := json.Marshal(items[0])
			doc = []byte(fmt.Sprintf(`{"email":{%q:%s}}`, op, v))
		default:
			group := "_or"
			if strings.HasPrefix(op, "_n") {
				group = "_and"
			}
			doc = []byte(manyRules(group, op, len(items), func(i int) string { return items[i] }))
		}
		flt, err := ParseEmailFilter(doc)
		if err != nil {
			// json.Marshal makes valid UTF-8 from any string: only the
			// operator table can be at fault.
			t.Fatalf("ParseEmailFilter(%s): %v", doc, err)
		}
		want, err := refMatch(doc, addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := flt.Match(addr); got != want {
			t.Fatalf("Match(%q) = %v, reference says %v, filter %s", addr, got, want, doc)
		}
	})
}

// ---------------------------------------------------------------------------
// Reference evaluator: the semantics of Match written as directly as
// possible, slow and simple, over the generic decoding of the document.

func refMatch(doc []byte, addr string) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false, err
	}
	if v == nil {
		return true, nil
	}
	return refObject(v.(map[string]any), refDecode(addr)), nil
}

// refText is an email as runes (-1 for a byte that is not valid UTF-8).
type refText struct {
	s     string
	runes []rune
}

func refDecode(s string) refText {
	t := refText{s: s}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			r = -1
		}
		t.runes = append(t.runes, r)
		i += w
	}
	return t
}

// matchAt reports whether op occurs at rune k, letter case aside.
func (t refText) matchAt(k int, op string) bool {
	ops := []rune(op)
	if k < 0 || k+len(ops) > len(t.runes) {
		return false
	}
	for j, o := range ops {
		r := t.runes[k+j]
		if r < 0 || !strings.EqualFold(string(r), string(o)) {
			return false
		}
	}
	return true
}

func (t refText) eq(op string) bool {
	return utf8.RuneCountInString(op) == len(t.runes) && t.matchAt(0, op)
}

func (t refText) contains(op string) bool {
	for k := 0; k <= len(t.runes); k++ {
		if t.matchAt(k, op) {
			return true
		}
	}
	return false
}

func (t refText) endsWith(op string) bool {
	return t.matchAt(len(t.runes)-utf8.RuneCountInString(op), op)
}

// refAll reports whether every key of an object holds: eval judges a key
// that is not _and or _or; the items of those are objects judged alike.
func refAll(m map[string]any, eval func(k string, v any) bool) bool {
	for k, v := range m {
		ok := k == "_and"
		switch k {
		case "_and", "_or":
			for _, x := range v.([]any) {
				if refAll(x.(map[string]any), eval) != ok {
					ok = !ok
					break
				}
			}
		default:
			ok = eval(k, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

func refObject(m map[string]any, t refText) bool {
	return refAll(m, func(k string, v any) bool {
		if k != "email" {
			panic("reference: unknown field " + k)
		}
		if ops, isObject := v.(map[string]any); isObject {
			return refAll(ops, func(op string, arg any) bool { return refOperator(op, arg, t) })
		}
		return refOperator("_eq", v, t) // shorthand
	})
}

func refOperator(op string, arg any, t refText) bool {
	str, _ := arg.(string)
	if (op == "_eq" || op == "_neq") && (arg == nil || str == "null" || str == "NULL") {
		op, arg = "_null", op == "_eq"
	}
	neg := false
	if strings.HasPrefix(op, "_n") && op != "_null" && op != "_nnull" {
		neg, op = true, "_"+op[2:]
	}
	var r bool
	switch op {
	case "_eq":
		r = t.eq(str)
	case "_contains", "_icontains":
		r = t.contains(str)
	case "_starts_with", "_istarts_with":
		r = t.matchAt(0, str)
	case "_ends_with", "_iends_with":
		r = t.endsWith(str)
	case "_in":
		var items []string
		if s, ok := arg.(string); ok {
			for _, it := range strings.Split(s, ",") {
				if it = strings.TrimSpace(it); it != "" {
					items = append(items, it)
				}
			}
		} else {
			for _, it := range arg.([]any) {
				items = append(items, it.(string))
			}
		}
		for _, it := range items {
			r = r || t.eq(it)
		}
	case "_null", "_nnull", "_empty": // "_nempty" is "_empty" negated here
		b := arg == true || arg == "true"
		if op == "_nnull" {
			b = !b
		}
		r = (t.s == "") == b // an empty email is null and empty
	case "_regex":
		re, err := compileFilterRegex(str)
		if err != nil {
			panic(err)
		}
		r = re.MatchString(strings.ToLower(t.s))
	default:
		panic("reference: unknown operator " + op)
	}
	return r != neg
}
