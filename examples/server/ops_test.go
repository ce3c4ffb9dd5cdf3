package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/mailer/smtpmailer/smtptest"
)

// request sends method path with headers and returns the answer, body
// read.
func (s *server) request(method, path string, header map[string]string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, nil)
	require.NoError(s.t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	return res, string(b)
}

// health returns GET /server/health, as an administrator or anonymously.
func (s *server) health(admin bool) (int, map[string]any) {
	s.t.Helper()
	h := map[string]string{}
	if admin {
		h["Authorization"] = "Bearer " + adminToken
	}
	res, body := s.request("GET", "/server/health", h)
	assert.Equal(s.t, "application/health+json; charset=utf-8", res.Header.Get("Content-Type"))
	var out map[string]any
	require.NoError(s.t, json.Unmarshal([]byte(body), &out), body)
	return res.StatusCode, out
}

// check returns one check of an administrator's health report.
func check(t *testing.T, h map[string]any, name string) map[string]any {
	t.Helper()
	checks, ok := h["checks"].(map[string]any)
	require.True(t, ok, "no checks in %v", h)
	c, ok := checks[name].([]any)
	require.True(t, ok, "no check %s in %v", name, checks)
	return c[0].(map[string]any)
}

// waitLog waits until the server's log matches re.
func (s *server) waitLog(re *regexp.Regexp) string {
	s.t.Helper()
	deadline := time.Now().Add(eventLimit)
	for {
		if m := re.FindString(s.logs.String()); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no log line matching %s within %s; log:\n%s", re, eventLimit, s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onlyDirectusMail starts the server against relay with nothing but
// Directus's mail variables: host, port, sender.
func onlyDirectusMail(t *testing.T, relay *smtptest.Server, host string, extra map[string]string) *server {
	t.Helper()
	vars := map[string]string{
		"EMAIL_TRANSPORT":       "smtp",
		"EMAIL_SMTP_HOST":       host,
		"EMAIL_SMTP_PORT":       strconv.Itoa(relay.Port()),
		"EMAIL_FROM":            "App <app@example.com>",
		"EMAIL_SMTP_IGNORE_TLS": "", "EMAIL_SMTP_USER": "", "EMAIL_SMTP_PASSWORD": "",
	}
	for k, v := range extra {
		vars[k] = v
	}
	s := startServer(t, vars)
	s.smtp = relay
	return s
}

// A plain SMTP sink on 127.0.0.1 (no STARTTLS, as Mailpit and MailHog
// are) and only Directus's variables: every mail arrives, as it does from
// Directus.
func TestLoopbackSinkWithDirectusVariables(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			relay := smtptest.Start(t, smtptest.Options{TLS: smtptest.Plain})
			s := onlyDirectusMail(t, relay, host, nil)
			s.waitLog(regexp.MustCompile(`level=INFO msg="mail relay checked: it accepts a session".* tls=STARTTLS`))

			role := s.ok("POST", "/roles", map[string]any{"name": "Member"}, true)
			s.ok("PATCH", "/settings", map[string]any{"public_registration": true, "public_registration_role": role["id"]}, true)
			code, _, body := s.call("POST", "/users/register", map[string]any{"email": "ada@example.com", "password": "pw-pw-pw-pw"}, false)
			require.Equal(t, 204, code, "body: %s", body)
			code, _, body = s.call("POST", "/users/invite", map[string]any{"email": "grace@example.com", "role": role["id"]}, true)
			require.Equal(t, 204, code, "body: %s", body)

			verify := s.mailTo("ada@example.com", 1)
			assert.Equal(t, "Verify your email address", verify.Subject)
			assert.False(t, verify.TLS)
			invite := s.mailTo("grace@example.com", 1)
			assert.Equal(t, "You've been invited", invite.Subject)
			assert.NotContains(t, s.logs.String(), "level=WARN msg=\"users: mail delivery failed\"")
			assert.NotContains(t, s.logs.String(), "level=ERROR")
		})
	}
}

