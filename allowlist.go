package users

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// allowList is a validated list of redirect URLs: the equivalent of
// Directus's USER_REGISTER_URL_ALLOW_LIST and USER_INVITE_URL_ALLOW_LIST.
// Register checks a verification_url against one, Invite an invite_url.
//
// A candidate URL is allowed when its scheme, host, port and path equal an
// entry's and its query and fragment are exactly the entry's (none when the
// entry has none; the token is added to the query of the mailed link). A
// candidate equal to an entry is therefore allowed.
//
// The query and fragment are compared, not ignored as Directus ignores
// them, because a verification URL comes from whoever registers, for any
// address: anything it may carry beyond what the entry names —
// "?next=https://evil.example", "?message=Call+us", "#/other-route" in a
// hash-routed app — would reach a stranger's inbox inside a genuine mail
// from the application, and land on the application's page, where an open
// redirect or a displayed parameter turns it into phishing. An application
// that needs a parameter in its links lists the exact URL, parameter
// included, as an entry.
//
// Before comparing, the candidate is parsed strictly and refused outright
// when it has:
//
//   - userinfo ("https://good.com@evil.com"), a backslash, a control
//     character, a space, an invisible Unicode character, or invalid UTF-8,
//     anywhere;
//   - a scheme that runs code or reads local data (javascript, vbscript,
//     data, file, blob, filesystem, about), in any case, whatever the list
//     says;
//   - no scheme ("//evil.com/verify", "/verify"), an opaque form
//     ("https:evil.com"), or, for http and https, no host;
//   - a host with percent-encoding, a trailing dot, an empty label or a
//     character other than a letter, digit, hyphen or underscore; a port
//     with a leading zero or out of range;
//   - a "." or ".." path segment, plain or percent-encoded.
//
// Schemes and ASCII letters of hosts compare case-insensitively (RFC 3986);
// non-ASCII host characters compare byte for byte, so a look-alike host never
// matches, and an internationalised host is matched only in the form the
// entry spells it (list the punycode form as well if both occur). Default
// ports are normalised: "https://a.com:443/x" is "https://a.com/x", and an
// empty http(s) path is "/". The path compares exactly as written, escapes
// included, so "/verify%2F..%2Fevil" and "/%76erify" do not match "/verify".
//
// A host with a trailing dot ("good.com.") is refused rather than stripped:
// it names the same server under a different web origin, which has been used
// to slip past certificate, cookie and HSTS checks, and no real redirect
// needs it.
//
// Schemes other than http and https (a mobile app's "myapp://callback") are
// allowed only in the exact form an entry gives: same scheme, same host or no
// host, same path. Such an entry needs a host or a path ("myapp://callback",
// "com.example.app:/oauth2redirect"); "myapp://callback" and
// "myapp:/callback" are different forms and do not match each other.
//
// An http or https entry may start its host with one wildcard label,
// "https://*.preview.example.com/verify", for preview deployments. It matches
// exactly one more DNS label of letters, digits and hyphens, not starting or
// ending with a hyphen ("https://pr-12.preview.example.com/verify"), never
// zero labels nor two; scheme, port and path must still match. The part after
// "*." must have at least two labels ("*.com" is refused) and must not end
// in a number. Note that a wildcard under a shared domain
// ("*.github.io", "*.vercel.app") lets anyone with a site there in: list
// your own domains only. The wildcard entry itself is not a URL and is never
// allowed as a candidate. No other '*' may appear in an entry.
//
// An allowList is immutable and safe for concurrent use. The zero value and a
// nil *allowList allow nothing.
type allowList struct {
	entries []allowEntry
}

// allowEntry is one pre-parsed entry.
type allowEntry struct {
	raw string // as given
	allowURLParts
}

