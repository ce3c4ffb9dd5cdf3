package httpapi

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gousers/users"
)

// This file holds the middleware that tells an application's own handlers
// who is calling: Authenticate, PrincipalFrom, and the Require… guards.

// DefaultSignInURL is where RequireUser and its kin send a browser that is
// not signed in, unless WithSignInURL says otherwise: the console's
// sign-in page at its default prefix (package webui).
const DefaultSignInURL = "/admin/login"

// ConsoleCookieName is the cookie in which the console's sign-in pages
// (package webui) keep the session's access token. Authenticate reads it
// after the Directus session cookie.
const ConsoleCookieName = "webui_session"

// WithSignInURL sets where the guards (RequireUser, RequireAdmin,
// RequireRole) send a browser that is not signed in: an absolute path
// ("/login") or an absolute http(s) URL; "?next=" and the request's path
// are appended for a GET or HEAD. It applies to Authenticate only.
// Default: DefaultSignInURL. Authenticate panics on anything else.
func WithSignInURL(u string) Option {
	return func(c *config) { c.signIn = u }
}

// WithTrustedOrigins lets cookie-authenticated state-changing requests
// come from these origins ("https://app.example.com") as well as from the
// request's own (see http.CrossOriginProtection.AddTrustedOrigin); needed
// when a proxy rewrites the Host header or the pages are served from
// another origin. It applies to Authenticate only. Authenticate panics on a
// malformed origin. Default: none.
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) { c.origins = append(c.origins, origins...) }
}

// principalKey carries an authState in a request's context.
type principalKey struct{}

// authState is what Authenticate learned about a request.
type authState struct {
	p   *users.Principal
	err error // why the credential presented was refused; nil: none, or it resolved
	a   *authn
}

// authn is Authenticate's configuration.
type authn struct {
	h      *handler // for writeError and the cookie options
	cop    *http.CrossOriginProtection
	signIn string
}

// Authenticate returns middleware that finds out who is calling and puts
// that principal into the request's context, for PrincipalFrom and the
// guards (RequireUser, RequireAdmin, RequireRole). It never refuses a
// request by itself, except a cross-origin one (below): a request without
// credentials, or with credentials that do not resolve, goes on as
// anonymous, and the guards decide.
//
// The credential is the first of, as Directus reads them:
//
//   - the Authorization header's bearer token (when the header is present,
//     only it counts);
//   - the access_token query parameter;
//   - the Directus session cookie (WithSessionCookie; default
//     directus_session_token), set by POST /auth/login in session mode;
//   - the console's cookie (ConsoleCookieName), set by the sign-in pages of
//     package webui.
//
// It is resolved with users.Manager.ResolveAccessToken: the signature, the
// expiry, that the session still exists and that its user is active, and
// the user's admin access and two-factor obligation, read from the Store in
// one call per request — so signing out, a suspension or a lost role take
// effect on the very next request. An
// expired cookie is not renewed here: an API client refreshes
// (POST /auth/refresh), and a browser sent to the sign-in page is sent
// back once its session is renewed there.
//
// Cross-origin protection: a state-changing request (any method but GET,
// HEAD and OPTIONS) authenticated by a cookie is refused with 403 when
// http.CrossOriginProtection finds that it comes from another origin
// (Sec-Fetch-Site, else Origin against Host; WithTrustedOrigins adds
// origins), since a browser attaches cookies to requests another site
// makes. A request whose credential is a bearer token or the
// access_token parameter is exempt: another site cannot make a browser
// send those. The refusal is answered like the guards answer (below).
//
// The request's context also carries a users.RequestInfo (users.WithRequest)
// with the client's address, User-Agent, Origin, request id and the
// principal's user id as Actor, so that the Manager's calls a handler makes
// with it record who acted in their events.
//
// Options that apply: WithSessionCookie, WithSignInURL,
// WithTrustedOrigins, WithLogger, WithTrustedProxies (for the client IP
// logged with an unexpected error); the others are ignored. It panics on
// an invalid option, or when m is nil.
func Authenticate(m *users.Manager, opts ...Option) func(http.Handler) http.Handler {
	if m == nil {
		panic("httpapi: Authenticate: nil *users.Manager")
	}
	h := newHandlerConfig(m, opts)
	a := &authn{h: h, cop: http.NewCrossOriginProtection(), signIn: h.cfg.signIn}
	if a.signIn == "" {
		a.signIn = DefaultSignInURL
	}
	if err := checkRedirect(a.signIn); err != nil {
		panic("httpapi: WithSignInURL: " + err.Error())
	}
	for _, o := range h.cfg.origins {
		if err := a.cop.AddTrustedOrigin(o); err != nil {
			panic("httpapi: WithTrustedOrigins: " + err.Error())
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := &authState{a: a}
			tok, fromCookie := a.credential(r)
			if tok != "" {
				if fromCookie && !safeMethod(r.Method) {
					if err := a.cop.Check(r); err != nil {
						a.refuse(w, r, errCrossOrigin)
						return
					}
				}
				if strings.Count(tok, ".") != 2 {
					st.err = users.ErrInvalidCredentials
				} else {
					st.p, st.err = m.ResolveAccessToken(r.Context(), tok)
				}
				if st.err != nil && isStoreFailure(st.err) {
					h.cfg.log.ErrorContext(r.Context(), "httpapi: resolving a credential",
						"method", r.Method, "path", r.URL.Path, "error", st.err.Error())
				}
			}
			// The Manager's calls made with the request's context record the
			// request's facts, and the principal as the actor, in their events.
			ri := h.requestInfo(r)
			if st.p != nil {
				ri.Actor = st.p.User.ID
			}
			ctx := context.WithValue(users.WithRequest(r.Context(), ri), requestInfoKey{}, ri)
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, principalKey{}, st)))
		})
	}
}