// A relay that stops shows in /server/health as warn within
// HEALTH_EMAIL_PROBE_INTERVAL plus 10 s, as -h promises; the server goes
// on serving, and mail waits. The interval is 1 s here, so that the test
// does not wait for the default's 30 s (TestLoadConfigDefaults checks the
// default).
func TestStoppedRelayShowsAsWarn(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	relay := smtptest.Start(t, smtptest.Options{TLS: smtptest.Plain})
	s := onlyDirectusMail(t, relay, "127.0.0.1", map[string]string{"HEALTH_EMAIL_PROBE_INTERVAL": interval.String()})

	code, h := s.health(true)
	require.Equal(t, 200, code)
	assert.Equal(t, "ok", h["status"], "%v", h)
	assert.Equal(t, "ok", check(t, h, "email:connection")["status"])

	relay.Close()
	stopped := time.Now()
	for {
		code, h = s.health(true)
		require.Equal(t, 200, code, "a stopped relay is not an error: the server serves on")
		if h["status"] == "warn" {
			break
		}
		require.Less(t, time.Since(stopped), interval+10*time.Second, "still %v %v after the relay stopped", h, interval+10*time.Second)
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("warn %s after the relay stopped", time.Since(stopped).Round(100*time.Millisecond))
	c := check(t, h, "email:connection")
	assert.Equal(t, "warn", c["status"])
	assert.Contains(t, c["output"], "connection refused")
	code, anon := s.health(false)
	assert.Equal(t, 200, code)
	assert.Equal(t, map[string]any{"status": "warn"}, anon, "anonymous callers get the status alone")

	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	code, _, body := s.call("POST", "/users/register", map[string]any{"email": "ada@example.com", "password": "pw-pw-pw-pw"}, false)
	require.Equal(t, 204, code, "body: %s", body)
	res, _ := s.request("GET", "/server/ping", nil)
	assert.Equal(t, 200, res.StatusCode)
	deadline := time.Now().Add(eventLimit)
	for {
		_, h = s.health(true)
		if check(t, h, "outbox:pending")["observedValue"] == 1.0 && check(t, h, "email:lastDelivery")["status"] == "warn" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the failed delivery does not show: %v", h)
		time.Sleep(50 * time.Millisecond)
	}
}

// EMAIL_VERIFY_SETUP: a relay the server cannot use is one ERROR line
// that says what failed and which variables to change; the server serves
// on.
func TestVerifySetupNamesTheVariable(t *testing.T) {
	closed := smtptest.Start(t, smtptest.Options{})
	closed.Close()
	authed := smtptest.Start(t, smtptest.Options{Username: "mailer", Password: "right-password"})
	plain := smtptest.Start(t, smtptest.Options{})
	for name, tc := range map[string]struct {
		relay        *smtptest.Server
		vars         map[string]string
		what, change string
	}{
		"nothing listening": {closed, nil, "cannot connect to 127.0.0.1:" + strconv.Itoa(closed.Port()), "EMAIL_SMTP_HOST, EMAIL_SMTP_PORT"},
		"wrong password": {authed, map[string]string{"EMAIL_SMTP_USER": "mailer", "EMAIL_SMTP_PASSWORD": "smtp-secret"},
			"the relay refused the credentials", "EMAIL_SMTP_USER, EMAIL_SMTP_PASSWORD"},
		"implicit TLS on a plain port": {plain, map[string]string{"EMAIL_SMTP_SECURE": "true", "SHUTDOWN_TIMEOUT": "1"},
			"no TLS handshake with 127.0.0.1:" + strconv.Itoa(plain.Port()), "EMAIL_SMTP_SECURE (false for a STARTTLS port such as 587), EMAIL_SMTP_PORT"},
	} {
		t.Run(name, func(t *testing.T) {
			s := onlyDirectusMail(t, tc.relay, "127.0.0.1", tc.vars)
			line := s.waitLog(regexp.MustCompile(`level=ERROR msg="mail relay check failed: [^\n]*`))
			assert.Contains(t, line, tc.what)
			assert.Contains(t, line, `change="`+tc.change+`"`)
			assert.Contains(t, line, "mail waits in the outbox")
			assert.Equal(t, 1, strings.Count(s.logs.String(), "level=ERROR"), "one line")
			res, body := s.request("GET", "/server/ping", nil)
			assert.Equal(t, 200, res.StatusCode)
			assert.Equal(t, "pong", body)
		})
	}

	t.Run("off", func(t *testing.T) {
		s := onlyDirectusMail(t, closed, "127.0.0.1", map[string]string{"EMAIL_VERIFY_SETUP": "false"})
		res, _ := s.request("GET", "/server/ping", nil)
		assert.Equal(t, 200, res.StatusCode)
		assert.NotContains(t, s.logs.String(), "mail relay check")
	})
}

func TestPing(t *testing.T) {
	s := startServer(t, nil)
	res, body := s.request("GET", "/server/ping", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "pong", body)
	assert.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))

	code, h := s.health(false)
	assert.Equal(t, 200, code)
	assert.Equal(t, map[string]any{"status": "ok"}, h)
	code, h = s.health(true)
	assert.Equal(t, 200, code)
	for _, name := range []string{"database:responseTime", "outbox:pending", "outbox:oldestPendingAge", "email:lastDelivery", "email:connection", "hashing:waiting"} {
		assert.Equal(t, "ok", check(t, h, name)["status"], name)
	}
}

