package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gousers/users"
)

// This file holds the session routes — login, refresh, logout, the
// caller's own user, password reset — and how a request's access token is
// found.

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
// lifetime (users.WithSessionLifetimes). New panics on an invalid value
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

// checkCookie fills a cookie's defaults and validates it.
func checkCookie(which string, c *CookieOptions, name string) {
	if c.Name == "" {
		c.Name = name
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 || c.SameSite == http.SameSiteDefaultMode {
		c.SameSite = http.SameSiteLaxMode
	}
	probe := &http.Cookie{Name: c.Name, Value: "x", Domain: c.Domain, Path: c.Path}
	switch {
	case probe.Valid() != nil:
		panic(fmt.Sprintf("httpapi: %s: invalid cookie name, domain or path: %v", which, probe.Valid()))
	case !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, ";\r\n"):
		panic(fmt.Sprintf("httpapi: %s: the path must be absolute", which))
	case c.SameSite == http.SameSiteNoneMode && !c.Secure:
		panic(fmt.Sprintf("httpapi: %s: SameSite None needs Secure (browsers refuse it otherwise)", which))
	case c.SameSite < http.SameSiteDefaultMode || c.SameSite > http.SameSiteNoneMode:
		panic(fmt.Sprintf("httpapi: %s: unknown SameSite mode", which))
	}
}

// setCookie sets c to value for maxAge (in whole seconds, at least one;
// <= 0 deletes it).
func setCookie(w http.ResponseWriter, c CookieOptions, value string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: c.Name, Value: value, Domain: c.Domain, Path: c.Path,
		HttpOnly: true, Secure: c.Secure, SameSite: c.SameSite,
	}
	if maxAge <= 0 {
		ck.Value, ck.MaxAge = "", -1
	} else {
		ck.MaxAge = max(1, int(maxAge/time.Second))
	}
	http.SetCookie(w, ck)
}

// cookieValue returns the value of the named cookie, or "".
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// Authentication modes of POST /auth/login, /auth/refresh, /auth/logout.
const (
	modeJSON    = "json"
	modeCookie  = "cookie"
	modeSession = "session"
)

func checkMode(mode string) error {
	switch mode {
	case modeJSON, modeCookie, modeSession:
		return nil
	}
	return invalid("mode", `must be one of "json", "cookie", "session"`)
}

// tokensBody is the data of a login or refresh answer.
type tokensBody struct {
	AccessToken  string `json:"access_token,omitempty"`
	Expires      int64  `json:"expires"` // the access token's lifetime, in ms
	RefreshToken string `json:"refresh_token,omitempty"`
}

// answerSession writes a login or refresh answer in the mode's form:
// json — both tokens in the body; cookie — the access token in the body,
// the refresh token in its cookie; session — the access token in its
// cookie, only expires in the body.
func (h *handler) answerSession(w http.ResponseWriter, mode string, s *users.Session) {
	access, _ := h.m.SessionLifetimes()
	body := tokensBody{Expires: access.Milliseconds()}
	// What is left of the session, on the Manager's clock: the access
	// token was minted (to the second) accessTTL before it expires.
	left := s.RefreshExpires.Sub(s.AccessExpires.Add(-access))
	switch mode {
	case modeJSON:
		body.AccessToken, body.RefreshToken = s.AccessToken, s.RefreshToken
	case modeCookie:
		body.AccessToken = s.AccessToken
		setCookie(w, h.cfg.refreshCookie, s.RefreshToken, left)
	case modeSession:
		setCookie(w, h.cfg.sessionCookie, s.AccessToken, left)
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: body})
}

