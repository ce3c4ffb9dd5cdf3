package users

import "testing"

// BenchmarkAllowListAllowed exists because Allowed runs on every Register and
// Invite that carries a URL, on the request path of a public endpoint, and
// must stay well under a microsecond with no more than the one allocation
// net/url makes: entries are parsed once in newAllowList, the candidate once
// per call. The list has 10 entries, one a wildcard; the candidates hit the
// last entry, the wildcard and nothing (the worst case: every entry tried).
func BenchmarkAllowListAllowed(b *testing.B) {
	al, err := newAllowList(
		"https://app.example.com/verify",
		"https://app.example.com/admin/accept-invite",
		"https://www.example.com/register/verify",
		"https://*.preview.example.com/verify",
		"http://localhost:3000/verify",
		"http://localhost:8055/admin/accept-invite",
		"myapp://callback",
		"com.example.app:/oauth2redirect",
		"https://staging.example.com/verify",
		"https://example.org/users/register/verify-email",
	)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, candidate string
		want            bool
	}{
		{"last", "https://Example.org/users/register/verify-email", true},
		{"wildcard", "https://pr-1234.preview.example.com/verify", true},
		{"miss", "https://evil.example.net/users/register/verify-email", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if al.Allowed(bc.candidate) != bc.want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}
