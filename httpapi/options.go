package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"

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
	signIn         string   // Authenticate
	origins        []string // Authenticate
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
// with the JSON error envelope, except a link with an empty or repeated
// token, which is sent to u as well (as Directus sends it to its sign-in
// page; /admin/login without this option). u must be an absolute http(s) URL or an
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
// limits (users.Limits.Mail, users.Limits.Login) apply as well.
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
// 5 per 60 s: &users.MemoryLimiter{Points: 5, Window: time.Minute}), and POST
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

// CookieOptions describes a cookie the handler sets. Every cookie is
// HttpOnly; Max-Age follows what the cookie holds.
type CookieOptions struct {
	// Name of the cookie.
	Name string
	// Domain; "" makes a host-only cookie.
	Domain string
	// Path; "" is "/".
	Path string
	// Secure sends the cookie over HTTPS only. Set it whenever the API is
	// served over HTTPS.
	Secure bool
	// SameSite: http.SameSiteLaxMode, StrictMode or NoneMode (which
	// browsers accept only with Secure). The zero value and
	// http.SameSiteDefaultMode mean Lax.
	SameSite http.SameSite
}

// Default cookie names: Directus's REFRESH_TOKEN_COOKIE_NAME and
// SESSION_COOKIE_NAME, and this package's device cookie (Directus has
// none).
const (
	DefaultRefreshCookieName = "directus_refresh_token"
	DefaultSessionCookieName = "directus_session_token"
	DefaultDeviceCookieName  = "users_device"
)

// WithRefreshCookie configures the cookie that holds the refresh token in
// cookie mode (Directus's REFRESH_TOKEN_COOKIE_NAME, _DOMAIN, _SECURE,
// _SAME_SITE). Default: directus_refresh_token, host-only, Path /, not
// Secure, SameSite Lax — Directus's defaults. Max-Age is the refresh
// lifetime (users.Lifetimes). New panics on an invalid value
// (an empty or malformed name, SameSite None without Secure).
func WithRefreshCookie(c CookieOptions) Option {
	return func(cfg *config) { cfg.refreshCookie = c }
}

// WithSessionCookie configures the cookie that holds the access token in
// session mode (Directus's SESSION_COOKIE_NAME, _DOMAIN, _SECURE,
// _SAME_SITE). Default: directus_session_token, host-only, Path /, not
// Secure, SameSite Lax. Max-Age is what is left of the session. New
// panics on an invalid value.
func WithSessionCookie(c CookieOptions) Option {
	return func(cfg *config) { cfg.sessionCookie = c }
}

// WithDeviceCookie configures the device cookie a successful login sets
// (see users.Manager.Login: a device that logged in before keeps getting
// in while strangers' guesses lock the address for unknown devices).
// Default: users_device, host-only, Path /, not Secure, SameSite Lax;
// Max-Age users.DeviceCookieLifetime. New panics on an invalid value.
func WithDeviceCookie(c CookieOptions) Option {
	return func(cfg *config) { cfg.deviceCookie = c }
}

// WithServiceID sets the serviceId GET /server/health shows
// administrators (Directus shows its KEY). Default: none (the field is
// left out).
func WithServiceID(id string) Option {
	return func(c *config) { c.serviceID = id }
}
