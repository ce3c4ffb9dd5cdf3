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
// sign-in. Others go to the sign-in page (or, with an authorizer, get a
// 403 page); nothing of the request is read before that.
func (h *handler) admin(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var a *adminInfo
		if h.cfg.authorize != nil {
			if !h.cfg.authorize(r) {
				h.render(w, r, http.StatusForbidden, "message", &page{Title: "Access Denied",
					Data: messageData{Alert: "This page is for administrators only.", Next: "Sign in to the application as an administrator, then open this page again."}})
				return
			}
			a = &adminInfo{}
		} else {
			a = h.signedIn(w, r)
			if a == nil {
				target := h.p + "/login"
				if r.Method == http.MethodGet {
					target += "?next=" + url.QueryEscape(r.URL.RequestURI())
				}
				http.Redirect(w, r, target, http.StatusSeeOther)
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

// localNext returns next when it is a path inside the console (so that the
// sign-in page cannot send anyone elsewhere), else the console's home.
func (h *handler) localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") ||
		!strings.HasPrefix(u.Path, h.p+"/") || strings.Contains(u.Path, "/../") ||
		u.Path == h.p+"/login" {
		return h.p + "/users"
	}
	return next
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
