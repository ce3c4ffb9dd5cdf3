package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokens is the data of a login or refresh answer.
type tokens struct {
	AccessToken  string `json:"access_token"`
	Expires      int64  `json:"expires"`
	RefreshToken string `json:"refresh_token"`
}

// do sends a request with the given headers and cookies and returns the
// response with its body read.
func (s *server) do(method, path string, body any, hdr map[string]string, cookies ...*http.Cookie) (*http.Response, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	require.NoError(s.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp, b
}

// login logs in in json mode.
func (s *server) login(email, password string) tokens {
	s.t.Helper()
	resp, body := s.do("POST", "/auth/login", map[string]any{"email": email, "password": password}, nil)
	require.Equal(s.t, 200, resp.StatusCode, "body: %s", body)
	var env struct{ Data tokens }
	require.NoError(s.t, json.Unmarshal(body, &env))
	require.NotEmpty(s.t, env.Data.AccessToken)
	return env.Data
}

// me reads GET /users/me with an access token.
func (s *server) me(access string) map[string]any {
	s.t.Helper()
	resp, body := s.do("GET", "/users/me", nil, map[string]string{"Authorization": "Bearer " + access})
	require.Equal(s.t, 200, resp.StatusCode, "body: %s", body)
	var env struct{ Data map[string]any }
	require.NoError(s.t, json.Unmarshal(body, &env))
	return env.Data
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// What @directus/sdk's authentication('json') does — login, readMe,
// refresh, logout — and a forgotten password reset from the mail, against
// the server as it runs.
func TestSessionsEndToEnd(t *testing.T) {
	s := startServer(t, map[string]string{
		"SECRET":           "an-e2e-secret-of-at-least-32-characters",
		"ACCESS_TOKEN_TTL": "10m",
	})
	admin := s.ok("POST", "/roles", map[string]any{"name": "Administrator", "admin_access": true}, true)
	s.ok("POST", "/users", map[string]any{"email": "ada@example.com", "password": "correct horse battery", "role": admin["id"]}, true)

	tk := s.login("ada@example.com", "correct horse battery")
	assert.EqualValues(t, 600000, tk.Expires, "ACCESS_TOKEN_TTL in ms")
	me := s.me(tk.AccessToken)
	assert.Equal(t, "ada@example.com", me["email"])

	// The admin's access token opens the admin routes.
	resp, body := s.do("GET", "/users", nil, map[string]string{"Authorization": "Bearer " + tk.AccessToken})
	assert.Equal(t, 200, resp.StatusCode, "body: %s", body)

	resp, body = s.do("POST", "/auth/refresh", map[string]any{"refresh_token": tk.RefreshToken, "mode": "json"}, nil)
	require.Equal(t, 200, resp.StatusCode, "body: %s", body)
	var next struct{ Data tokens }
	require.NoError(t, json.Unmarshal(body, &next))
	s.me(next.Data.AccessToken)
	// The rotated token again: refused, and the session is over.
	resp, _ = s.do("POST", "/auth/refresh", map[string]any{"refresh_token": tk.RefreshToken}, nil)
	assert.Equal(t, 401, resp.StatusCode)
	resp, _ = s.do("GET", "/users/me", nil, map[string]string{"Authorization": "Bearer " + next.Data.AccessToken})
	assert.Equal(t, 401, resp.StatusCode)

	tk = s.login("ada@example.com", "correct horse battery")
	resp, _ = s.do("POST", "/auth/logout", map[string]any{"refresh_token": tk.RefreshToken}, nil)
	assert.Equal(t, 204, resp.StatusCode)
	resp, _ = s.do("GET", "/users/me", nil, map[string]string{"Authorization": "Bearer " + tk.AccessToken})
	assert.Equal(t, 401, resp.StatusCode, "logged out at once")

	// Forgot password: the mail links to the console's reset page.
	tk = s.login("ada@example.com", "correct horse battery")
	for _, addr := range []string{"ada@example.com", "nobody@example.com"} {
		resp, body = s.do("POST", "/auth/password/request", map[string]any{"email": addr}, nil)
		require.Equal(t, 204, resp.StatusCode, "body: %s", body)
	}
	mail := s.mailTo("ada@example.com", 1)
	assert.Equal(t, "Password Reset Request", mail.Subject)
	_, tok := linkToken(t, mail, s.base+"/admin/reset-password?")
	resp, body = s.do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "a brand new password"}, nil)
	require.Equal(t, 204, resp.StatusCode, "body: %s", body)
	resp, _ = s.do("GET", "/users/me", nil, map[string]string{"Authorization": "Bearer " + tk.AccessToken})
	assert.Equal(t, 401, resp.StatusCode, "the reset ended the sessions")
	resp, _ = s.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, nil)
	assert.Equal(t, 401, resp.StatusCode)
	s.login("ada@example.com", "a brand new password")
	time.Sleep(50 * time.Millisecond) // let a stray mail to nobody@ show, if one were sent
	for _, m := range s.smtp.Messages() {
		assert.NotEqual(t, []string{"nobody@example.com"}, m.To, "no mail for an unknown address")
	}
}

