package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gousers/users"
)

// DefaultMaxBodyBytes is the request body limit when WithMaxBodyBytes is not
// given: 1 MiB.
const DefaultMaxBodyBytes int64 = 1 << 20

type config struct {
	authorize      func(*http.Request) bool
	maxBody        int64
	trusted        []netip.Prefix
	verifyRedirect string
	log            *slog.Logger
	limiter        users.Limiter
	registerLimit  users.Limiter
	refreshCookie  CookieOptions
	sessionCookie  CookieOptions
	deviceCookie   CookieOptions
	serviceID      string
}

// Option configures the handler New returns.
type Option func(*config)

// WithAuthorizer sets the hook that decides whether a request may act as an
// administrator: it must return true only for requests that may create,
// list and change users, invite people, and read and change roles and
// settings. It is called before anything else on every admin route (the
// body is not read before it answers). When it says no, the request's
// access token is tried: that of an active user whose role or policies
// have admin access makes the request an administrator too (see the
// package doc, Sessions). Default: no request is an administrator by the
// hook, so only such users' access tokens open the admin routes. Passing
// nil keeps the default.
//
// A refused request gets 403 FORBIDDEN, with or without credentials, as
// Directus answers for items the caller cannot see — except an expired
// access token, 401 TOKEN_EXPIRED, so that a client refreshes. See
// BearerToken for a static token.
func WithAuthorizer(f func(r *http.Request) bool) Option {
	return func(c *config) {
		if f != nil {
			c.authorize = f
		}
	}
}

// WithMaxBodyBytes sets the largest request body read, in bytes; a bigger
// one is answered 400 INVALID_PAYLOAD. Default: DefaultMaxBodyBytes (1 MiB).
// n <= 0 keeps the default.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithTrustedProxies sets the reverse proxies whose X-Forwarded-For header is
// believed (see ClientIP). Default: none, so the client IP is always the
// direct peer. New panics on an invalid prefix.
func WithTrustedProxies(p ...netip.Prefix) Option {
	return func(c *config) { c.trusted = append(c.trusted, p...) }
}

// WithVerifyRedirect makes GET /users/register/verify-email answer a
// successful verification with 302 Found to u (a sign-in page, say) instead
// of 204 No Content; nothing is appended to u. Errors are still answered
// with the JSON error envelope. u must be an absolute http(s) URL or an
// absolute path ("/login"); New panics otherwise. Default: 204.
func WithVerifyRedirect(u string) Option {
	return func(c *config) { c.verifyRedirect = u }
}

// WithLogger sets the logger of unexpected errors (answered 500 with a
// generic message): the method, the path (never the query, which may hold a
// token), the client IP and the error are logged. Default: slog.Default().
// Passing nil keeps the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithRateLimiter limits the public routes (register, resend, verify-email,
// accept-invite, login, refresh, logout, password request and reset) per
// client IP (see ClientIP; the key is the
// address's text form, "invalid IP" when RemoteAddr does not parse): a
// request the limiter refuses is answered 429 REQUESTS_EXCEEDED with
// Retry-After before anything else is done. The Manager's own per-address
// limits (users.WithMailLimiter, users.WithLoginLimiter) apply as well.
// Default: none — behind a proxy that is not listed in WithTrustedProxies
// every client would share the proxy's IP. Passing nil keeps the default.
func WithRateLimiter(l users.Limiter) Option {
	return func(c *config) {
		if l != nil {
			c.limiter = l
		}
	}
}

// WithRegisterRateLimiter limits POST /users/register per client IP, as
// Directus's RATE_LIMITER_REGISTRATION_* settings do (Directus's default is
// 5 per 60 s: users.NewMemoryLimiter(5, time.Minute)), and POST
// /users/register/resend with it (the two share each IP's count: both mail
// a verification link). A refused request
// is answered 429 REQUESTS_EXCEEDED with Retry-After and the extensions
// limit and reset, before the body is read. It applies on top of
// WithRateLimiter. Default: none. Passing nil keeps the default.
func WithRegisterRateLimiter(l users.Limiter) Option {
	return func(c *config) {
		if l != nil {
			c.registerLimit = l
		}
	}
}

// handler serves the routes of the package doc.
type handler struct {
	m   *users.Manager
	cfg config
	mux *http.ServeMux
}