// allowURLParts are the components of a URL that an allow-list compares.
type allowURLParts struct {
	scheme string // lower-case
	// host is the host as written, brackets included for IPv6; lower-cased
	// (ASCII only) in entries. In a wildcard entry, the part after "*.".
	host      string
	port      string // "" when absent or the scheme's default
	path      string // escaped, as written; "/" for an empty http(s) path
	query     string // as written, without the "?" ("" for none or an empty one)
	fragment  string // as written, without the "#"
	authority bool   // "//" follows the scheme
	wildcard  bool   // entries only: host had a leading "*." label
}

// maxAllowURLLength bounds allow-list entries and candidates. Longer URLs are
// refused: no redirect URL needs more, and it keeps a check's cost bounded.
const maxAllowURLLength = 4096

// newAllowList validates entries and returns the list. Every entry must be an
// absolute URL as described on allowList; the first invalid one is reported
// as a *ValidationError (Field "allow_list") naming it, which matches both
// ErrURLNotAllowed and ErrInvalidPayload. No entries give a list that allows
// nothing.
func newAllowList(entries ...string) (*allowList, error) {
	a := &allowList{entries: make([]allowEntry, 0, len(entries))}
	for _, raw := range entries {
		p, reason := parseAllowURL(raw, true)
		if reason != "" {
			return nil, &ValidationError{
				Field:  "allow_list",
				Reason: fmt.Sprintf("allow-list entry %q: %s", raw, reason),
				Err:    ErrURLNotAllowed,
				whole:  true,
			}
		}
		p.host = urlLower(p.host)
		a.entries = append(a.entries, allowEntry{raw: raw, allowURLParts: p})
	}
	return a, nil
}

// Allowed reports whether candidate may be used as a redirect URL: whether
// it survives strict parsing, its scheme, host, port and path equal an
// entry's, and its query and fragment are exactly that entry's (see
// allowList). It is false for every candidate when the list is
// nil or empty.
func (a *allowList) Allowed(candidate string) bool {
	if a == nil || len(a.entries) == 0 {
		return false
	}
	c, reason := parseAllowURL(candidate, false)
	if reason != "" {
		return false
	}
	for i := range a.entries {
		if a.entries[i].matches(&c) {
			return true
		}
	}
	return false
}

// matches reports whether the parsed candidate c matches the entry.
func (e *allowEntry) matches(c *allowURLParts) bool {
	if e.scheme != c.scheme || e.authority != c.authority || e.port != c.port || e.path != c.path ||
		e.query != c.query || e.fragment != c.fragment {
		return false
	}
	if !e.wildcard {
		return urlEqualFold(e.host, c.host)
	}
	// c.host must be <label> "." e.host, with one valid DNS label.
	n := len(c.host) - len(e.host) // length of "<label>."
	if n < 2 || c.host[n-1] != '.' || !urlEqualFold(e.host, c.host[n:]) {
		return false
	}
	return isLDHLabel(c.host[:n-1])
}

