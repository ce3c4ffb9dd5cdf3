package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/store"
)

// limitEnv sets every limit the server documents to a value of its own, so
// that a 429 names the limiter that answered.
var limitEnv = map[string]string{
	"IP_TRUST_PROXY":                    "127.0.0.1",                            // the test names each request's client in X-Forwarded-For
	"SECRET":                            "limits-test-secret-0123456789-abcdef", // one for every instance: device cookies are shared
	"RATE_LIMITER_REGISTRATION_POINTS":  "3",
	"RATE_LIMITER_LOGIN_ADDRESS_POINTS": "6",
	"RATE_LIMITER_LOGIN_IP_POINTS":      "3",
	"RATE_LIMITER_LOGIN_DEVICE_POINTS":  "4",
	"RATE_LIMITER_MAIL_POINTS":          "4",
	"RATE_LIMITER_MAIL_ADMIN_POINTS":    "2",
}

// The server wires in every rate limit it documents: registrations per
// client IP, verification mails and invitation mails per recipient, and
// logins per address, per client IP and address, and per device. On SQLite they count in memory;
// with DB_CLIENT=pg or mysql in the database, so that every instance sees
// the others' counts: there the requests alternate between two servers on
// one database, and a limiter kept per process would let twice as many
// through.
func TestServerLimits(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		env := withEnv(limitEnv, map[string]string{"DB_FILENAME": filepath.Join(t.TempDir(), "users.db")})
		checkLimits(t, env, startServer(t, env))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		env := withEnv(limitEnv, map[string]string{"DB_CLIENT": "pg", "DB_CONNECTION_STRING": postgresSchemaDSN(t)})
		checkLimits(t, env, startServer(t, env), startServer(t, env))
	})
	t.Run("MySQL", func(t *testing.T) {
		t.Parallel()
		env := withEnv(limitEnv, mysqlDatabaseEnv(t))
		checkLimits(t, env, startServer(t, env), startServer(t, env))
	})
}

// checkLimits drives requests, round robin over servers (which share one
// database, configured by env), until each limit answers, and checks that
// it answers the request just past its limit, and no earlier.
func checkLimits(t *testing.T, env map[string]string, servers ...*server) {
	t.Helper()
	n := 0
	next := func() *server { n++; return servers[n%len(servers)] }
	servers[0].ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	register := func(email, ip string) (int, []byte) {
		return next().limitCall("POST", "/users/register", map[string]any{"email": email, "password": "pw-pw-pw-pw"}, ip)
	}
	login := func(email, password, ip string, device ...*http.Cookie) (int, []byte) {
		return next().limitCall("POST", "/auth/login", map[string]any{"email": email, "password": password}, ip, device...)
	}

	// Registrations per client IP: 3.
	for i := range 3 {
		code, body := register(fmt.Sprintf("reg%d@example.com", i), "192.0.2.1")
		require.Equal(t, 204, code, "registration %d: %s", i+1, body)
	}
	code, body := register("reg3@example.com", "192.0.2.1")
	requireLimited(t, "the registration limit per client IP", 3, code, body)

	// Logins per address from unknown devices: 6, from as many IPs.
	for i := range 6 {
		code, body := login("nobody@example.com", "wrong password", fmt.Sprintf("198.51.100.%d", i+1))
		require.Equal(t, 401, code, "failed login %d: %s", i+1, body)
	}
	code, body = login("nobody@example.com", "wrong password", "198.51.100.99")
	requireLimited(t, "the login limit per address", 6, code, body)

	// Logins per client IP and address: 3.
	for i := range 3 {
		code, body := login("someone@example.com", "wrong password", "203.0.113.9")
		require.Equal(t, 401, code, "failed login %d: %s", i+1, body)
	}
	code, body = login("someone@example.com", "wrong password", "203.0.113.9")
	requireLimited(t, "the login limit per client IP and address", 3, code, body)

	// Logins from a known device (its cookie skips the two limits above):
	// 4 per device.
	servers[0].ok("POST", "/users", map[string]any{"email": "dev@example.com", "password": "correct horse battery"}, true)
	resp, body := next().limitDo("POST", "/auth/login", map[string]any{"email": "dev@example.com", "password": "correct horse battery"}, "203.0.113.50")
	require.Equal(t, 200, resp.StatusCode, "body: %s", body)
	var device *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "users_device" {
			device = c
		}
	}
	require.NotNil(t, device, "a successful login sets the device cookie")
	for i := range 4 {
		code, body := login("dev@example.com", "wrong password", fmt.Sprintf("203.0.113.%d", 60+i), device)
		require.Equal(t, 401, code, "failed login %d: %s", i+1, body)
	}
	code, body = login("dev@example.com", "wrong password", "203.0.113.70", device)
	requireLimited(t, "the login limit per device", 4, code, body)

	// Invitation mails per recipient: 2; beyond, the invitation answers
	// 429 for that address.
	role := servers[0].ok("POST", "/roles", map[string]any{"name": "Member"}, true)
	for i := range 2 {
		code, _, body := next().call("POST", "/users/invite", map[string]any{"email": "invitee@example.com", "role": role["id"]}, true)
		require.Equal(t, 204, code, "invitation %d: %s", i+1, body)
	}
	code, _, body = next().call("POST", "/users/invite", map[string]any{"email": "invitee@example.com", "role": role["id"]}, true)
	requireLimited(t, "the invitation mail limit per recipient", 2, code, body)

	// Verification mails per recipient: 4. A still unverified address
	// registered again is mailed again; the 5th registration is answered
	// as usual but queues nothing. The outbox, read through the server's
	// own store, shows what was queued (what was delivered depends on
	// the worker's timing).
	for i := range 5 {
		code, body := register("mailme@example.com", fmt.Sprintf("192.0.2.%d", 100+i))
		require.Equal(t, 204, code, "registration %d: %s", i+1, body)
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	ctx := context.Background()
	st, _, closeStore, err := openStore(ctx, cfg)
	require.NoError(t, err)
	defer closeStore()
	queued, err := st.ListMail(ctx, store.MailQuery{To: "mailme@example.com"})
	require.NoError(t, err)
	assert.Equal(t, 4, len(queued), "the verification mail limit per recipient let another number of mails be queued")
}

