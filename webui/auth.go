package webui

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gousers/users"
)

// admin lets only administrators through to f: those the authorizer
// accepts (WithAuthorizer), or else those signed in with the built-in
// sign-in. Others go to the sign-in page, or get a 403 page when they are
// signed in without admin access (or refused by the authorizer); nothing
// of the request is read before that. A user whose role or policy
// requires two-factor sign-in and who has none goes to the account page
// to set it up first.
func (h *handler) admin(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var a *adminInfo
		if h.cfg.authorize != nil {
			if !h.cfg.authorize(r) {
				h.render(w, r, http.StatusForbidden, "message", &page{Title: "Access Denied",
					Data: messageData{Alert: "This page is for administrators only.", Next: "Sign in to the application as an administrator, then open this page again."}})
				return
			}
			a = &adminInfo{admin: true}
		} else {
			m := h.resolveMember(w, r)
			if m != nil && m.p.TwoFactorSetupRequired {
				h.redirect(w, r, h.p+"/account", &flash{Alert: []string{"Your role requires two-factor sign-in: set it up to continue."}})
				return
			}
			if m != nil {
				a = &adminInfo{id: m.p.User.ID, email: m.p.User.Email, session: m.token, admin: m.p.Admin}
			}
			if a == nil {
				target := h.p + "/login"
				if r.Method == http.MethodGet {
					target += "?next=" + url.QueryEscape(r.URL.RequestURI())
				}
				http.Redirect(w, r, target, http.StatusSeeOther)
				return
			}
			if !a.admin {
				d := messageData{Alert: "This page is for administrators only.", Next: "Your account has no admin access."}
				if h.cfg.landing != "" {
					d.NextURL, d.NextText = h.cfg.landing, "Back to the application"
				}
				h.render(w, r, http.StatusForbidden, "message", &page{Title: "Access Denied", Data: d})
				return
			}
		}
		ctx := context.WithValue(r.Context(), adminKey{}, a)
		// The administrator is the actor of the events of its changes.
		ctx = users.WithRequest(ctx, users.RequestInfo{IP: h.clientIP(r), UserAgent: r.UserAgent(),
			Origin: r.Header.Get("Origin"), ID: r.Header.Get("X-Request-Id"), Actor: a.id})
		f(w, r.WithContext(ctx))
	}
}

// safeNext returns next when it is a path of this site that the sign-in
// page may send someone to, else "". It must be an absolute path: not
// protocol-relative ("//host"), with no backslash, control character or
// space (browsers read "/\host" and "/\t/host" as "//host"), none
// encoded in its path either ("/%2F/host", "/%5Chost"), no scheme or
// host, no "..", and not the sign-in page itself. Unless every user signs
// in here (WithUserSignIn), it must also be a page of the console.
func (h *handler) safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 || strings.HasPrefix(next, "//") {
		return ""
	}
	for _, c := range []byte(next) {
		if c <= ' ' || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	p := u.Path
	if strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") ||
		strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || p == h.p+"/login" {
		return ""
	}
	if h.cfg.landing == "" && !strings.HasPrefix(p, h.p+"/") {
		return ""
	}
	return next
}

// landingFor returns where a user goes after signing in: next when it is
// safe (safeNext) and, for a user without admin access, not a console
// page; else the console's home for an administrator and the
// application's landing page (WithUserSignIn) for others.
func (h *handler) landingFor(admin bool, next string) string {
	if next = h.safeNext(next); next != "" && (admin || !h.isConsolePath(next)) {
		return next
	}
	if admin || h.cfg.landing == "" {
		return h.p + "/users"
	}
	return h.cfg.landing
}

// isConsolePath reports whether next (a safe path) is one of the
// console's admin pages rather than a public page or the application's.
func (h *handler) isConsolePath(next string) bool {
	u, _ := url.Parse(next)
	if !strings.HasPrefix(u.Path, h.p+"/") {
		return false
	}
	switch strings.TrimPrefix(u.Path, h.p) {
	case "/register", "/verify-email", "/accept-invite", "/set-password", "/forgot-password", "/reset-password":
		return false
	}
	return true
}

// anonymous returns r's context carrying what the Manager records about
// a request nobody signed in made, its client IP above all: the Manager's
// per-IP limits and its hashing gate's fair shares key on it.
func (h *handler) anonymous(r *http.Request) context.Context {
	return users.WithRequest(r.Context(), users.RequestInfo{IP: h.clientIP(r), UserAgent: r.UserAgent(),
		Origin: r.Header.Get("Origin"), ID: r.Header.Get("X-Request-Id")})
}

// clientIP is the client's address for the per-IP login limit.
func (h *handler) clientIP(r *http.Request) string {
	if h.cfg.clientIP != nil {
		return h.cfg.clientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// adminKey carries the signed-in administrator in a request's context.
type adminKey struct{}

// admin is who passed the admin check: the built-in sign-in knows the
// user; an authorizer does not.
type adminInfo struct {
	id      string // "" with an authorizer: no user
	email   string
	session string // the built-in sign-in's access token
	admin   bool   // has admin access (always, past the admin check)
}

func adminFrom(ctx context.Context) *adminInfo {
	a, _ := ctx.Value(adminKey{}).(*adminInfo)
	return a
}

// signInURL is where "Sign In" links lead: the built-in sign-in page, or
// the application's home when the host app has its own login.
func (h *handler) signInURL() string {
	if h.cfg.authorize != nil {
		return "/"
	}
	return h.p + "/login"
}
