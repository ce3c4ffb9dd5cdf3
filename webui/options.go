package webui

import (
	"log/slog"
	"net/http"

	"github.com/gousers/users"
)

// DefaultPrefix is the path the console is served under unless WithPrefix
// says otherwise: Directus's.
const DefaultPrefix = "/admin"

type config struct {
	prefix    string
	authorize func(*http.Request) bool
	secure    *bool
	log       *slog.Logger
	origins   []string
	clientIP  func(*http.Request) string
	register  users.Limiter
	landing   string // WithUserSignIn
}

// Option configures the handler New returns.
type Option func(*config)

// WithPrefix sets the path the console is served under, without a trailing
// slash ("/admin"). Mount the handler at prefix+"/" without stripping the
// prefix: mux.Handle("/admin/", webui.New(m)). Default: DefaultPrefix.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithAuthorizer hands admin access to the host app: f must return true
// only for requests from an administrator (one who may create, list and
// change users, invite people, and change roles and settings). With it, the
// built-in sign-in is off (/login answers 404) and a refused request gets a
// 403 page. Default: the built-in sign-in. Passing nil keeps the default.
func WithAuthorizer(f func(*http.Request) bool) Option {
	return func(c *config) {
		if f != nil {
			c.authorize = f
		}
	}
}

// WithSecureCookies sets whether the console's cookies carry the Secure
// attribute (sent over HTTPS only). Pass true when the public URL is
// https, notably behind a proxy that terminates TLS. Default: Secure when
// the request itself came over TLS.
func WithSecureCookies(secure bool) Option {
	return func(c *config) { c.secure = &secure }
}

// WithTrustedOrigins lets state-changing requests come from these origins
// ("https://admin.example.com") as well as from the console's own (see
// http.CrossOriginProtection.AddTrustedOrigin); needed only when a proxy
// rewrites the Host header. New panics on a malformed origin. Default:
// none.
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) { c.origins = append(c.origins, origins...) }
}

// WithLogger sets the logger of unexpected errors (answered with a generic
// page): the method, the path (never the query, which may hold a token)
// and the error. Default: slog.Default(). Passing nil keeps the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithClientIP sets how the built-in sign-in finds a request's client
// address, which keys the Manager's per-IP login limit (behind a reverse
// proxy, pass one that reads X-Forwarded-For from trusted proxies only,
// such as httpapi.ClientIP). Default: the host of r.RemoteAddr.
func WithClientIP(f func(*http.Request) string) Option {
	return func(c *config) { c.clientIP = f }
}

// WithRegisterRateLimiter limits the register page's form per client
// address (see WithClientIP), as httpapi.WithRegisterRateLimiter limits
// POST /users/register: pass both the same limiter, so that each address
// has one count whichever way it registers. A refused form is answered 429
// with Retry-After before it is read, and changes nothing. Default: none.
// Passing nil keeps the default.
func WithRegisterRateLimiter(l users.Limiter) Option {
	return func(c *config) {
		if l != nil {
			c.register = l
		}
	}
}

// WithUserSignIn opens the built-in sign-in to every active user, not only
// administrators: the sign-in, sign-out, forgot-password and
// reset-password pages then serve an application's own users. landing is
// the application's page a user without admin access goes to after
// signing in (an absolute path, "/home"); New panics on anything else.
// Without it, the console signs in administrators only (others are told
// their account cannot use it). With it:
//
//   - after signing in, a user goes to the ?next= of the sign-in page when
//     that is a path of this site (never another site: a
//     protocol-relative, backslashed, encoded or absolute URL is ignored),
//     else an administrator to the console and others to landing; a user
//     without admin access is never sent to a console page;
//   - the session cookie is scoped to the whole site (Path /), so that
//     the application's pages receive it: httpapi.Authenticate reads it
//     (httpapi.ConsoleCookieName) and tells them who is calling;
//   - the console's pages still need admin access: a signed-in user
//     without it gets a 403 page.
//
// It has no effect with WithAuthorizer (the host app signs people in).
func WithUserSignIn(landing string) Option {
	return func(c *config) { c.landing = landing }
}