// login: POST /auth/login {email, password, mode?, otp?} → 200 with the
// tokens in the mode's form, else 401 INVALID_CREDENTIALS.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		in      users.LoginInput
		mode    string
		hasMode bool
		errs    [5]error
	)
	errs[0] = p.only("email", "password", "mode", "otp")
	in.Email, _, errs[1] = p.str("email")
	in.Password, _, errs[2] = p.str("password")
	mode, hasMode, errs[3] = p.str("mode")
	_, _, errs[4] = p.str("otp") // no two-factor auth here: accepted, unused
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	if !hasMode {
		mode = modeJSON
	}
	if err := checkMode(mode); err != nil {
		h.writeError(w, r, err)
		return
	}
	if ip := ClientIP(r, h.cfg.trusted); ip.IsValid() {
		in.IP = ip.String()
	}
	in.UserAgent = r.UserAgent()
	in.Device = cookieValue(r, h.cfg.deviceCookie.Name)
	in.SessionCookie = mode == modeSession
	s, err := h.m.Login(r.Context(), in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if s.Device != "" {
		setCookie(w, h.cfg.deviceCookie, s.Device, users.DeviceCookieLifetime)
	}
	h.answerSession(w, mode, s)
}

// sessionToken reads the mode and the token of POST /auth/refresh and
// /auth/logout as Directus does: mode from the body, else json when the
// body holds refresh_token, else cookie; the token from the body (json),
// the refresh cookie (cookie) or the session cookie (session).
func (h *handler) sessionToken(w http.ResponseWriter, r *http.Request) (mode, token string, err error) {
	p, err := h.decodeOptional(w, r)
	if err != nil {
		return "", "", err
	}
	var (
		hasMode, hasToken bool
		errs              [3]error
	)
	errs[0] = p.only("refresh_token", "mode")
	token, hasToken, errs[1] = p.str("refresh_token")
	mode, hasMode, errs[2] = p.str("mode")
	if err := firstErr(errs[:]...); err != nil {
		return "", "", err
	}
	switch {
	case hasMode:
		if err := checkMode(mode); err != nil {
			return "", "", err
		}
	case hasToken && token != "":
		mode = modeJSON
	default:
		mode = modeCookie
	}
	switch mode {
	case modeCookie:
		token = cookieValue(r, h.cfg.refreshCookie.Name)
	case modeSession:
		token = cookieValue(r, h.cfg.sessionCookie.Name)
	}
	if token == "" {
		return "", "", invalidBody("The refresh token is required in either the payload or cookie")
	}
	return mode, token, nil
}

// refresh: POST /auth/refresh {refresh_token?, mode?} → 200 with new
// tokens in the mode's form; a bad, expired, reused or revoked token is
// 401 INVALID_CREDENTIALS, as Directus answers.
func (h *handler) refresh(w http.ResponseWriter, r *http.Request) {
	mode, token, err := h.sessionToken(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if (mode == modeSession) != (strings.Count(token, ".") == 2) {
		// The session cookie holds an access token, the others a refresh
		// token; anything else is no session of ours.
		h.writeError(w, r, users.ErrInvalidCredentials)
		return
	}
	s, err := h.m.Refresh(r.Context(), token)
	if errors.Is(err, users.ErrInvalidToken) {
		err = users.ErrInvalidCredentials
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.answerSession(w, mode, s)
}

// logout: POST /auth/logout {refresh_token?, mode?} → 204, and the
// session and refresh cookies the request carried are cleared.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	_, token, err := h.sessionToken(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.m.Logout(r.Context(), token); err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, c := range []CookieOptions{h.cfg.refreshCookie, h.cfg.sessionCookie} {
		if cookieValue(r, c.Name) != "" {
			setCookie(w, c, "", 0)
		}
	}
	noContent(w)
}

