package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/mailer/smtpmailer/smtptest"
)

// A client chooses the method of its request: a metric label taken from
// it would grow with every made-up method (a series per method, route and
// status, each histogram bucket included), filling the server's memory
// and the scraper's. Methods outside HTTP's own are counted as "other".
func TestMetricsMethodLabelIsBounded(t *testing.T) {
	s := startServer(t, map[string]string{"METRICS_ENABLED": "true"})
	for i := range 5 {
		for _, path := range []string{"/nowhere", "/admin/nowhere", "/users"} {
			res, _ := s.request(fmt.Sprintf("MADEUP%d", i), path, nil)
			assert.NotEqual(t, http.StatusOK, res.StatusCode)
		}
	}
	res, _ := s.request("GET", "/server/ping", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, text := s.request("GET", "/metrics", map[string]string{"Authorization": "Bearer " + adminToken})
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.False(t, strings.Contains(text, "MADEUP"), "a made-up method became a label")
	assert.True(t, strings.Contains(text, `method="other"`), "made-up methods are counted as other")
	assert.True(t, strings.Contains(text, `users_http_requests_total{method="GET",route="/server/ping",status="200"} 1`))
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "users_http_requests_total{") && strings.Contains(line, `method="other"`) {
			n++
		}
	}
	assert.LessOrEqual(t, n, 3, "one series per route and status, whatever the methods")
}

// DB_CONNECTION_STRING may be a MySQL driver DSN (user:password@tcp(host)/db),
// which is neither a URL nor key=value pairs: its password must not reach
// the start-up log either.
func TestRedactMySQLDSN(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"app:s3cret@tcp(db:3306)/users?parseTime=true",
		"app:s3cret@unix(/run/mysqld/mysqld.sock)/users",
		"app:p@s3cret:x@tcp(db)/users", // the driver splits at the last @
		"app:s3cret@/users",
	} {
		got := redactDSN(in)
		assert.NotContains(t, got, "s3cret", in)
		assert.Contains(t, got, "app", in)
		assert.Contains(t, got, "/users", in)
	}
	var buf strings.Builder
	env := map[string]string{"DB_CLIENT": "mysql", "DB_CONNECTION_STRING": "app:s3cret@tcp(db:3306)/users"}
	logEffective(slog.New(slog.NewTextHandler(&buf, nil)), func(k string) string { return env[k] }, "http://127.0.0.1:8055")
	assert.NotContains(t, buf.String(), "s3cret")
	assert.Contains(t, buf.String(), "DB_CONNECTION_STRING=")
}

// CORS opens the API to the listed origins, credentials included; the
// console is not an API. Were its answers shared too, a script on a listed
// origin (same-site, so the console's SameSite=Lax cookie goes along)
// could read the user directory with an administrator's session.
func TestCORSLeavesTheConsoleAlone(t *testing.T) {
	const app = "https://app.example.com"
	s := startServer(t, map[string]string{"CORS_ENABLED": "true", "CORS_ORIGIN": app})
	for _, path := range []string{"/admin/login", "/admin/users", "/admin/", "/admin"} {
		res, _ := s.request("GET", path, map[string]string{"Origin": app})
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), path)
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Credentials"), path)
		res, _ = s.request("OPTIONS", path, map[string]string{"Origin": app, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "content-type"})
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "preflight "+path)
	}
	// The API is still shared.
	res, _ := s.request("GET", "/server/ping", map[string]string{"Origin": app})
	assert.Equal(t, app, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
}

// A newcomer learns where the console is from -h and from the start-up
// log, not only from the docs.
func TestTheConsoleIsAnnounced(t *testing.T) {
	var stdout, stderr strings.Builder
	require.Equal(t, 0, realMain([]string{"-h"}, func(string) string { return "" }, &stdout, &stderr))
	help := stdout.String()
	assert.Contains(t, help, "/admin/")
	assert.Contains(t, help, "/admin/settings")

	s := startServer(t, nil)
	line := s.waitLog(regexp.MustCompile(`msg="users server listening".*`))
	assert.Regexp(t, `console=http://127\.0\.0\.1:\d+/admin/`, line)
}

// RATE_LIMITER_REGISTRATION_* holds on the console's register page too,
// with one count per client IP shared with POST /users/register.
func TestConsoleRegisterPageIsRateLimited(t *testing.T) {
	s := startServer(t, map[string]string{"RATE_LIMITER_REGISTRATION_POINTS": "1"})
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	code, _, body := s.call("POST", "/users/register", map[string]any{"email": "api@example.com", "password": "pw-pw-pw-pw"}, false)
	require.Equal(t, 204, code, "body: %s", body)

	form := url.Values{"email": {"page@example.com"}, "password": {"pw-pw-pw-pw"}}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(s.base+"/admin/register", form)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	_, _, list := s.call("GET", "/users?filter[email][_eq]=page@example.com", nil, true)
	assert.Contains(t, string(list), `"data":[]`, "nothing registered")
}

