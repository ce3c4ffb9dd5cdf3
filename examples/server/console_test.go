package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
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

// When ADMIN_EMAIL names an account that exists, nothing is promoted and
// the warning does not advise promoting it: a stranger may have registered
// that address with a password of their own.
func TestConsoleAdminEmailTaken(t *testing.T) {
	m, err := users.New(memstore.New(), memmailer.New(), users.WithHasher(userstest.Hasher{}))
	require.NoError(t, err)
	stranger, err := m.CreateUser(t.Context(), users.CreateUserInput{Email: "root@example.com", Password: "stranger pw", Status: users.StatusActive})
	require.NoError(t, err)
	var logs strings.Builder
	require.NoError(t, bootstrapAdmin(t.Context(), m, "root@example.com", "first admin pw", slog.New(slog.NewTextHandler(&logs, nil))))
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "do not give the account an admin role")
	assert.NotRegexp(t, `(?i)give it an admin role|promote it`, logs.String())
	u, err := m.User(t.Context(), stranger.ID)
	require.NoError(t, err)
	assert.Nil(t, u.Role, "the stranger's account was left alone")
}
