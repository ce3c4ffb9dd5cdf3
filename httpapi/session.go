package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gousers/users"
)

// This file holds the session routes — login, refresh, logout — and the
// cookies they set. How a request's access token is found is in auth.go.

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
	return invalid("mode", "must be one of [cookie, json, session]")
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
	access := h.m.Lifetimes().Access
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
// tokens in the mode's form, else 401 INVALID_CREDENTIALS, or 401
// INVALID_OTP when the password is right but the user's second factor is
// missing or wrong.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	p, err := h.decode(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var (
		in                         users.LoginInput
		mode                       string
		hasEmail, hasPass, hasMode bool
		errs                       [5]error
	)
	errs[0] = p.only("email", "password", "mode", "otp")
	in.Email, hasEmail, errs[1] = p.str("email")
	in.Password, hasPass, errs[2] = p.str("password")
	mode, hasMode, errs[3] = p.str("mode")
	in.OTP, _, errs[4] = p.str("otp")
	if err := firstErr(errs[:]...); err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := loginShape(in.Email, hasEmail, in.Password, hasPass); err != nil {
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

// loginShape checks the shape of a login's email and password as Directus
// does before it looks anyone up, in its order and words (see
// emailShape); the password is required and not empty. These answers (400
// INVALID_PAYLOAD) depend on the request alone, never on an account: an
// address that fails the check could not have an account
// (users.Manager.Login refuses it as it refuses a wrong password).
func loginShape(email string, hasEmail bool, password string, hasPass bool) error {
	if err := emailShape(email, hasEmail); err != nil {
		return err
	}
	return requiredShape("password", password, hasPass)
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