// credential returns the request's credential and whether it came from a
// cookie.
func (a *authn) credential(r *http.Request) (string, bool) {
	if hs := r.Header.Values("Authorization"); len(hs) > 0 {
		scheme, cred, ok := strings.Cut(hs[0], " ")
		if len(hs) != 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
			return "-", false // present but unusable: refused, never a cookie
		}
		if cred = strings.TrimSpace(cred); cred == "" {
			return "-", false
		}
		return cred, false
	}
	// A query can name access_token only literally or with escapes: one
	// with neither is not parsed (most requests of an app have none).
	if raw := r.URL.RawQuery; strings.Contains(raw, "access_token") || strings.Contains(raw, "%") {
		if qs, ok := r.URL.Query()["access_token"]; ok {
			if len(qs) != 1 || qs[0] == "" {
				return "-", false
			}
			return qs[0], false
		}
	}
	if v := cookieValue(r, a.h.cfg.sessionCookie.Name); v != "" {
		return v, true
	}
	if v := cookieValue(r, ConsoleCookieName); v != "" {
		return v, true
	}
	return "", false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// isStoreFailure reports whether err is something other than a refused
// credential.
func isStoreFailure(err error) bool {
	return !errors.Is(err, users.ErrInvalidCredentials) && !errors.Is(err, users.ErrInvalidToken) &&
		!errors.Is(err, users.ErrTokenExpired)
}

// errCrossOrigin refuses a cookie-authenticated state change from another
// origin.
var errCrossOrigin = errors.New("httpapi: cross-origin request refused")

// PrincipalFrom returns who the request whose context ctx is was made by,
// as Authenticate resolved it, or nil for an anonymous request (no
// credential, or one that did not resolve) and for a context Authenticate
// never saw. The principal's user is as the Store had it when the request
// began: its id, email, role and status; Admin says whether its role or a
// policy has admin access; SessionID names the session
// (users.Manager.EndSession ends it).
func PrincipalFrom(ctx context.Context) *users.Principal {
	if st, ok := ctx.Value(principalKey{}).(*authState); ok {
		return st.p
	}
	return nil
}