// parseAllowURL parses raw strictly into the parts an allow-list compares.
// entry allows a leading wildcard label and forbids any other '*'. It returns a
// non-empty reason, phrased to follow the URL, when raw is refused. The
// host is returned as written; entries lower-case it.
//
// net/url does the parsing (scheme syntax, escapes in the path, the
// authority/path split); the checks around it close the places where
// net/url is more lenient than a browser (WHATWG URL) would be, so that the
// host and path compared here are the ones a browser will visit.
func parseAllowURL(raw string, entry bool) (p allowURLParts, reason string) {
	if raw == "" {
		return p, "is empty"
	}
	if len(raw) > maxAllowURLLength {
		return p, "is longer than 4096 bytes"
	}
	if reason := checkURLChars(raw); reason != "" {
		return p, reason
	}
	u, err := url.Parse(raw)
	if err != nil {
		return p, "is not a valid URL"
	}
	if u.Scheme == "" {
		return p, "is not an absolute URL (it has no scheme)"
	}
	if deniedURLScheme(u.Scheme) {
		return p, "uses a forbidden scheme (" + u.Scheme + ")"
	}
	if u.Opaque != "" {
		return p, "is not a hierarchical URL (no \"//\" or \"/\" after the scheme)"
	}
	n := len(u.Scheme)
	if len(raw) <= n || raw[n] != ':' || !urlEqualFold(u.Scheme, raw[:n]) {
		return p, "is not a valid URL" // cannot happen; be safe
	}
	p.scheme = u.Scheme
	web := p.scheme == "http" || p.scheme == "https"

	// Split the rest as net/url does: query and fragment off, then the
	// authority up to the first '/'.
	rest := raw[n+1:]
	rest, p.fragment, _ = strings.Cut(rest, "#")
	rest, p.query, _ = strings.Cut(rest, "?")
	hostport := ""
	if strings.HasPrefix(rest, "//") {
		p.authority = true
		rest = rest[2:]
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			i = len(rest)
		}
		hostport, rest = rest[:i], rest[i:]
	}
	p.path = rest

	// Userinfo is refused here, on the authority split above (the one
	// compared), whatever net/url made of it; this is the only check
	// that names it, and TestNewAllowListInvalidEntries sees its reason.
	if strings.IndexByte(hostport, '@') >= 0 {
		return p, "contains userinfo (\"user@\")"
	}
	if strings.IndexByte(hostport, '%') >= 0 {
		return p, "has percent-encoding in its host"
	}
	if u.Host != hostport {
		return p, "is not a valid URL" // net/url saw another host; refuse
	}

	host, port, hasPort := splitURLHostPort(hostport)
	if hasPort {
		if !validURLPort(port) {
			return p, "has an invalid port (empty, leading zero or out of range)"
		}
		if p.scheme == "https" && port == "443" || p.scheme == "http" && port == "80" {
			port = ""
		}
	}
	p.port = port

	if entry && strings.HasPrefix(host, "*.") {
		if !web {
			return p, "has a wildcard host, which only http and https entries may have"
		}
		host = host[2:]
		if reason := checkWildcardSuffix(host); reason != "" {
			return p, reason
		}
		p.wildcard = true
	}
	if entry && strings.Count(raw, "*") > allowBoolInt(p.wildcard) {
		// Only the wildcard label's own '*' may appear: one elsewhere (a
		// path, a query) would read as a pattern but match only itself.
		return p, "has a wildcard that is not one leading label of an http(s) host"
	}
	switch {
	case host != "":
		if reason := checkURLHost(host); reason != "" {
			return p, reason
		}
	case web:
		return p, "has no host"
	case hasPort:
		return p, "has a port but no host"
	case p.path == "":
		return p, "has neither a host nor a path"
	}
	p.host = host

	if web && p.path == "" {
		p.path = "/"
	}
	if hasURLDotSegment(p.path) {
		return p, "has a \".\" or \"..\" path segment"
	}
	return p, ""
}

func allowBoolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// deniedURLScheme reports whether s (lower-case) is a scheme that runs code or
// reads local data when followed. Such URLs are refused as entries and as
// candidates, whatever the list says.
func deniedURLScheme(s string) bool {
	switch s {
	case "javascript", "vbscript", "data", "file", "blob", "filesystem", "about":
		return true
	}
	return false
}

// checkURLChars refuses control characters, spaces, backslashes, invalid UTF-8
// and invisible Unicode characters anywhere in s. Browsers strip tabs and
// newlines and read '\' as '/', so any of these could make a browser see
// another URL than the one checked.
func checkURLChars(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c < 0x20 || c == 0x7f:
				return "contains a control character"
			case c == ' ':
				return "contains a space"
			case c == '\\':
				return "contains a backslash"
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return "is not valid UTF-8"
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return "contains a control, space or invisible character"
		}
		i += size
	}
	return ""
}