// Cookie and session modes set Directus's cookies with the configured
// flags; Secure follows an https PUBLIC_URL unless set.
func TestSessionCookiesEndToEnd(t *testing.T) {
	s := startServer(t, map[string]string{
		"PUBLIC_URL":                     "https://app.example.com",
		"REFRESH_TOKEN_COOKIE_NAME":      "rt",
		"REFRESH_TOKEN_COOKIE_SAME_SITE": "strict",
		"SESSION_COOKIE_SECURE":          "false",
	})
	s.ok("POST", "/users", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, true)
	resp, body := s.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery", "mode": "cookie"}, nil)
	require.Equal(t, 200, resp.StatusCode, "body: %s", body)
	rt := cookieNamed(resp, "rt")
	require.NotNil(t, rt)
	raw := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	assert.Contains(t, raw, "HttpOnly")
	assert.Contains(t, raw, "Secure")
	assert.Contains(t, raw, "SameSite=Strict")
	assert.Contains(t, raw, "Max-Age=604800")
	dev := cookieNamed(resp, "users_device")
	require.NotNil(t, dev)
	assert.True(t, dev.Secure, "the device cookie follows REFRESH_TOKEN_COOKIE_SECURE")
	assert.True(t, dev.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, dev.SameSite)

	resp, body = s.do("POST", "/auth/refresh", nil, nil, rt)
	require.Equal(t, 200, resp.StatusCode, "body: %s", body)
	require.NotNil(t, cookieNamed(resp, "rt"))

	resp, body = s.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery", "mode": "session"}, nil)
	require.Equal(t, 200, resp.StatusCode, "body: %s", body)
	st := cookieNamed(resp, "directus_session_token")
	require.NotNil(t, st)
	assert.False(t, st.Secure, "SESSION_COOKIE_SECURE=false")
	assert.True(t, st.HttpOnly)
	resp, body = s.do("GET", "/users/me", nil, nil, st)
	require.Equal(t, 200, resp.StatusCode, "body: %s", body)
}

// After 1,000 wrong guesses from 20 addresses, the owner's browser that
// logged in before gets in at once; a new device is locked out with the
// strangers until a password reset; the account stays active.
func TestLockoutEndToEnd(t *testing.T) {
	s := startServer(t, map[string]string{"IP_TRUST_PROXY": "127.0.0.1"})
	u := s.ok("POST", "/users", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, true)
	resp, body := s.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, nil)
	require.Equal(t, 200, resp.StatusCode, "body: %s", body)
	device := cookieNamed(resp, "users_device")
	require.NotNil(t, device)

	counts := map[int]int{}
	for i := range 1000 {
		resp, _ := s.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "guess " + strconv.Itoa(i)},
			map[string]string{"X-Forwarded-For": "203.0.113." + strconv.Itoa(i%20)})
		counts[resp.StatusCode]++
	}
	assert.Equal(t, map[int]int{401: 10, 429: 990}, counts, "10 guesses per address in total from unknown devices")

	resp, body = s.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery"},
		map[string]string{"X-Forwarded-For": "203.0.113.7"}, device)
	require.Equal(t, 200, resp.StatusCode, "the known device gets in at once: %s", body)
	resp, _ = s.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery"},
		map[string]string{"X-Forwarded-For": "198.51.100.1"})
	assert.Equal(t, 429, resp.StatusCode, "a new device waits, or resets the password")
	got := s.ok("GET", "/users/"+u["id"].(string), nil, true)
	assert.Equal(t, "active", got["status"], "never suspended")

	resp, _ = s.do("POST", "/auth/password/request", map[string]any{"email": "ada@example.com"}, nil)
	require.Equal(t, 204, resp.StatusCode)
	_, tok := linkToken(t, s.mailTo("ada@example.com", 1), s.base+"/admin/reset-password?")
	resp, _ = s.do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "a brand new password"}, nil)
	require.Equal(t, 204, resp.StatusCode)
	resp, body = s.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "a brand new password"},
		map[string]string{"X-Forwarded-For": "198.51.100.1"})
	assert.Equal(t, 200, resp.StatusCode, "the reset cleared the lock: %s", body)
}
