package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The server wires in every rate limit it documents: registrations per
// client IP (RATE_LIMITER_REGISTRATION_*), invitation mails per recipient
// (RATE_LIMITER_MAIL_ADMIN_*, 10 per hour by default) and logins from unknown devices per IP and
// address (5 per 15 minutes) and per address (10). On SQLite they are counted in memory; with DB_CLIENT=pg in
// PostgreSQL, so that every instance sees the others' counts: there the
// requests alternate between two servers on one database, and a limiter
// kept per process would let twice as many through.
func TestServerLimits(t *testing.T) {
	t.Parallel()
	env := map[string]string{"RATE_LIMITER_REGISTRATION_POINTS": "3", "RATE_LIMITER_REGISTRATION_DURATION": "60", "IP_TRUST_PROXY": "127.0.0.1"}
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		checkLimits(t, startServer(t, env))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		pg := map[string]string{"DB_CLIENT": "pg", "DB_CONNECTION_STRING": postgresSchemaDSN(t)}
		for k, v := range env {
			pg[k] = v
		}
		checkLimits(t, startServer(t, pg), startServer(t, pg))
	})
}

// checkLimits drives requests, round robin over servers (which share one
// database), until each limit answers, and checks that it answers exactly
// one request past its limit.
func checkLimits(t *testing.T, servers ...*server) {
	t.Helper()
	n := 0
	next := func() *server { n++; return servers[n%len(servers)] }
	role := servers[0].ok("POST", "/roles", map[string]any{"name": "Member"}, true)
	servers[0].ok("PATCH", "/settings", map[string]any{"public_registration": true, "public_registration_role": role["id"]}, true)

	// Registrations per client IP: 3 (RATE_LIMITER_REGISTRATION_POINTS).
	for i := range 3 {
		code, _, body := next().call("POST", "/users/register", map[string]any{"email": fmt.Sprintf("reg%d@example.com", i), "password": "pw-pw-pw-pw"}, false)
		require.Equal(t, 204, code, "registration %d: %s", i+1, body)
	}
	code, _, body := next().call("POST", "/users/register", map[string]any{"email": "reg3@example.com", "password": "pw-pw-pw-pw"}, false)
	requireLimited(t, "the registration limit (RATE_LIMITER_REGISTRATION_POINTS=3)", 3, code, body)

	// Logins from unknown devices, whether or not the address exists: 5
	// per client IP and address (RATE_LIMITER_LOGIN_IP_POINTS), 10 per
	// address over every IP (RATE_LIMITER_LOGIN_ADDRESS_POINTS). The
	// client IPs come from X-Forwarded-For (IP_TRUST_PROXY=127.0.0.1).
	login := map[string]any{"email": "nobody@example.com", "password": "wrong password"}
	from := func(ip string) (int, []byte) {
		resp, body := next().do("POST", "/auth/login", login, map[string]string{"X-Forwarded-For": ip})
		return resp.StatusCode, body
	}
	for i := range 5 {
		code, body := from("192.0.2.1")
		require.Equal(t, 401, code, "failed login %d: %s", i+1, body)
	}
	code, body = from("192.0.2.1")
	requireLimited(t, "the login limit per IP and address (5 per 15 minutes)", 5, code, body)
	for i := range 5 {
		code, body := from("192.0.2.2")
		require.Equal(t, 401, code, "failed login %d from a second IP: %s", i+1, body)
	}
	code, body = from("192.0.2.3")
	requireLimited(t, "the login limit per address (10 per 15 minutes)", 10, code, body)

	// Invitation mails per recipient: an invitation re-sent to one address
	// is mailed 10 times; the 11th is refused (the only address held back:
	// 429). Registrations of that address use up none of it.
	invite := map[string]any{"email": "invitee@example.com", "role": role["id"]}
	for i := range 10 {
		code, _, body := next().call("POST", "/users/invite", invite, true)
		require.Equal(t, 204, code, "invitation %d: %s", i+1, body)
	}
	code, _, body = next().call("POST", "/users/invite", invite, true)
	requireLimited(t, "the invitation mail limit (10 per recipient per hour)", 10, code, body)

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
	assert.Equal(t, limit, env.Errors[0].Extensions.Limit, "%s answered with another limit", what)
}

// postgresSchemaDSN returns USERS_TEST_POSTGRES_DSN on a new schema of its
// own, dropped when the test ends. Without the variable the test skips,
// except under CI=true, where it fails.
func postgresSchemaDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("USERS_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("USERS_TEST_POSTGRES_DSN is not set: CI must run the PostgreSQL tests")
		}
		t.Skip("USERS_TEST_POSTGRES_DSN is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "users_e2e_" + hex.EncodeToString(b[:])
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