// splitURLHostPort splits "host[:port]" (host may be a bracketed IPv6
// literal). hasPort is true when a ':' follows the host, even with an empty
// port.
func splitURLHostPort(hostport string) (host, port string, hasPort bool) {
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return hostport, "", false // checkURLHost refuses it
		}
		host, rest := hostport[:end+1], hostport[end+1:]
		if rest == "" {
			return host, "", false
		}
		if rest[0] != ':' {
			return hostport, "", false // checkURLHost refuses it
		}
		return host, rest[1:], true
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		return hostport[:i], hostport[i+1:], true
	}
	return hostport, "", false
}

// validURLPort reports whether port is a decimal number from 1 to 65535 without
// leading zeros.
func validURLPort(port string) bool {
	if port == "" || len(port) > 5 || port[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// checkURLHost validates a non-empty host: a bracketed IPv6 literal, or
// dot-separated labels of ASCII letters, digits, '-' and '_' and non-ASCII
// letters, marks and digits. Percent-encoding, '*', a trailing dot and empty
// labels are refused.
func checkURLHost(h string) string {
	if h[0] == '[' {
		if len(h) < 3 || h[len(h)-1] != ']' {
			return "has an invalid IPv6 host"
		}
		addr, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "has an invalid IPv6 host"
		}
		return ""
	}
	if len(h) > 253 {
		return "has a host longer than 253 bytes"
	}
	if h[len(h)-1] == '.' {
		return "has a host ending with a dot"
	}
	label := 0 // bytes in the current label
	for i := 0; i < len(h); {
		c := h[i]
		size := 1
		switch {
		case c == '.':
			if label == 0 {
				return "has an empty label in its host"
			}
			label = 0
			i++
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '*':
			return "has a wildcard that is not one leading label of an http(s) host"
		case c >= utf8.RuneSelf:
			var r rune
			r, size = utf8.DecodeRuneInString(h[i:])
			if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) {
				return "has a character in its host that is not a letter, digit or hyphen"
			}
		default:
			return "has a character in its host that is not a letter, digit or hyphen"
		}
		label += size
		i += size
		if label > 63 {
			return "has a host label longer than 63 bytes"
		}
	}
	return ""
}

// checkWildcardSuffix validates what follows "*." in a wildcard entry: at
// least two DNS labels, the last not a number (a browser would read the
// host as an IPv4 address).
func checkWildcardSuffix(s string) string {
	const bad = "has a wildcard host whose suffix is not at least two DNS labels (\"*.example.com\")"
	labels := 0
	last := ""
	for s != "" {
		var l string
		l, s, _ = strings.Cut(s, ".")
		if !isLDHLabel(l) {
			return bad
		}
		labels++
		last = l
	}
	if labels < 2 {
		return bad
	}
	if strings.HasPrefix(urlLower(last), "0x") || strings.Trim(last, "0123456789") == "" {
		return "has a wildcard host ending in a number"
	}
	return ""
}

// isLDHLabel reports whether s is one DNS label: 1 to 63 ASCII letters,
// digits and hyphens, not starting or ending with a hyphen.
func isLDHLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// hasURLDotSegment reports whether path has a "." or ".." segment, also
// percent-encoded ("%2e", ".%2E"), which browsers resolve away.
func hasURLDotSegment(path string) bool {
	for path != "" {
		var seg string
		seg, path, _ = strings.Cut(path, "/")
		if isURLDotSegment(seg) {
			return true
		}
	}
	return false
}

func isURLDotSegment(s string) bool {
	dots := 0
	for s != "" {
		switch {
		case s[0] == '.':
			s = s[1:]
		case len(s) >= 3 && s[0] == '%' && s[1] == '2' && s[2]|0x20 == 'e':
			s = s[3:]
		default:
			return false
		}
		if dots++; dots > 2 {
			return false
		}
	}
	return dots > 0
}

// urlEqualFold reports whether s equals lower, an ASCII-lower-cased
// string, ignoring the case of ASCII letters only. Unlike strings.EqualFold
// it does not fold non-ASCII characters (the Kelvin sign is not 'k').
func urlEqualFold(lower, s string) bool {
	if len(lower) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// urlLower lower-cases the ASCII letters of s and leaves other bytes alone.
func urlLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
