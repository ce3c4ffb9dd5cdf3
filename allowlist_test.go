package users

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gousers/users/internal/linkurl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allowListTestEntries is the list the candidate table runs against.
var allowListTestEntries = []string{
	"https://good.com/verify",
	"http://plain.example.com/invite",
	"http://localhost:8080/verify",
	"https://root.example.com",
	"https://*.preview.example.com/verify",
	"myapp://callback",
	"com.example.app:/oauth2redirect",
	"http://[::1]:3000/verify",
	"https://bücher.example/verify",
	"https://spa.example.com/#/verify",
	"https://q.example.com/verify?lang=de&src=mail",
}

// allowListCases are candidates and whether allowListTestEntries allows
// them. Most are attacks.
var allowListCases = []struct {
	name      string
	candidate string
	want      bool
}{
	// The happy path.
	{"exact", "https://good.com/verify", true},
	{"empty query", "https://good.com/verify?", true},
	{"empty fragment", "https://good.com/verify#", true},
	{"root entry with slash", "https://root.example.com/", true},
	{"root entry without slash", "https://root.example.com", true},
	{"entry with a query, exact", "https://q.example.com/verify?lang=de&src=mail", true},

	// Queries and fragments: only the entry's own. A stranger's verification
	// URL is mailed in a genuine mail; whatever it adds is the stranger's.
	{"an open-redirect parameter", "https://good.com/verify?next=https://evil.example", false},
	{"a message parameter", "https://good.com/verify?message=Your+account+is+locked", false},
	{"other query", "https://good.com/verify?lang=en&x=1", false},
	{"other fragment", "https://good.com/verify#top", false},
	{"other query and fragment", "https://good.com/verify?a=b#c", false},
	{"root entry with a query", "https://root.example.com?x=1", false},
	{"a token parameter", "https://good.com/verify?token=chosen", false},
	{"entry with a query, other value", "https://q.example.com/verify?lang=en&src=mail", false},
	{"entry with a query, one more parameter", "https://q.example.com/verify?lang=de&src=mail&next=//evil.example", false},
	{"entry with a query, reordered", "https://q.example.com/verify?src=mail&lang=de", false},
	{"entry with a query, none given", "https://q.example.com/verify", false},
	{"entry with a query, escaped differently", "https://q.example.com/verify?lang=%64e&src=mail", false},
	{"http entry", "http://plain.example.com/invite", true},
	{"localhost with port", "http://localhost:8080/verify", true},
	{"IPv6 literal", "http://[::1]:3000/verify", true},
	{"IDN host as listed", "https://bücher.example/verify", true},
	{"hash-routing entry, exact", "https://spa.example.com/#/verify", true},
	{"hash-routing entry, other fragment", "https://spa.example.com/#/evil", false},
	{"hash-routing entry, a parameter in the fragment", "https://spa.example.com/#/verify?next=https://evil.example", false},

	// Paths.
	{"different path", "https://good.com/other", false},
	{"path prefix", "https://good.com/verify-evil", false},
	{"path extension", "https://good.com/verify/evil", false},
	{"trailing slash", "https://good.com/verify/", false},
	{"no path", "https://good.com", false},
	{"path upper-case", "https://good.com/VERIFY", false},
	{"dot-dot after path", "https://good.com/verify/../x", false},
	{"dot-dot before path", "https://good.com/x/../verify", false},
	{"dot segment", "https://good.com/./verify", false},
	{"encoded dot-dot", "https://good.com/x/%2e%2E/verify", false},
	{"half-encoded dot-dot", "https://good.com/x/.%2e/verify", false},
	{"encoded slash and dots", "https://good.com/verify%2F..%2Fevil", false},
	{"encoded slash", "https://good.com/verify%2fx", false},
	{"encoded letter", "https://good.com/%76erify", false},
	{"matrix parameter", "https://good.com/verify;x", false},
	{"double slash path", "https://good.com//verify", false},
	{"path in fragment", "https://good.com#/verify", false},
	{"hash entry path in query", "https://spa.example.com/?#/verify", true},

	// Userinfo.
	{"userinfo good@evil", "https://good.com@evil.com/verify", false},
	{"userinfo evil@good", "https://evil.com@good.com/verify", false},
	{"empty userinfo", "https://@good.com/verify", false},
	{"user and password", "https://user:pass@good.com/verify", false},
	{"port-like userinfo", "https://good.com:443@evil.com/verify", false},
	{"encoded slash userinfo", "https://good.com%2f@evil.com/verify", false},

	// Backslashes (a browser reads them as '/').
	{"backslash before at", `https://good.com\@evil.com/verify`, false},
	{"backslash scheme-relative", `https:\\evil.com/verify`, false},
	{"backslash in path", `https://good.com/verify\`, false},
	{"backslash in query", `https://good.com/verify?x=\`, false},
	{"backslash in fragment", `https://good.com/verify#\`, false},

	// Control characters and whitespace, anywhere.
	{"CR LF in path", "https://good.com/verify\r\nLocation: https://evil.com", false},
	{"LF in path", "https://good.com/ver\nify", false},
	{"TAB in host", "https://go\tod.com/verify", false},
	{"TAB in scheme", "ht\ttps://good.com/verify", false},
	{"NUL at end", "https://good.com/verify\x00", false},
	{"NUL in query", "https://good.com/verify?a=\x00", false},
	{"CR in fragment", "https://good.com/verify#\r", false},
	{"DEL", "https://good.com/verify?\x7f", false},
	{"space in query", "https://good.com/verify?a b", false},
	{"leading space", " https://good.com/verify", false},
	{"trailing space", "https://good.com/verify ", false},
	{"leading tab", "\thttps://good.com/verify", false},
	{"trailing newline", "https://good.com/verify\n", false},
	{"C1 control", "https://good.com/verify\u0085", false},
	{"no-break space", "https://good.com/verify\u00a0", false},
	{"zero-width space in host", "https://good.com\u200b/verify", false},
	{"right-to-left override", "https://good.com/verify?\u202e", false},
	{"line separator", "https://good.com/verify\u2028", false},
	{"invalid UTF-8", "https://good.com/verify?\xff", false},

	// Dangerous schemes, always.
	{"javascript", "javascript:alert(1)", false},
	{"javascript mixed case", "JaVaScRiPt:alert(1)", false},
	{"javascript with authority", "javascript://good.com/verify%0aalert(1)", false},
	{"data", "data:text/html,<script>alert(1)</script>", false},
	{"data upper-case", "DATA:text/html;base64,PHNjcmlwdD4=", false},
	{"file", "file:///etc/passwd", false},
	{"file with listed host", "FiLe://good.com/verify", false},
	{"vbscript", "vbscript:msgbox(1)", false},
	{"vbscript mixed case", "VBScript:msgbox(1)", false},
	{"blob", "blob:https://good.com/verify", false},

	// Not absolute, or not hierarchical.
	{"scheme-relative", "//good.com/verify", false},
	{"scheme-relative evil", "//evil.com/verify", false},
	{"relative path", "/verify", false},
	{"relative", "verify", false},
	{"fragment only", "#/verify", false},
	{"opaque", "https:good.com/verify", false},
	{"single slash", "https:/good.com/verify", false},
	{"triple slash", "https:///good.com/verify", false},
	{"empty host", "https://", false},
	{"empty", "", false},
	{"evil in query", "https://evil.com?https://good.com/verify", false},
	{"evil with good in fragment", "https://evil.com#https://good.com/verify", false},

	// Scheme, host and port comparison.
	{"upper-case host", "https://GOOD.COM/verify", true},
	{"mixed-case host and scheme", "HTTPS://Good.Com/verify", true},
	{"scheme mismatch", "http://good.com/verify", false},
	{"explicit default https port", "https://good.com:443/verify", true},
	{"explicit default http port", "http://plain.example.com:80/invite", true},
	{"https port on http", "http://plain.example.com:443/invite", false},
	{"non-default port", "https://good.com:8443/verify", false},
	{"port missing", "http://localhost/verify", false},
	{"port 80 for 8080 entry", "http://localhost:80/verify", false},
	{"leading zero port", "https://good.com:0443/verify", false},
	{"empty port", "https://good.com:/verify", false},
	{"two ports", "https://good.com:443:443/verify", false},
	{"port out of range", "https://good.com:65979/verify", false},
	{"trailing dot", "https://good.com./verify", false},
	{"percent-encoded host", "https://%67ood.com/verify", false},
	{"percent-encoded dot", "https://good%2ecom/verify", false},
	{"percent-encoded IDN host", "https://b%C3%BCcher.example/verify", false},
	{"subdomain of entry", "https://evil.good.com/verify", false},
	{"suffix of entry", "https://notgood.com/verify", false},
	{"entry as subdomain", "https://good.com.evil.com/verify", false},
	{"IPv6 other spelling", "http://[0:0::1]:3000/verify", false},
	{"IPv6 with zone", "http://[::1%25eth0]:3000/verify", false},
	{"Cyrillic look-alike host", "https://gооd.com/verify", false},
	{"fullwidth look-alike host", "https://ｇｏｏｄ.com/verify", false},
	{"Kelvin sign is not k", "http://loc\u212Ahost:8080/verify", false},
	{"IDN upper-case is not folded", "https://BÜCHER.example/verify", false},
	{"IDN punycode is another spelling", "https://xn--bcher-kva.example/verify", false},
	{"ideographic full stop", "https://good\u3002com/verify", false},

	// Custom schemes: only as listed.
	{"custom scheme listed", "myapp://callback", true},
	{"custom scheme with query", "myapp://callback?code=1", false},
	{"custom scheme case-insensitive", "MyApp://callback", true},
	{"custom scheme host case", "MYAPP://CALLBACK", true},
	{"unlisted custom scheme", "evil://x/callback", false},
	{"unlisted custom scheme same host", "evil://callback", false},
	{"listed custom scheme other host", "myapp://evil", false},
	{"listed custom scheme other path", "myapp://callback/other", false},
	{"listed custom scheme with port", "myapp://callback:1234", false},
	{"listed custom scheme opaque", "myapp:callback", false},
	{"path-only custom scheme", "com.example.app:/oauth2redirect", true},
	{"path-only custom scheme with query", "com.example.app:/oauth2redirect?code=x", false},
	{"path-only custom scheme as authority", "com.example.app:///oauth2redirect", false},
	{"path-only custom scheme with host", "com.example.app://evil/oauth2redirect", false},
	{"custom scheme with wildcard host", "myapp://*.callback", false},

	// Wildcard: exactly one more DNS label.
	{"wildcard one label", "https://pr-12.preview.example.com/verify", true},
	{"wildcard one label upper-case", "https://PR-12.Preview.Example.COM/verify", true},
	{"wildcard with query", "https://a.preview.example.com/verify?x", false},
	{"wildcard xn label", "https://xn--80ak6aa92e.preview.example.com/verify", true},
	{"wildcard zero labels", "https://preview.example.com/verify", false},
	{"wildcard two labels", "https://a.b.preview.example.com/verify", false},
	{"wildcard empty label", "https://.preview.example.com/verify", false},
	{"wildcard literal star", "https://*.preview.example.com/verify", false},
	{"wildcard leading hyphen", "https://-pr.preview.example.com/verify", false},
	{"wildcard trailing hyphen", "https://pr-.preview.example.com/verify", false},
	{"wildcard underscore", "https://pr_1.preview.example.com/verify", false},
	{"wildcard unicode label", "https://prö.preview.example.com/verify", false},
	{"wildcard label too long", "https://" + strings.Repeat("a", 64) + ".preview.example.com/verify", false},
	{"wildcard longest label", "https://" + strings.Repeat("a", 63) + ".preview.example.com/verify", true},
	{"wildcard no dot boundary", "https://evilpreview.example.com/verify", false},
	{"wildcard suffix then evil", "https://a.preview.example.com.evil.com/verify", false},
	{"wildcard other path", "https://a.preview.example.com/other", false},
	{"wildcard other port", "https://a.preview.example.com:8443/verify", false},
	{"wildcard other scheme", "http://a.preview.example.com/verify", false},
	{"wildcard trailing dot", "https://a.preview.example.com./verify", false},
	{"wildcard userinfo", "https://a.preview.example.com@evil.com/verify", false},
	{"wildcard percent label", "https://%61.preview.example.com/verify", false},
}

func TestAllowListAllowed(t *testing.T) {
	t.Parallel()
	al, err := newAllowList(allowListTestEntries...)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(allowListCases), 40)
	for _, tc := range allowListCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, al.Allowed(tc.candidate), "Allowed(%q)", tc.candidate)
		})
	}
}

func TestAllowListEveryEntryAllowsItself(t *testing.T) {
	t.Parallel()
	al, err := newAllowList(allowListTestEntries...)
	require.NoError(t, err)
	for _, e := range allowListTestEntries {
		if strings.Contains(e, "*") {
			assert.False(t, al.Allowed(e), "a wildcard entry is not a URL: %q", e)
			continue
		}
		assert.True(t, al.Allowed(e), "entry %q", e)
	}
}

func TestAllowListEmpty(t *testing.T) {
	t.Parallel()
	var zero allowList
	var nilList *allowList
	empty, err := newAllowList()
	require.NoError(t, err)
	for name, al := range map[string]*allowList{"zero": &zero, "nil": nilList, "empty": empty} {
		assert.False(t, al.Allowed("https://good.com/verify"), name)
		assert.False(t, al.Allowed(""), name)
	}
}

func TestNewAllowListValidEntries(t *testing.T) {
	t.Parallel()
	valid := []string{
		"https://good.com",
		"https://good.com/",
		"http://localhost:3000/verify",
		"http://127.0.0.1:8055/admin/accept-invite",
		"http://[::1]/verify",
		"https://good.com/verify?lang=en",
		"https://spa.example.com/#/verify",
		"HTTPS://Good.COM/Verify",
		"myapp://callback",
		"myapp://callback/path",
		"myapp://callback:1234/path",
		"myapp:///callback",
		"com.example.app:/oauth2redirect",
		"https://*.preview.example.com/verify",
		"https://*.example.com",
		"https://bücher.example/verify",
		"https://good.com/ü",
		"https://under_score.example.com/verify",
	}
	for _, e := range valid {
		al, err := newAllowList(e)
		if assert.NoError(t, err, "entry %q", e) {
			require.Len(t, al.entries, 1)
			assert.Equal(t, e, al.entries[0].raw)
		}
	}
}

func TestNewAllowListInvalidEntries(t *testing.T) {
	t.Parallel()
	invalidEntries := []struct{ entry, reason string }{
		{"", "is empty"},
		{"/verify", "not an absolute URL"},
		{"verify", "not an absolute URL"},
		{"good.com/verify", "not an absolute URL"},
		{"//good.com/verify", "not an absolute URL"},
		{"#verify", "not an absolute URL"},
		{"?token=", "not an absolute URL"},
		{"javascript:alert(1)", "forbidden scheme"},
		{"JavaScript://good.com/%0aalert(1)", "forbidden scheme"},
		{"data:text/html,x", "forbidden scheme"},
		{"file:///etc/passwd", "forbidden scheme"},
		{"vbscript:msgbox(1)", "forbidden scheme"},
		{"VBSCRIPT://x/y", "forbidden scheme"},
		{"https://user@good.com/verify", "userinfo"},
		{"https://good.com@evil.com/verify", "userinfo"},
		{"https://@good.com/verify", "userinfo"},
		{"https://user:pass@good.com/verify", "userinfo"},
		{"https://good.com:443@evil.com/verify", "userinfo"},
		{"myapp://user@callback", "userinfo"},
		{`https://good.com\verify`, "backslash"},
		{"https://good.com/\tverify", "control character"},
		{"https://good.com/verify\n", "control character"},
		{"https://good.com/verify\x00", "control character"},
		{" https://good.com/verify", "space"},
		{"https://good.com/verify ", "space"},
		{"https://good.com/\u200bverify", "invisible"},
		{"https://good.com/\xff", "UTF-8"},
		{"https:", "no host"},
		{"https://", "no host"},
		{"https:///verify", "no host"},
		{"https:good.com/verify", "not a hierarchical URL"},
		{"myapp:callback", "not a hierarchical URL"},
		{"myapp:", "neither a host nor a path"},
		{"myapp://", "neither a host nor a path"},
		{"myapp://:80", "port but no host"},
		{"https://good.com./verify", "ending with a dot"},
		{"https://.good.com/verify", "empty label"},
		{"https://good..com/verify", "empty label"},
		{"https://%67ood.com/verify", "not a valid URL"},
		{"https://b%C3%BCcher.example/verify", "percent-encoding"},
		{"https://good.com:/verify", "invalid port"},
		{"https://good.com:0/verify", "invalid port"},
		{"https://good.com:0443/verify", "invalid port"},
		{"https://good.com:65536/verify", "invalid port"},
		{"https://good.com:http/verify", "not a valid URL"},
		{"https://good.com/a/../verify", "path segment"},
		{"https://good.com/%2E/verify", "path segment"},
		{"https://goo!d.com/verify", "not a letter, digit or hyphen"},
		{"https://[::1%25eth0]/verify", "percent-encoding"},
		{"https://*/verify", "wildcard"},
		{"https://*.com/verify", "at least two DNS labels"},
		{"https://*.co/verify", "at least two DNS labels"},
		{"https://a.*.example.com/verify", "wildcard"},
		{"https://*.*.example.com/verify", "wildcard"},
		{"https://**.example.com/verify", "wildcard"},
		{"https://*example.com/verify", "wildcard"},
		{"https://ex*ample.com/verify", "wildcard"},
		{"https://*.example.com/*", "wildcard"},
		{"https://good.com/verify?x=*", "wildcard"},
		{"https://*.ex_ample.com/verify", "at least two DNS labels"},
		{"https://*.1.2.3/verify", "ending in a number"},
		{"https://*.example.0x7f/verify", "ending in a number"},
		{"https://*.[::1]/verify", "not a valid URL"},
		{"myapp://*.callback/path", "only http and https"},
		{"*://good.com/verify", "not a valid URL"},
		{"https://" + strings.Repeat("a", 64) + ".com/", "longer than 63"},
		{"https://good.com/" + strings.Repeat("a", maxAllowURLLength), "longer than 4096"},
	}
	for _, tc := range invalidEntries {
		al, err := newAllowList("https://fine.example.com/verify", tc.entry)
		if !assert.Error(t, err, "entry %q", tc.entry) {
			continue
		}
		assert.Nil(t, al)
		assert.ErrorIs(t, err, ErrURLNotAllowed)
		assert.ErrorIs(t, err, ErrInvalidPayload)
		var ve *ValidationError
		if assert.ErrorAs(t, err, &ve) {
			assert.Equal(t, "allow_list", ve.Field)
		}
		msg := err.Error()
		assert.True(t, strings.HasPrefix(msg, fmt.Sprintf("users: allow-list entry %q: ", tc.entry)), "message %q names the entry", msg)
		assert.Contains(t, msg, tc.reason, "entry %q", tc.entry)
	}
}

// TestWithQueryParamKeepsAllowedURL checks the link a mail carries: an
// allowed URL with the token added, and nothing else changed.
func TestWithQueryParamKeepsAllowedURL(t *testing.T) {
	t.Parallel()
	for _, tc := range allowListCases {
		if tc.want {
			checkLinkAddsOnlyToken(t, tc.candidate)
		}
	}
}

func TestAllowListErrorsAreValidationErrors(t *testing.T) {
	t.Parallel()
	_, err := newAllowList("javascript:alert(1)")
	var ve *ValidationError
	require.True(t, errors.As(err, &ve))
	assert.Equal(t, `allow-list entry "javascript:alert(1)": uses a forbidden scheme (javascript)`, ve.Message())
}

// FuzzAllowList checks, for arbitrary entries and candidates, that nothing
// panics and that whatever Allowed lets through satisfies the allow-list
// rules by an independent reading with net/url: no userinfo, backslash,
// control character or space; no forbidden scheme; scheme, host, port and
// escaped path equal to some entry's, and the query and fragment exactly
// that entry's.
func FuzzAllowList(f *testing.F) {
	for _, tc := range allowListCases {
		f.Add("https://good.com/verify", tc.candidate)
	}
	for _, e := range allowListTestEntries {
		f.Add(e, e)
	}
	fixed, err := newAllowList(allowListTestEntries...)
	require.NoError(f, err)

	f.Fuzz(func(t *testing.T, entry, candidate string) {
		if fixed.Allowed(candidate) {
			checkAllowedByOracle(t, allowListTestEntries, candidate)
			checkLinkAddsOnlyToken(t, candidate)
		}
		al, err := newAllowList(entry)
		if err != nil {
			require.Nil(t, al)
			require.ErrorIs(t, err, ErrURLNotAllowed)
			return
		}
		if !strings.Contains(entry, "*") {
			// A valid entry, used as a candidate, is allowed by itself.
			require.True(t, al.Allowed(entry), "entry %q does not allow itself", entry)
		}
		if al.Allowed(candidate) {
			checkAllowedByOracle(t, []string{entry}, candidate)
			checkLinkAddsOnlyToken(t, candidate)
		}
	})
}

// checkLinkAddsOnlyToken checks that the mail link built from an allowed
// candidate is the candidate with a token parameter added to its query and
// nothing else changed.
func checkLinkAddsOnlyToken(t *testing.T, candidate string) {
	t.Helper()
	link, err := linkurl.WithQueryParam(candidate, "token", "t0k/+=&#")
	require.NoError(t, err, "WithQueryParam(%q)", candidate)
	split := func(u string) (base, query, frag string) {
		u, frag, _ = strings.Cut(u, "#")
		base, query, _ = strings.Cut(u, "?")
		return
	}
	cb, cq, cf := split(candidate)
	lb, lq, lf := split(link)
	require.Equal(t, cb, lb, "link %q from %q", link, candidate)
	require.Equal(t, cf, lf, "link %q from %q keeps the fragment", link, candidate)
	want := "token=" + url.QueryEscape("t0k/+=&#")
	if cq != "" {
		want = cq + "&" + want
	}
	require.Equal(t, want, lq, "link %q from %q adds only the token", link, candidate)
}

// checkAllowedByOracle fails t unless candidate, which Allowed accepted,
// meets the allow-list rules against entries, judged with net/url alone.
func checkAllowedByOracle(t *testing.T, entries []string, candidate string) {
	t.Helper()
	for i := 0; i < len(candidate); i++ {
		c := candidate[i]
		require.False(t, c <= ' ' || c == 0x7f || c == '\\', "allowed %q has byte %q", candidate, c)
	}
	cu, err := url.Parse(candidate)
	require.NoError(t, err, "allowed %q does not parse", candidate)
	require.Nil(t, cu.User, "allowed %q has userinfo", candidate)
	require.Empty(t, cu.Opaque, "allowed %q is opaque", candidate)
	require.NotContains(t, []string{"javascript", "data", "file", "vbscript"}, cu.Scheme, "allowed %q", candidate)
	if cu.Scheme == "http" || cu.Scheme == "https" {
		require.NotEmpty(t, cu.Hostname(), "allowed %q has no host", candidate)
	}
	for _, e := range entries {
		eu, err := url.Parse(e)
		require.NoError(t, err, "entry %q", e)
		_, eRest, _ := strings.Cut(e, ":")
		_, cRest, _ := strings.Cut(candidate, ":")
		eq, ef, _ := strings.Cut(eRest, "#")
		cq, cf, _ := strings.Cut(cRest, "#")
		_, eq, _ = strings.Cut(eq, "?")
		_, cq, _ = strings.Cut(cq, "?")
		if oracleSameTarget(eu, cu) && eq == cq && ef == cf {
			return
		}
	}
	t.Fatalf("allowed %q matches no entry of %q", candidate, entries)
}

// oracleSameTarget reports whether candidate c has entry e's scheme, host
// (or one more DNS label for a "*." entry), port and escaped path.
func oracleSameTarget(e, c *url.URL) bool {
	port := func(u *url.URL) string {
		p := u.Port()
		if u.Scheme == "https" && p == "443" || u.Scheme == "http" && p == "80" {
			return ""
		}
		return p
	}
	path := func(u *url.URL) string {
		p := u.EscapedPath()
		if p == "" && (u.Scheme == "http" || u.Scheme == "https") {
			return "/"
		}
		return p
	}
	if e.Scheme != c.Scheme || port(e) != port(c) || path(e) != path(c) {
		return false
	}
	eh, ch := strings.ToLower(e.Hostname()), strings.ToLower(c.Hostname())
	if suffix, ok := strings.CutPrefix(eh, "*."); ok {
		label, ok := strings.CutSuffix(ch, "."+suffix)
		return ok && label != "" && len(label) <= 63 && !strings.ContainsAny(label, ".*%_") &&
			label[0] != '-' && label[len(label)-1] != '-' &&
			strings.Trim(strings.ToLower(label), "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
	}
	return eh == ch
}
