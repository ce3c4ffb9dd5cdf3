package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gousers/users"
)

// This file holds who a request is: a static token (BearerToken), the
// client IP, the access token a request carries, and the admin check every
// admin route passes.

// BearerToken returns an authorizer (see WithAuthorizer) that lets a
// request act as an administrator when it carries token, either as
// "Authorization: Bearer <token>" or, as Directus also accepts, as the
// access_token query parameter. When an Authorization header is present
// only it counts. The comparison takes the same time whatever the
// candidate. An empty token refuses every request.
//
// A token in a query string ends up in proxy and server logs; prefer the
// header.
func BearerToken(token string) func(*http.Request) bool {
	if token == "" {
		return func(*http.Request) bool { return false }
	}
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) bool {
		var got string
		if hs := r.Header.Values("Authorization"); len(hs) > 0 {
			scheme, cred, ok := strings.Cut(hs[0], " ")
			if len(hs) != 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
				return false
			}
			got = strings.TrimSpace(cred)
		} else {
			qs := r.URL.Query()["access_token"]
			if len(qs) != 1 {
				return false
			}
			got = qs[0]
		}
		if got == "" {
			return false
		}
		// Hashing first makes the comparison independent of the lengths.
		sum := sha256.Sum256([]byte(got))
		return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
	}
}

// ClientIP returns the address of the client that made r. It is the direct
// peer (r.RemoteAddr) unless that peer is in one of the trusted prefixes;
// then X-Forwarded-For is read from right to left (all the request's
// X-Forwarded-For headers, in order), skipping the addresses of trusted
// proxies, and the first untrusted address is the client. An entry that
// does not parse ends the walk: the last trusted hop is returned, since
// nothing to the left of garbage can be believed. When every hop is
// trusted, the leftmost is returned.
//
// So a client that sends its own X-Forwarded-For through an untrusted path,
// or straight to the server, cannot choose its IP. IPv4-mapped IPv6
// addresses are unmapped. The result is the zero Addr when RemoteAddr does
// not parse (a Unix socket, say).
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		if strings.TrimSpace(hops[i]) == "" {
			continue // an empty header line says nothing
		}
		entries := strings.Split(hops[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := parseHop(strings.TrimSpace(entries[j]))
			if !ok {
				return client
			}
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

// parseHop parses "1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80"; zones are
// dropped and IPv4-mapped addresses unmapped.
func parseHop(s string) (netip.Addr, bool) {
	// A RemoteAddr has a port: try that form first when s looks like one
	// ("1.2.3.4:80", "[::1]:80"), so that the usual case costs no failed
	// parse (and its error). A string is never both an address and an
	// address with a port, so the order changes no answer.
	withPort := false
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		withPort = s[0] == '[' || strings.IndexByte(s[:i], ':') < 0
	}
	if withPort {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().WithZone("").Unmap(), true
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// admin checks, before anything else, that the request may act as an
// administrator: the authorizer (WithAuthorizer) says so, or the request
// carries the access token of an active user with admin access (see
// accessToken). An expired access token is 401 TOKEN_EXPIRED, so that a
// client refreshes; any other refusal is 403 FORBIDDEN.
func (h *handler) admin(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.authorize(r) {
			f(w, r)
			return
		}
		if tok := h.accessToken(r); strings.Count(tok, ".") == 2 {
			p, err := h.m.ResolveAccessToken(r.Context(), tok)
			switch {
			case err == nil && p.Admin && p.TwoFactorSetupRequired:
				h.writeError(w, r, users.ErrTwoFactorRequired)
				return
			case err == nil && p.Admin:
				f(w, asActor(r, p.User.ID))
				return
			case errors.Is(err, users.ErrTokenExpired):
				h.writeError(w, r, err)
				return
			case err != nil && !errors.Is(err, users.ErrInvalidToken) && !errors.Is(err, users.ErrInvalidCredentials):
				h.writeError(w, r, err) // the Store failed
				return
			}
		}
		h.writeError(w, r, users.ErrForbidden)
	}
}

// isAdmin reports whether r may see what administrators see, as the admin
// routes decide it: the authorizer says so, or r carries the access token
// of an active user with admin access. It answers no error: a request
// that is not an administrator's, for whatever reason, is anonymous.
func (h *handler) isAdmin(r *http.Request) bool {
	if h.cfg.authorize(r) {
		return true
	}
	if tok := h.accessToken(r); strings.Count(tok, ".") == 2 {
		p, err := h.m.ResolveAccessToken(r.Context(), tok)
		return err == nil && p.Admin && !p.TwoFactorSetupRequired
	}
	return false
}

// accessToken returns the access token a request carries: the
// Authorization header's bearer token (when the header is present only it
// counts), else the access_token query parameter, else the session
// cookie, as Directus reads them.
func (h *handler) accessToken(r *http.Request) string {
	if hs := r.Header.Values("Authorization"); len(hs) > 0 {
		scheme, cred, ok := strings.Cut(hs[0], " ")
		if len(hs) != 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		return strings.TrimSpace(cred)
	}
	if qs := r.URL.Query()["access_token"]; len(qs) > 0 {
		if len(qs) != 1 {
			return ""
		}
		return qs[0]
	}
	return cookieValue(r, h.cfg.sessionCookie.Name)
}

// principal resolves the request's access token: 401 INVALID_CREDENTIALS
// without one (or with one that is not an access token), 401
// TOKEN_EXPIRED when it expired, 403 INVALID_TOKEN when its signature is
// wrong, 401 INVALID_CREDENTIALS when its session ended or its user is no
// longer active, 403 FORBIDDEN when its user must set up a second factor
// first and the route is not one of those that allow it (setupPatterns).
func (h *handler) principal(r *http.Request) (*users.Principal, error) {
	tok := h.accessToken(r)
	if strings.Count(tok, ".") != 2 {
		return nil, users.ErrInvalidCredentials
	}
	p, err := h.m.ResolveAccessToken(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	if err := setupOnly(r, p); err != nil {
		return nil, err
	}
	return p, nil
}