// A relay on this machine that offers STARTTLS with a certificate not made
// for its address (Debian's Postfix offers it with its snake-oil
// certificate) fails the set-up check; the advice must name the variable
// that fixes it there, EMAIL_SMTP_IGNORE_TLS, which a loopback relay may
// use (even with AUTH).
func TestVerifySetupAdviceForALocalRelayWithAnUntrustedCertificate(t *testing.T) {
	relay := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
	s := onlyDirectusMail(t, relay, "127.0.0.1", nil)
	line := s.waitLog(regexp.MustCompile(`level=ERROR msg="mail relay check failed: [^\n]*`))
	assert.Contains(t, line, "certificate")
	assert.Contains(t, line, "EMAIL_SMTP_IGNORE_TLS=true")

	// The advice works: with it, mail goes.
	s = onlyDirectusMail(t, relay, "127.0.0.1", map[string]string{"EMAIL_SMTP_IGNORE_TLS": "true"})
	s.waitLog(regexp.MustCompile(`mail relay checked: it accepts a session`))
}

// Listening on every interface (HOST=0.0.0.0, as Directus does by default)
// without PUBLIC_URL makes the mailed links http://0.0.0.0:<port>/… (or
// [::]), which no one can open: start-up says so, naming PUBLIC_URL.
func TestUnspecifiedHostWithoutPublicURLWarns(t *testing.T) {
	s := startServer(t, map[string]string{"HOST": "0.0.0.0"})
	line := s.waitLog(regexp.MustCompile(`level=WARN msg="PUBLIC_URL is not set[^\n]*`))
	assert.Contains(t, line, "0.0.0.0")

	s = startServer(t, map[string]string{"HOST": "0.0.0.0", "PUBLIC_URL": "https://users.example.com"})
	s.waitLog(regexp.MustCompile(`msg="users server listening"`))
	assert.NotContains(t, s.logs.String(), "PUBLIC_URL is not set")
	s = startServer(t, nil)
	s.waitLog(regexp.MustCompile(`msg="users server listening"`))
	assert.NotContains(t, s.logs.String(), "PUBLIC_URL is not set", "127.0.0.1 links work on this machine")
}

// A '*' in CORS_ORIGIN stands for one whole leading label and nothing
// else: "https://*example.com" once allowed https://evilexample.com with
// credentials, as rs/cors reads any '*' as "any text".
func TestCORSWildcardIsOneLeadingLabel(t *testing.T) {
	for _, bad := range []string{"https://*example.com", "https://ex*.com", "https://*.com", "*://app.example.com",
		"https://app.*.example.com", "https://*.*.example.com", "https://example.com:*", "https://*",
		"https://*.example.com.", "https://a@example.com", "https://*.[::1]"} {
		_, err := loadConfig(env(map[string]string{"CORS_ENABLED": "true", "CORS_ORIGIN": bad}))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "CORS_ORIGIN", bad)
	}

	s := startServer(t, map[string]string{"CORS_ENABLED": "true", "CORS_ORIGIN": "https://*.example.com,http://localhost:3000"})
	allowed := func(origin string) bool {
		res, _ := s.request("OPTIONS", "/auth/login", map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST"})
		got := res.Header.Get("Access-Control-Allow-Origin")
		if got != "" {
			assert.Equal(t, origin, got)
		}
		return got != ""
	}
	for _, ok := range []string{"https://app.example.com", "https://pr-7.example.com", "https://app.example.com:443", "http://localhost:3000"} {
		assert.True(t, allowed(ok), ok)
	}
	for _, origin := range []string{
		"https://evilexample.com", "https://example.com", "https://a.b.example.com", "https://evil.example.com.attacker",
		"https://evil.example.com.attacker.net", "http://app.example.com", "https://app.example.com:8443", "wss://app.example.com",
		"https://app.example.com.", "https://-x.example.com", "https://app_x.example.com", "https://x.example.com@evil.net",
		"https://evil.net#.example.com", "https://evil.net/.example.com", "https://*.example.com", "null", "",
		"http://localhost:30000", "http://localhost", "https://localhost:3000", "http://localhost:03000",
	} {
		assert.False(t, allowed(origin), origin)
	}
}