// RequireUser lets through requests whose principal (PrincipalFrom) is an
// active user; it must be behind Authenticate. Others are refused:
//
//   - a request that asks for HTML (its Accept header names text/html, as
//     a browser's navigation does) is redirected (303 See Other) to the
//     sign-in page (WithSignInURL), with ?next= and its own path and
//     query when it is a GET or HEAD;
//   - any other request — an API call — is answered in Directus's error
//     envelope: 401 INVALID_CREDENTIALS without a credential or with one
//     whose session ended or whose user is no longer active, 401
//     TOKEN_EXPIRED for an expired token (the client refreshes), 403
//     INVALID_TOKEN for a token that is not one of this Manager's.
//
// A user who must set up two-factor sign-in first
// (users.Principal.TwoFactorSetupRequired) is refused by every guard: 403
// FORBIDDEN, or a page saying so.
//
// Behind no Authenticate, every request is refused with 500 and the
// mistake is logged.
func RequireUser(next http.Handler) http.Handler {
	return guard(next, func(*users.Principal) bool { return true })
}

// RequireAdmin is RequireUser for users with admin access (their role's or
// a policy's). A signed-in user without it gets 403: FORBIDDEN in
// Directus's envelope for an API call, a short HTML page for a browser
// (there is no point in signing in again).
func RequireAdmin(next http.Handler) http.Handler {
	return guard(next, func(p *users.Principal) bool { return p.Admin })
}

// RequireRole returns a guard like RequireAdmin for users whose role is one
// of roles (role ids, users.Role.ID: names can change). A user with admin
// access passes whatever its role, as admin access passes every
// permission check in Directus.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	roles = slices.Clone(roles)
	return func(next http.Handler) http.Handler {
		return guard(next, func(p *users.Principal) bool {
			return p.Admin || (p.User.Role != nil && slices.Contains(roles, *p.User.Role))
		})
	}
}

func guard(next http.Handler, allow func(*users.Principal) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, ok := r.Context().Value(principalKey{}).(*authState)
		switch {
		case !ok:
			slogMissing(r)
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		case st.p == nil:
			err := st.err
			if err == nil {
				err = users.ErrInvalidCredentials
			}
			st.a.refuse(w, r, err)
		case st.p.TwoFactorSetupRequired:
			// Its role or policy enforces two-factor sign-in: nothing
			// before it is set up.
			st.a.refuse(w, r, users.ErrTwoFactorRequired)
		case !allow(st.p):
			st.a.refuse(w, r, users.ErrForbidden)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// wantsHTML reports whether r asks for a page rather than data.
func wantsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/html") {
				return true
			}
		}
	}
	return false
}

// refuse answers a request the guards or the cross-origin check turn
// away: a page or a redirect for a browser, Directus's envelope otherwise.
func (a *authn) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if !wantsHTML(r) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if errors.Is(err, errCrossOrigin) {
			err = users.ErrForbidden
		}
		a.h.writeError(w, r, err)
		return
	}
	switch {
	case errors.Is(err, errCrossOrigin):
		writePage(w, http.StatusForbidden, "Request Refused", "This form was sent from another site, so it was refused. Nothing was changed.")
	case errors.Is(err, users.ErrTwoFactorRequired):
		writePage(w, http.StatusForbidden, "Two-Factor Sign-In Required", "Your account must set up two-factor sign-in, on its account page, before it opens this page.")
	case errors.Is(err, users.ErrForbidden):
		writePage(w, http.StatusForbidden, "Access Denied", "Your account may not open this page.")
	case isStoreFailure(err):
		writePage(w, http.StatusInternalServerError, "Something Went Wrong", "The page could not be opened. Try again in a moment.")
	default:
		target := a.signIn
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + "next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><p role="alert">{{.Text}}</p></main></body></html>
`))

// writePage answers a short HTML page that loads nothing.
func writePage(w http.ResponseWriter, status int, title, text string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, struct{ Title, Text string }{title, text})
}

// slogMissing logs a guard used without Authenticate in front of it.
func slogMissing(r *http.Request) {
	slog.ErrorContext(r.Context(), "httpapi: a Require… guard runs without httpapi.Authenticate in front of it; every request is refused",
		"method", r.Method, "path", r.URL.Path)
}
