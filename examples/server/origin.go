package main

import (
	"errors"
	"strconv"
	"strings"
)

// This file holds the CORS_ORIGIN patterns: how they are read and how a
// request's Origin is matched against them.

// originPattern is one CORS_ORIGIN entry: a web origin, or one whose
// host starts with a wildcard label ("https://*.example.com").
type originPattern struct {
	scheme   string // "http" or "https"
	host     string // lower-case; after "*." for a wildcard
	port     string // "" for none or the scheme's default
	wildcard bool
}

// errOriginSyntax is what parseOriginPattern reports for an entry that is
// not an origin; the caller names the entry.
var errOriginSyntax = errors.New("not an origin such as https://app.example.com (scheme, host and port only; a * only as a whole leading label, as in https://*.example.com)")

// parseOriginPattern reads one CORS_ORIGIN entry. A '*' is allowed only
// as the whole first label of the host, followed by at least two labels
// ("https://*.example.com"); "https://*example.com", "https://ex*.com",
// "*://example.com", "https://*.com" and "https://example.com:*" are
// refused, since they would match origins nobody meant to list.
func parseOriginPattern(s string) (originPattern, error) {
	s = strings.TrimSuffix(s, "/")
	wildcard := false
	if scheme, rest, ok := strings.Cut(s, "://"); ok && strings.HasPrefix(rest, "*.") {
		wildcard = true
		s = scheme + "://" + rest[2:]
	}
	p, ok := parseOrigin(s)
	if !ok || (wildcard && (strings.Count(p.host, ".") < 1 || p.host[0] == '[')) {
		return originPattern{}, errOriginSyntax
	}
	p.wildcard = wildcard
	return p, nil
}

// parseOrigin reads a serialised web origin, scheme://host[:port], strictly:
// a lower- or upper-case http or https scheme, a host of dot-separated
// labels of ASCII letters, digits and hyphens (or a bracketed IPv6
// address), an optional port without a leading zero, and nothing else — no
// path, userinfo, '*', escape or trailing dot.
func parseOrigin(s string) (originPattern, bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") {
		return originPattern{}, false
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || strconv.Itoa(n) != port {
			return originPattern{}, false
		}
		if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
			port = ""
		}
	}
	host = strings.ToLower(host)
	if !validOriginHost(host) {
		return originPattern{}, false
	}
	return originPattern{scheme: scheme, host: host, port: port}, true
}

// validOriginHost reports whether h is a bracketed IPv6 address or
// dot-separated non-empty labels of a-z, 0-9 and '-' not starting or ending
// with '-'.
func validOriginHost(h string) bool {
	if strings.HasPrefix(h, "[") {
		if len(h) < 3 || !strings.HasSuffix(h, "]") {
			return false
		}
		for _, c := range h[1 : len(h)-1] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == ':' || c == '.') {
				return false
			}
		}
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if !validOriginLabel(label) {
			return false
		}
	}
	return true
}

func validOriginLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range []byte(l) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// originAllowed reports whether a request's Origin header matches one of
// the patterns: same scheme, same port (default ports normalised), and the
// same host, or, for a wildcard pattern, exactly one more label in front
// of its host ("https://*.example.com" matches "https://app.example.com",
// not "https://example.com", "https://a.b.example.com" or
// "https://evilexample.com").
func originAllowed(patterns []originPattern, origin string) bool {
	o, ok := parseOrigin(origin)
	if !ok {
		return false
	}
	for _, p := range patterns {
		if p.scheme != o.scheme || p.port != o.port {
			continue
		}
		if !p.wildcard {
			if p.host == o.host {
				return true
			}
			continue
		}
		label, rest, ok := strings.Cut(o.host, ".")
		if ok && rest == p.host && validOriginLabel(label) {
			return true
		}
	}
	return false
}