// New returns an http.Handler serving m in the Directus wire format on the
// routes listed in the package doc. Mount it at the root of a mux, or under a
// prefix with http.StripPrefix. It panics when m is nil or an option is
// invalid (a programming error, as http.ServeMux panics on a bad pattern).
func New(m *users.Manager, opts ...Option) http.Handler {
	if m == nil {
		panic("httpapi: New: nil *users.Manager")
	}
	c := config{
		authorize: func(*http.Request) bool { return false },
		maxBody:   DefaultMaxBodyBytes,
		log:       slog.Default(),
	}
	for _, o := range opts {
		o(&c)
	}
	c.trusted = append([]netip.Prefix(nil), c.trusted...) // never the caller's array
	for i, p := range c.trusted {
		if !p.IsValid() {
			panic(fmt.Sprintf("httpapi: WithTrustedProxies: invalid prefix %v", p))
		}
		c.trusted[i] = p.Masked()
	}
	if c.verifyRedirect != "" {
		if err := checkRedirect(c.verifyRedirect); err != nil {
			panic("httpapi: WithVerifyRedirect: " + err.Error())
		}
	}
	checkCookie("WithRefreshCookie", &c.refreshCookie, DefaultRefreshCookieName)
	checkCookie("WithSessionCookie", &c.sessionCookie, DefaultSessionCookieName)
	checkCookie("WithDeviceCookie", &c.deviceCookie, DefaultDeviceCookieName)

	h := &handler{m: m, cfg: c, mux: http.NewServeMux()}
	public := map[string]http.HandlerFunc{
		"POST /users/register":             h.register,
		"GET /users/register/verify-email": h.verifyEmail,
		// A link scanner's HEAD must not consume a verification token.
		"HEAD /users/register/verify-email": h.notFound,
		"POST /users/invite/accept":         h.acceptInvite,
		"POST /users/register/resend":       h.resendVerification,
		"POST /auth/login":                  h.login,
		"POST /auth/refresh":                h.refresh,
		"POST /auth/logout":                 h.logout,
		"POST /auth/password/request":       h.passwordRequest,
		"POST /auth/password/reset":         h.passwordReset,
		"/":                                 h.notFound,
	}
	// The caller's own user: an access token is required, and is the limit.
	h.mux.HandleFunc("GET /users/me", h.me)
	h.mux.HandleFunc("PATCH /users/me", h.updateMe)
	admin := map[string]http.HandlerFunc{
		"POST /users/invite": h.invite,
		"POST /users":        h.createUser,
		"GET /users":         h.listUsers,
		"PATCH /users":       h.updateUsers,
		"GET /users/{id}":    h.getUser,
		"PATCH /users/{id}":  h.updateUser,
		"DELETE /users":      h.deleteUsers,
		"DELETE /users/{id}": h.deleteUser,
		"GET /roles":         h.listRoles,
		"POST /roles":        h.createRole,
		"GET /settings":      h.getSettings,
		"PATCH /settings":    h.updateSettings,
	}
	for p, f := range public {
		if p == "POST /users/register" || p == "POST /users/register/resend" {
			f = h.limitedBy(h.cfg.registerLimit, f)
		}
		if p != "/" {
			f = h.limitedBy(h.cfg.limiter, f)
		}
		h.mux.HandleFunc(p, f)
	}
	for p, f := range admin {
		h.mux.HandleFunc(p, h.admin(f))
	}
	// The flows' own paths are not user ids: another method on them is an
	// unknown route, for anyone. (Directus matches GET /users/:pk with
	// "register" as the id, and answers 403 as for a user the caller may
	// not see; our user ids are UUIDs, so this cannot hide one.)
	for _, p := range []string{"/users/register", "/users/invite"} {
		for _, method := range []string{"GET", "PATCH", "DELETE"} {
			h.mux.HandleFunc(method+" "+p, h.notFound)
		}
	}
	h.serverRoutes()
	return h
}

// ServeHTTP sets the headers every answer carries, then routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
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
			case err == nil && p.Admin:
				f(w, r)
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

// limitedBy asks the rate limiter l, if any, before anything else.
func (h *handler) limitedBy(l users.Limiter, f http.HandlerFunc) http.HandlerFunc {
	if l == nil {
		return f
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := l.Allow(r.Context(), ClientIP(r, h.cfg.trusted).String()); err != nil {
			h.writeError(w, r, err)
			return
		}
		f(w, r)
	}
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, errRouteNotFound)
}

// checkRedirect accepts an absolute http(s) URL without userinfo, or an
// absolute path that is not protocol-relative.
func checkRedirect(s string) error {
	if strings.ContainsAny(s, "\\\r\n\t") {
		return fmt.Errorf("%q must not contain backslashes or control characters", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		if u.Host == "" || u.User != nil {
			return fmt.Errorf("%q must have a host and no userinfo", s)
		}
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
	default:
		return fmt.Errorf("%q must be an absolute http(s) URL or an absolute path", s)
	}
	return nil
}