// decodeOptional is decode, except that an empty body (with a JSON
// Content-Type or none) is an empty object, as Directus reads it.
func (h *handler) decodeOptional(w http.ResponseWriter, r *http.Request) (*payload, error) {
	if r.Header.Get("Content-Type") != "" {
		return h.decode(w, r)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if err != nil || len(b) > 0 {
		return nil, invalidBody("Content-Type must be application/json")
	}
	return &payload{vals: map[string]json.RawMessage{}}, nil
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
// longer active.
func (h *handler) principal(r *http.Request) (*users.Principal, error) {
	tok := h.accessToken(r)
	if strings.Count(tok, ".") != 2 {
		return nil, users.ErrInvalidCredentials
	}
	return h.m.ResolveAccessToken(r.Context(), tok)
}

// me: GET /users/me → 200 {"data": user} for the access token's user,
// with only the fields the fields parameter names, as GET /users/{id}.
func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	p, err := h.principal(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	fields, err := fieldsParam(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: selectFields(viewUser(p.User), fields)})
}

// updateMe: PATCH /users/me {first_name?, last_name?, password?,
// current_password?} → 200 {"data": user}. A new password needs the
// current one (current_password, an extension) and ends every session of
// the user, this one included. The answer has only the fields the fields
// parameter names; a bad one is refused before anything changes.
func (h *handler) updateMe(w http.ResponseWriter, r *http.Request) {
	pr, err := h.principal(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	fields, err := fieldsParam(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		patch                   users.UserPatch
		password, current       string
		hasPassword, hasCurrent bool
		errs                    [5]error
	)
	errs[0] = p.only("first_name", "last_name", "password", "current_password")
	patch.FirstName, _, errs[1] = p.nullableStr("first_name")
	patch.LastName, _, errs[2] = p.nullableStr("last_name")
	password, hasPassword, errs[3] = p.str("password")
	current, hasCurrent, errs[4] = p.str("current_password")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	empty := "" // null clears a name
	if _, given := p.vals["first_name"]; given && patch.FirstName == nil {
		patch.FirstName = &empty
	}
	if _, given := p.vals["last_name"]; given && patch.LastName == nil {
		patch.LastName = &empty
	}
	switch {
	case hasPassword && !hasCurrent:
		h.writeError(w, r, invalid("current_password", "is required to change the password"))
		return
	case hasCurrent && !hasPassword:
		h.writeError(w, r, invalid("current_password", "is only taken with password"))
		return
	}
	// The names are judged before the password changes, so that a refused
	// name leaves the password and the sessions as they were.
	for _, n := range []struct {
		field string
		v     *string
	}{{"first_name", patch.FirstName}, {"last_name", patch.LastName}} {
		if n.v == nil {
			continue
		}
		if err := users.ValidateName(n.field, *n.v); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	u := pr.User
	if hasPassword {
		if u, err = h.m.ChangePassword(r.Context(), pr.User.ID, current, password); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	if patch.FirstName != nil || patch.LastName != nil {
		if u, err = h.m.UpdateUser(r.Context(), pr.User.ID, patch); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	h.writeJSON(w, http.StatusOK, dataBody{Data: selectFields(viewUser(u), fields)})
}

// passwordRequest: POST /auth/password/request {email, reset_url?} → 204
// whether or not the address has an account. Only input errors (a
// malformed email, a reset_url not on the allow-list) are answered, 400;
// anything else is logged and answered 204, as Directus does, so that no
// answer depends on the address.
func (h *handler) passwordRequest(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		email, resetURL string
		hasEmail        bool
		errs            [3]error
	)
	errs[0] = p.only("email", "reset_url")
	email, hasEmail, errs[1] = p.email("email")
	resetURL, _, errs[2] = p.str("reset_url")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	if !hasEmail || email == "" {
		h.writeError(w, r, invalid("email", "is required"))
		return
	}
	err = h.m.RequestPasswordReset(r.Context(), email, resetURL)
	switch {
	case err == nil:
	case errors.Is(err, users.ErrInvalidPayload):
		h.writeError(w, r, err)
		return
	default:
		if r.Context().Err() == nil {
			h.cfg.log.ErrorContext(r.Context(), "httpapi: password reset request failed",
				"client_ip", ClientIP(r, h.cfg.trusted).String(), "error", err.Error())
		}
	}
	noContent(w)
}

// passwordReset: POST /auth/password/reset {token, password} → 204.
func (h *handler) passwordReset(w http.ResponseWriter, r *http.Request) {
	token, password, err := h.decodeTokenPassword(w, r)
	if err == nil {
		_, err = h.m.ResetPassword(r.Context(), token, password)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	noContent(w)
}
