package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestConsoleFirstAdministrator(t *testing.T) {
	s := startServer(t, map[string]string{
		"ADMIN_EMAIL": "root@example.com", "ADMIN_PASSWORD": "first admin pw",
		"PUBLIC_URL": "https://users.example.com",
	})
	signIn := func(password string) *http.Response {
		res, err := noRedirect.PostForm(s.base+"/admin/login", url.Values{"email": {"root@example.com"}, "password": {password}})
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	assert.Equal(t, http.StatusUnauthorized, signIn("wrong").StatusCode)
	res := signIn("first admin pw")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/admin/users", res.Header.Get("Location"))
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "webui_session" {
			session = c
		}
	}
	require.NotNil(t, session)
	assert.True(t, session.Secure, "PUBLIC_URL is https")
	assert.True(t, session.HttpOnly)

	req, err := http.NewRequest("GET", s.base+"/admin/roles", nil)
	require.NoError(t, err)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	res, err = noRedirect.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), ">Administrator</a>", "the bootstrap role")

	// The API still answers beside the console.
	code, _, _ := s.call("GET", "/roles", nil, true)
	assert.Equal(t, http.StatusOK, code)
}

func TestConsoleMailedLinksOpenPages(t *testing.T) {
	s := startServer(t, nil)
	roles := s.ok("POST", "/roles", map[string]any{"name": "Editors"}, true)
	code, _, body := s.call("POST", "/users/invite", map[string]any{"email": "inv@example.com", "role": roles["id"]}, true)
	require.Equal(t, http.StatusNoContent, code, "body: %s", body)
	link, tok := linkToken(t, s.mailTo("inv@example.com", 1), "http://")
	u, err := url.Parse(link)
	require.NoError(t, err)
	assert.Equal(t, "/admin/accept-invite", u.Path)

	res, err := http.Get(s.base + "/admin/accept-invite?token=" + url.QueryEscape(tok))
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/html"))
	assert.Contains(t, string(body), "inv@example.com")
	assert.Contains(t, string(body), ">Accept Invite</button>")
}

func TestConsoleAdminPasswordRequired(t *testing.T) {
	_, err := loadConfig(func(string) string { return "" })
	require.NoError(t, err)
	err = bootstrapAdmin(t.Context(), nil, "root@example.com", "", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ADMIN_PASSWORD")
}
