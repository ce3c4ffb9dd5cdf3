package users

import (
	"fmt"
	"testing"
)

// bench5Clause is a realistic registration filter: five conditions mixing
// the operator families (suffix, negated prefix, folded substring, set,
// negated equality).
const bench5Clause = `{"_and":[` +
	`{"email":{"_ends_with":"@example.com"}},` +
	`{"email":{"_nstarts_with":"test"}},` +
	`{"email":{"_icontains":"LIC"}},` +
	`{"email":{"_in":["alice@example.com","bob@example.com","carol@example.com"]}},` +
	`{"email":{"_neq":"mallory@example.com"}}]}`

// BenchmarkFilterMatch5Clause exists because Match runs on every
// registration and the filter must cost next to nothing there: the budget is
// under 1 µs and zero allocations for an email whose domain is already lower
// case (every clause holds, so all five are evaluated). The upper-case domain
// case shows the domain folding stays allocation-free too.
func BenchmarkFilterMatch5Clause(b *testing.B) {
	f, err := ParseEmailFilter([]byte(bench5Clause))
	if err != nil {
		b.Fatal(err)
	}
	for _, email := range []string{"alice@example.com", "alice@EXAMPLE.COM"} {
		b.Run(email, func(b *testing.B) {
			if !f.Match(email) {
				b.Fatal("the benchmark email should pass every clause")
			}
			b.ReportAllocs()
			for b.Loop() {
				f.Match(email)
			}
		})
	}
}

// BenchmarkFilterMatch1000Rules exists because admins paste long allow-lists
// into the filter (an _or of 1,000 addresses or domains): evaluation must
// stay fast and allocation-free at that size. _eq and _ends_with "@domain" /
// "suffix" rules are merged into hash-set lookups; _istarts_with has no such
// shortcut and shows the linear worst case (no rule holds, all are tried).
func BenchmarkFilterMatch1000Rules(b *testing.B) {
	cases := []struct {
		name, op string
		operand  func(int) string
		email    string
		want     bool
	}{
		{"eq", "_eq", func(i int) string { return fmt.Sprintf("user%d@dom%d.com", i, i) }, "user999@DOM999.com", true},
		{"ends_with_domain", "_ends_with", func(i int) string { return fmt.Sprintf("@dom%d.com", i) }, "someone@dom999.com", true},
		{"ends_with_suffix", "_ends_with", func(i int) string { return fmt.Sprintf(".dom%d.com", i) }, "someone@mail.dom999.com", true},
		{"istarts_with_miss", "_istarts_with", func(i int) string { return fmt.Sprintf("user%d@", i) }, "someone@example.com", false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			f, err := ParseEmailFilter([]byte(manyRules("_or", tc.op, 1000, tc.operand)))
			if err != nil {
				b.Fatal(err)
			}
			if f.Match(tc.email) != tc.want {
				b.Fatalf("Match(%q) != %v", tc.email, tc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				f.Match(tc.email)
			}
		})
	}
}