func TestCORS(t *testing.T) {
	const app, evil = "https://app.example.com", "https://evil.example"
	preflight := func(s *server, origin string) *http.Response {
		res, _ := s.request("OPTIONS", "/auth/login", map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}) // as browsers send it
		return res
	}
	login := func(s *server, origin string) *http.Response {
		req, err := http.NewRequest("POST", s.base+"/auth/login", strings.NewReader(`{"email":"a@example.com","password":"x"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}

	t.Run("Directus's defaults: off", func(t *testing.T) {
		s := startServer(t, nil)
		assert.Empty(t, preflight(s, app).Header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, login(s, app).Header.Get("Access-Control-Allow-Origin"))
	})

	s := startServer(t, map[string]string{"CORS_ENABLED": "true", "CORS_ORIGIN": app + ",https://*.preview.example.com"})
	t.Run("preflight", func(t *testing.T) {
		res := preflight(s, app)
		assert.Equal(t, http.StatusNoContent, res.StatusCode)
		assert.Equal(t, app, res.Header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
		assert.Equal(t, "POST", res.Header.Get("Access-Control-Allow-Methods"))
		assert.Equal(t, "authorization,content-type", res.Header.Get("Access-Control-Allow-Headers"))
		assert.Equal(t, "18000", res.Header.Get("Access-Control-Max-Age"))
		assert.Contains(t, res.Header.Values("Vary"), "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		assert.Equal(t, "https://pr-7.preview.example.com", preflight(s, "https://pr-7.preview.example.com").Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("request", func(t *testing.T) {
		res := login(s, app)
		assert.Equal(t, 401, res.StatusCode)
		assert.Equal(t, app, res.Header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "Content-Range", res.Header.Get("Access-Control-Expose-Headers"))
		assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	})
	t.Run("refused origins", func(t *testing.T) {
		for _, origin := range []string{evil, "http://app.example.com", "https://app.example.com.evil.example", "null"} {
			res := preflight(s, origin)
			assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), origin)
			assert.Empty(t, res.Header.Get("Access-Control-Allow-Credentials"), origin)
			assert.Empty(t, login(s, origin).Header.Get("Access-Control-Allow-Origin"), origin)
		}
		res, _ := s.request("OPTIONS", "/users", map[string]string{"Origin": app, "Access-Control-Request-Method": "PUT"})
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "a method CORS_METHODS does not list")
		res, _ = s.request("OPTIONS", "/users", map[string]string{"Origin": app, "Access-Control-Request-Method": "GET",
			"Access-Control-Request-Headers": "x-custom"})
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "a header CORS_ALLOWED_HEADERS does not list")
	})
	t.Run("any origin, no credentials", func(t *testing.T) {
		any := startServer(t, map[string]string{"CORS_ENABLED": "true", "CORS_ORIGIN": "true", "CORS_CREDENTIALS": "true"})
		res := preflight(any, evil)
		assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Credentials"))
		assert.Contains(t, any.logs.String(), "level=WARN msg=\"CORS_CREDENTIALS=true is ignored with CORS_ORIGIN allowing any origin")
	})
}

func TestMetrics(t *testing.T) {
	const scraper = "scraper-token-0123456789"
	off := startServer(t, nil)
	res, _ := off.request("GET", "/metrics", map[string]string{"Authorization": "Bearer " + adminToken})
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "METRICS_ENABLED is false by default, as in Directus")

	s := startServer(t, map[string]string{"METRICS_ENABLED": "true", "METRICS_TOKENS": scraper + ",another-token-0123456789",
		"RATE_LIMITER_REGISTRATION_POINTS": "1", "HASH_CONCURRENCY": "3"})
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	code, _, body := s.call("POST", "/users/register", map[string]any{"email": "ada@example.com", "password": "pw-pw-pw-pw"}, false)
	require.Equal(t, 204, code, "body: %s", body)
	code, _, _ = s.call("POST", "/users/register", map[string]any{"email": "bob@example.com", "password": "pw-pw-pw-pw"}, false)
	require.Equal(t, 429, code)
	s.mailTo("ada@example.com", 1)

	for name, auth := range map[string]string{"anonymous": "", "wrong token": "Metrics wrong-token-0123456789",
		"scraper token as bearer": "Bearer " + scraper} {
		res, body := s.request("GET", "/metrics", map[string]string{"Authorization": auth})
		assert.Equal(t, http.StatusForbidden, res.StatusCode, name)
		assert.Contains(t, body, `"code":"FORBIDDEN"`, name)
	}
	var text string
	for name, auth := range map[string]string{"admin": "Bearer " + adminToken, "scraper": "Metrics " + scraper} {
		res, body := s.request("GET", "/metrics", map[string]string{"Authorization": auth})
		require.Equal(t, http.StatusOK, res.StatusCode, name)
		assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain"), res.Header.Get("Content-Type"))
		text = body
	}
	for _, want := range []string{
		`users_http_requests_total{method="POST",route="/users/register",status="204"} 1`,
		`users_http_requests_total{method="POST",route="/users/register",status="429"} 1`,
		`users_http_requests_total{method="PATCH",route="/settings",status="200"} 1`,
		`users_http_request_duration_seconds_count{method="POST",route="/users/register"} 2`,
		`users_flow_total{flow="register",outcome="registered",reason=""} 1`,
		`users_mail_sent_total{kind="verify-email"} 1`,
		`users_mail_delivery_latency_seconds_count{kind="verify-email"} 1`,
		`users_outbox_pending 0`,
		`users_outbox_failed 0`,
		`users_hash_wait_seconds_count`,
		"users_hash_limit 3\n", // HASH_CONCURRENCY
		`users_rate_limited_total{limiter="register"} 1`,
		`go_goroutines `,
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "ada@example.com", "no address in a label")
}

// One access log line per request: method, route pattern, status,
// duration and request id — never the path's query, where tokens travel.
func TestAccessLogAndRequestID(t *testing.T) {
	s := startServer(t, nil)
	const token = "SecretTokenValue0123456789012345678901234567"
	res, _ := s.request("GET", "/users/register/verify-email?token="+token+"&access_token="+adminToken,
		map[string]string{"X-Request-Id": "req-42_a.b:c"})
	assert.Equal(t, "req-42_a.b:c", res.Header.Get("X-Request-Id"), "a valid id is echoed")
	line := s.waitLog(regexp.MustCompile(`msg=request method=GET route=/users/register/verify-email status=403 duration_ms=[0-9.]+ request_id=req-42_a.b:c`))
	assert.NotContains(t, line, token)
	assert.NotContains(t, s.logs.String(), token)

	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	for name, bad := range map[string]string{
		"missing": "", "too long": strings.Repeat("a", 129), "spaces": "a b", "markup": "<script>", "quote": `a"b`,
		"newline escape": "a%0Ab", "unicode": "é",
	} {
		h := map[string]string{}
		if bad != "" {
			h["X-Request-Id"] = bad
		}
		res, _ := s.request("GET", "/server/ping", h)
		id := res.Header.Get("X-Request-Id")
		assert.Regexp(t, uuidRE, id, name)
		s.waitLog(regexp.MustCompile(`route=/server/ping status=200 duration_ms=[0-9.]+ request_id=` + id))
	}
	res, _ = s.request("GET", "/server/ping", map[string]string{"X-Request-Id": strings.Repeat("b", 128)})
	assert.Equal(t, strings.Repeat("b", 128), res.Header.Get("X-Request-Id"), "128 characters are fine")

	s.request("GET", "/no/such/route?token="+token, nil)
	s.waitLog(regexp.MustCompile(`method=GET route=/ status=404`))
	assert.NotContains(t, s.logs.String(), "/no/such/route", "paths are not logged, patterns are")
}

// PROJECT_NAME names the project in mails until the stored settings say
// otherwise.
func TestProjectName(t *testing.T) {
	s := startServer(t, map[string]string{"PROJECT_NAME": "Acme Corp"})
	assert.Equal(t, "Acme Corp", s.ok("GET", "/settings", nil, true)["project_name"])
	role := s.ok("POST", "/roles", map[string]any{"name": "Member"}, true)
	invite := func(addr string) {
		code, _, body := s.call("POST", "/users/invite", map[string]any{"email": addr, "role": role["id"]}, true)
		require.Equal(t, 204, code, "body: %s", body)
	}
	invite("grace@example.com")
	assert.Contains(t, s.mailTo("grace@example.com", 1).Text, "You have been invited to join Acme Corp as grace@example.com.")

	assert.Equal(t, "Widgets Ltd", s.ok("PATCH", "/settings", map[string]any{"project_name": "Widgets Ltd"}, true)["project_name"])
	invite("linus@example.com")
	assert.Contains(t, s.mailTo("linus@example.com", 1).Text, "You have been invited to join Widgets Ltd as linus@example.com.")
}

// Without ADMIN_TOKEN and without an administrator, start-up says that
// every admin route will refuse.
func TestNoAdministratorWarning(t *testing.T) {
	none := startServer(t, map[string]string{"ADMIN_TOKEN": ""})
	none.waitLog(regexp.MustCompile(`level=WARN msg="ADMIN_TOKEN is not set and no active user has an admin role: every admin route`))
	code, _, _ := none.call("GET", "/roles", nil, false)
	assert.Equal(t, 403, code)

	first := startServer(t, map[string]string{"ADMIN_TOKEN": "", "ADMIN_EMAIL": "root@example.com", "ADMIN_PASSWORD": "first admin pw"})
	first.waitLog(regexp.MustCompile(`msg="users server listening"`))
	assert.NotContains(t, first.logs.String(), "ADMIN_TOKEN is not set and no active user")

	token := startServer(t, nil)
	token.waitLog(regexp.MustCompile(`msg="users server listening"`))
	assert.NotContains(t, token.logs.String(), "ADMIN_TOKEN is not set")
}

// Start-up logs the configuration in force, secrets redacted.
func TestStartupLogsConfiguration(t *testing.T) {
	s := startServer(t, nil)
	logs := s.logs.String()
	assert.Regexp(t, `msg=configuration section=Email .*EMAIL_SMTP_HOST=127\.0\.0\.1 .*EMAIL_SMTP_PASSWORD=\[redacted\]`, logs)
	assert.Regexp(t, `msg=configuration section=Security ADMIN_TOKEN=\[redacted\]`, logs)
	assert.Regexp(t, `msg=configuration section=Server .*PUBLIC_URL=http://127\.0\.0\.1:\d+`, logs)
}

// Building without cgo fails on a message that says what to do, not on
// go-sqlite3's missing symbols. Without compiling every dependency of the
// server a second time, without cgo (the better part of a minute on a
// small machine whose cache holds only the cgo builds): go list shows that
// the server still needs sqlitestore without cgo, that go-sqlite3 is the
// only package of its dependencies outside the standard library with C
// code (the standard library's have Go fallbacks), and that sqlitestore
// alone imports it, so that sqlitestore is where such a build fails; and
// building sqlitestore without cgo fails first on the name that says what
// to do.
func TestBuildWithoutCgoSaysWhy(t *testing.T) {
	t.Parallel()
	requireLong(t, "builds sqlitestore without cgo")
	golist := func(cgo string) map[string][]string {
		t.Helper()
		cmd := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{if .CgoFiles}} C{{end}}{{range .Imports}} {{.}}{{end}}{{end}}`, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
		out, err := cmd.Output()
		require.NoError(t, err, "go list with CGO_ENABLED=%s", cgo)
		pkgs := map[string][]string{}
		for line := range strings.Lines(string(out)) {
			if f := strings.Fields(line); len(f) > 0 {
				pkgs[f[0]] = f[1:]
			}
		}
		return pkgs
	}
	const sqlite3, sqlitestore = "github.com/mattn/go-sqlite3", "github.com/gousers/users/store/sqlitestore"
	assert.Contains(t, golist("0"), sqlitestore, "without cgo the server still needs sqlitestore")
	var withC, importers []string
	for pkg, imports := range golist("1") {
		if slices.Contains(imports, "C") {
			withC = append(withC, pkg)
		}
		if slices.Contains(imports, sqlite3) {
			importers = append(importers, pkg)
		}
	}
	require.Equal(t, []string{sqlite3}, withC, "the server's dependencies with C code")
	require.Equal(t, []string{sqlitestore}, importers, "the server's packages that import go-sqlite3")

	cmd := exec.Command("go", "build", sqlitestore)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.GreaterOrEqual(t, len(lines), 2, "%s", out)
	assert.Equal(t, "# "+sqlitestore, lines[0], "%s", out)
	assert.Contains(t, lines[1], "sqlitestore_needs_cgo_build_with_CGO_ENABLED_1_and_a_C_compiler_such_as_gcc",
		"the first error says what to do: %s", out)
}

// USER_REGISTER_VERIFY_REDIRECT sends the browser on after a successful
// verification; a failed one still answers the error.
func TestVerifyRedirect(t *testing.T) {
	s := startServer(t, map[string]string{"USER_REGISTER_VERIFY_REDIRECT": "/admin/login?verified=1"})
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	code, _, body := s.call("POST", "/users/register", map[string]any{"email": "ada@example.com", "password": "pw-pw-pw-pw"}, false)
	require.Equal(t, 204, code, "body: %s", body)
	_, tok := linkToken(t, s.mailTo("ada@example.com", 1), "http://")
	code, h, _ := s.call("GET", "/users/register/verify-email?token="+tok, nil, false)
	assert.Equal(t, http.StatusFound, code)
	assert.Equal(t, "/admin/login?verified=1", h.Get("Location"))
	code, _, _ = s.call("GET", "/users/register/verify-email?token="+tok, nil, false)
	assert.Equal(t, http.StatusForbidden, code, "a used token is still an error, not a redirect")
}