// limitDo sends a JSON request from the client at ip (X-Forwarded-For,
// believed from 127.0.0.1) with the given cookies.
func (s *server) limitDo(method, path string, body any, ip string, cookies ...*http.Cookie) (*http.Response, []byte) {
	s.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(s.t, err)
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(b))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp, rb
}

// limitCall is limitDo returning the status code.
func (s *server) limitCall(method, path string, body any, ip string, cookies ...*http.Cookie) (int, []byte) {
	s.t.Helper()
	resp, b := s.limitDo(method, path, body, ip, cookies...)
	return resp.StatusCode, b
}

// requireLimited checks a 429 REQUESTS_EXCEEDED answer from the limit
// named what, allowing limit events.
func requireLimited(t *testing.T, what string, limit int, code int, body []byte) {
	t.Helper()
	require.Equal(t, 429, code, "%s did not answer: %s", what, body)
	var env struct {
		Errors []struct {
			Extensions struct {
				Code  string `json:"code"`
				Limit int    `json:"limit"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &env), "body: %s", body)
	require.Len(t, env.Errors, 1, "body: %s", body)
	assert.Equal(t, "REQUESTS_EXCEEDED", env.Errors[0].Extensions.Code, what)
	assert.Equal(t, limit, env.Errors[0].Extensions.Limit, "%s: another limit answered", what)
}

// withEnv returns base with more on top.
func withEnv(base, more map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range base {
		env[k] = v
	}
	for k, v := range more {
		env[k] = v
	}
	return env
}

// postgresSchemaDSN returns USERS_TEST_POSTGRES_DSN on a new schema of its
// own, dropped when the test ends. Without the variable the test skips,
// except under CI=true, where it fails.
func postgresSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := testenv.Postgres.DSN(t)
	schema := "users_e2e_" + randomHex()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(ctx)
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// mysqlDatabaseEnv returns the server's variables for a new database of
// its own on USERS_TEST_MYSQL_DSN's server, dropped when the test ends.
// Without the variable the test skips, except under CI=true, where it
// fails.
func mysqlDatabaseEnv(t *testing.T) map[string]string {
	t.Helper()
	dsn := testenv.MySQL.DSN(t)
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	name := "users_e2e_" + randomHex()
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	_, err = admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE " + name)
		_ = admin.Close()
	})
	host, port, err := net.SplitHostPort(cfg.Addr)
	require.NoError(t, err)
	return map[string]string{
		"DB_CLIENT": "mysql", "DB_HOST": host, "DB_PORT": port, "DB_DATABASE": name,
		"DB_USER": cfg.User, "DB_PASSWORD": cfg.Passwd,
	}
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RATE_LIMITER_ENABLED (Directus's name; off by default) limits every
// public route per client IP: the request past RATE_LIMITER_POINTS answers
// 429, another IP is served, and the admin routes are not counted.
func TestServerPublicRouteLimit(t *testing.T) {
	t.Parallel()
	env := map[string]string{"IP_TRUST_PROXY": "127.0.0.1", "RATE_LIMITER_ENABLED": "true", "RATE_LIMITER_POINTS": "3", "RATE_LIMITER_DURATION": "600"}
	s := startServer(t, env)
	ask := func(ip string) (int, []byte) {
		return s.limitCall("POST", "/auth/password/request", map[string]any{"email": "someone@example.com"}, ip)
	}
	for i := range 3 {
		code, body := ask("192.0.2.7")
		require.Equal(t, 204, code, "request %d: %s", i+1, body)
		s.ok("GET", "/settings", nil, true) // admin routes are not counted
	}
	code, body := ask("192.0.2.7")
	requireLimited(t, "the public-route limit per client IP", 3, code, body)
	code, body = s.limitCall("POST", "/auth/login", map[string]any{"email": "someone@example.com", "password": "x"}, "192.0.2.7")
	requireLimited(t, "the public-route limit on another public route", 3, code, body)
	code, body = ask("192.0.2.8")
	require.Equal(t, 204, code, "another IP: %s", body)

	// Off by default.
	d := startServer(t, map[string]string{"IP_TRUST_PROXY": "127.0.0.1"})
	for i := range 10 {
		code, body := d.limitCall("POST", "/auth/password/request", map[string]any{"email": "someone@example.com"}, "192.0.2.7")
		require.Equal(t, 204, code, "request %d with the limit off: %s", i+1, body)
	}
}
