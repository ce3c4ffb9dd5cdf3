package webui

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gousers/users"
)

// The built-in sign-in keeps the Manager's session in one cookie, as
// Directus's Data Studio does ("session" mode): the access token of a
// session opened with LoginInput.SessionCookie, HttpOnly, SameSite=Lax,
// scoped to the console, kept until the session ends. Each request resolves
// it (ResolveAccessToken, which reads the session and the user's admin
// access from the store, so signing out, a password change or a lost role
// take effect at once); an expired one is renewed (Refresh) while its
// session lasts, which retires it: a copy of it renews only within
// users.Lifetimes.RenewalGrace of that renewal, and later ends the session. A second cookie keeps the device cookie Login issues, so
// that an administrator's own browser is not locked out by strangers'
// failed attempts.
const (
	sessionCookie = "webui_session"
	deviceCookie  = "webui_device"
)

// signedIn returns the user whose session the request's cookie holds
// (resolveMember), or nil when there is none or it ended. Only an
// administrator's has admin set.
func (h *handler) signedIn(w http.ResponseWriter, r *http.Request) *adminInfo {
	m := h.resolveMember(w, r)
	if m == nil {
		return nil
	}
	return &adminInfo{id: m.p.User.ID, email: m.p.User.Email, session: m.token, admin: m.p.Admin}
}

func (h *handler) setSession(w http.ResponseWriter, r *http.Request, s *users.Session) {
	maxAge := int(time.Until(s.RefreshExpires) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	http.SetCookie(w, h.sessionCookie(r, s.AccessToken, maxAge))
}

// sessionCookie is the session's cookie: scoped to the console, or to the
// whole site when every user signs in here (WithUserSignIn), so that the
// application's own pages receive it.
func (h *handler) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	c := h.cookie(r, sessionCookie, value, maxAge)
	if h.cfg.landing != "" {
		c.Path = "/"
	}
	return c
}

// clearSession forgets the session's cookie.
func (h *handler) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, h.sessionCookie(r, "", -1))
}

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if h.cfg.authorize != nil {
		h.notFound(w, r)
		return
	}
	next := h.safeNext(r.URL.Query().Get("next"))
	if a := h.signedIn(w, r); a != nil && (a.admin || h.cfg.landing != "") {
		http.Redirect(w, r, h.landingFor(a.admin, next), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", &page{Title: "Sign In", Values: map[string]string{"next": next}, Data: true})
}

// errNoAdminAccess refuses a correct sign-in of a user who may not use the
// console.
var errNoAdminAccess = errors.New("no admin access")

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if h.cfg.authorize != nil {
		h.notFound(w, r)
		return
	}
	if !parseForm(w, r) {
		return
	}
	ctx := r.Context()
	f := r.PostForm
	email, next := strings.TrimSpace(f.Get("email")), h.safeNext(f.Get("next"))
	in := users.LoginInput{Email: email, Password: f.Get("password"), OTP: f.Get("otp"), IP: h.clientIP(r),
		UserAgent: r.UserAgent(), SessionCookie: true}
	if c, err := r.Cookie(deviceCookie); err == nil {
		in.Device = c.Value
	}
	p := &page{Title: "Sign In", Values: map[string]string{"email": email, "next": next}, Data: true}
	s, err := h.m.Login(ctx, in)
	if err != nil {
		h.fail(w, r, "login", p, err, "otp")
		return
	}
	if s.Device != "" {
		http.SetCookie(w, h.cookie(r, deviceCookie, s.Device, int(users.DeviceCookieLifetime/time.Second)))
	}
	pr, err := h.m.ResolveAccessToken(ctx, s.AccessToken)
	if err == nil && !pr.Admin && h.cfg.landing == "" {
		err = errNoAdminAccess
	}
	if err != nil {
		// Whoever knows this password learns only that the account may not
		// use the console.
		_ = h.m.EndSession(context.WithoutCancel(ctx), s.ID)
		if errors.Is(err, errNoAdminAccess) {
			p.Alert = "This account has no admin access, so it cannot use the console."
			h.render(w, r, http.StatusForbidden, "login", p)
			return
		}
		h.fail(w, r, "login", p, err)
		return
	}
	h.setSession(w, r, s)
	http.Redirect(w, r, h.landingFor(pr.Admin, next), http.StatusSeeOther)
}

// logout ends the session and forgets its cookie.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if h.cfg.authorize != nil {
		h.notFound(w, r)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := h.m.Logout(r.Context(), c.Value); err != nil {
			h.cfg.log.ErrorContext(r.Context(), "webui: logout", "error", err)
		}
	}
	h.clearSession(w, r)
	h.redirect(w, r, h.p+"/login", &flash{Status: []string{"You are signed out."}})
}
