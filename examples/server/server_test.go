package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/smtpmailer/smtptest"
)

const adminToken = "e2e-admin-token-0123456789"

// server is the example server's wiring, running in the test process.
type server struct {
	t    *testing.T
	base string
	smtp *smtptest.Server
	logs *syncBuffer
	stop func() error // cancels run and returns its error
}

// startServer runs run() with env on top of a test configuration: a free
// port, SQLite in a temp dir (unless env says otherwise), a real SMTP server
// with AUTH, cheap argon2id parameters.
func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	smtp := smtptest.Start(t, smtptest.Options{Username: "mailer", Password: "smtp-secret"})
	vars := map[string]string{
		"PORT":                              "0",
		"DB_FILENAME":                       filepath.Join(t.TempDir(), "users.db"),
		"EMAIL_SMTP_HOST":                   smtp.Host(),
		"EMAIL_SMTP_PORT":                   strconv.Itoa(smtp.Port()),
		"EMAIL_SMTP_IGNORE_TLS":             "true",
		"EMAIL_SMTP_USER":                   "mailer",
		"EMAIL_SMTP_PASSWORD":               "smtp-secret",
		"EMAIL_FROM":                        "App <app@example.com>",
		"ADMIN_TOKEN":                       adminToken,
		"HASH_MEMORY_COST":                  "1024",
		"HASH_TIME_COST":                    "1",
		"HASH_PARALLELISM":                  "1",
		"USER_REGISTER_URL_ALLOW_LIST":      "https://app.example.com/verify,https://app.example.com/verify?lang=en",
		"USER_INVITE_URL_ALLOW_LIST":        "https://app.example.com/accept",
		"RATE_LIMITER_REGISTRATION_ENABLED": "true",
	}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var askedMu sync.Mutex
	asked := map[string]bool{}
	getenv := func(k string) string {
		askedMu.Lock()
		asked[k] = true
		askedMu.Unlock()
		return vars[k]
	}
	go func() {
		done <- run(ctx, getenv, io.Discard, log, func(a string) { addr <- a })
	}()
	s := &server{t: t, smtp: smtp, logs: &logs}
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = fmt.Errorf("server did not stop within 30s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		assert.NoError(t, s.stop())
		// Secrets never reach the log.
		for _, secret := range []string{"smtp-secret", adminToken, "correct horse battery", "another good pass", "?token=", "&token="} {
			assert.NotContains(t, logs.String(), secret)
		}
		// The server reads no variable that -h does not tell about.
		known := names()
		askedMu.Lock()
		defer askedMu.Unlock()
		for k := range asked {
			assert.True(t, known[k], "the server reads %s, which is not in the table", k)
		}
	})
	return s
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// call sends a JSON request (body may be nil) and returns the status and
// the body.
func (s *server) call(method, path string, body any, admin bool) (int, http.Header, []byte) {
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
	if admin {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp.StatusCode, resp.Header, b
}

// ok sends a JSON request that must answer 200 {"data": {…}}, and
// returns the data.
func (s *server) ok(method, path string, reqBody any, admin bool) map[string]any {
	s.t.Helper()
	status, _, body := s.call(method, path, reqBody, admin)
	require.Equal(s.t, 200, status, "body: %s", body)
	var env struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(s.t, json.Unmarshal(body, &env), "body: %s", body)
	return env.Data
}

// mailTo waits for the n-th mail (1-based) to addr and returns it.
func (s *server) mailTo(addr string, n int) smtptest.Message {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []smtptest.Message
		for _, m := range s.smtp.Messages() {
			if len(m.To) == 1 && m.To[0] == addr {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no mail #%d to %s within 20s (have %d)", n, addr, len(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// linkToken returns the link in a mail's text part that starts with
// prefix, and its token.
func linkToken(t *testing.T, m smtptest.Message, prefix string) (string, string) {
	t.Helper()
	require.NoError(t, m.Err)
	for _, f := range strings.Fields(m.Text) {
		if strings.HasPrefix(f, prefix) {
			u, err := url.Parse(f)
			require.NoError(t, err)
			tok := u.Query().Get("token")
			require.Len(t, tok, 43, "a 256-bit base64url token")
			assert.Contains(t, m.HTML, tok, "the HTML part carries the same link")
			return f, tok
		}
	}
	t.Fatalf("no link starting with %s in mail %q", prefix, m.Subject)
	return "", ""
}

// walk runs the two sign-up flows end to end: register → mail → verify
// → login, and invite → mail → accept → login, with the tokens read from
// the mails the SMTP server received.
func walk(t *testing.T, s *server) {
	// An admin creates a role and opens registration with it.
	role := s.ok("POST", "/roles", map[string]any{"name": "Member"}, true)
	roleID := role["id"].(string)
	st := s.ok("PATCH", "/settings", map[string]any{
		"public_registration":              true,
		"public_registration_role":         roleID,
		"public_registration_email_filter": map[string]any{"email": map[string]any{"_ends_with": "@example.com"}},
	}, true)
	assert.Equal(t, true, st["public_registration"])

	// Register: 204, and an existing address gets the identical answer.
	reg := map[string]any{"email": "ada@example.com", "password": "correct horse battery", "first_name": "Ada",
		"verification_url": "https://app.example.com/verify"}
	code, h1, b1 := s.call("POST", "/users/register", reg, false)
	require.Equal(t, 204, code, "body: %s", b1)
	mail := s.mailTo("ada@example.com", 1)
	assert.Equal(t, "Verify your email address", mail.Subject)
	assert.Equal(t, "multipart/alternative", mail.MediaType)
	assert.Equal(t, "mailer", mail.AuthUser)
	_, tok := linkToken(t, mail, "https://app.example.com/verify?")

	code, h2, b2 := s.call("POST", "/users/register", reg, false)
	require.Equal(t, 204, code)
	assert.Equal(t, b1, b2)
	for _, k := range []string{"Content-Type", "Content-Length", "Cache-Control"} {
		assert.Equal(t, h1.Get(k), h2.Get(k), k)
	}

	// Not active yet: login fails.
	code, _, body := s.call("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse battery"}, false)
	assert.Equal(t, 401, code, "body: %s", body)

	// The re-sent mail's token supersedes the first one.
	_, tok2 := linkToken(t, s.mailTo("ada@example.com", 2), "https://app.example.com/verify?")
	code, _, body = s.call("GET", "/users/register/verify-email?token="+tok, nil, false)
	assert.Equal(t, 403, code, "a revoked token: %s", body)
	code, _, body = s.call("GET", "/users/register/verify-email?token="+tok2, nil, false)
	require.Equal(t, 204, code, "body: %s", body)
	code, _, _ = s.call("GET", "/users/register/verify-email?token="+tok2, nil, false)
	assert.NotEqual(t, 204, code, "single use")

	u := s.me(s.login("ADA@example.com", "correct horse battery").AccessToken)
	assert.Equal(t, "active", u["status"])
	assert.Equal(t, roleID, u["role"])
	assert.Equal(t, "**********", u["password"])

	// Invite → mail → accept → login.
	code, _, body = s.call("POST", "/users/invite", map[string]any{"email": []string{"grace@example.com"}, "role": roleID,
		"invite_url": "https://app.example.com/accept"}, true)
	require.Equal(t, 204, code, "body: %s", body)
	code, _, _ = s.call("POST", "/users/invite", map[string]any{"email": "x@example.com", "role": roleID}, false)
	assert.Equal(t, 403, code, "invite needs the admin token")
	inv := s.mailTo("grace@example.com", 1)
	assert.Equal(t, "You've been invited", inv.Subject)
	_, itok := linkToken(t, inv, "https://app.example.com/accept?")
	code, _, body = s.call("POST", "/users/invite/accept", map[string]any{"token": itok, "password": "another good pass"}, false)
	require.Equal(t, 204, code, "body: %s", body)
	u = s.me(s.login("grace@example.com", "another good pass").AccessToken)
	assert.Equal(t, "active", u["status"])

	// The admin sees both users.
	var list struct {
		Data []map[string]any `json:"data"`
	}
	code, _, body = s.call("GET", "/users", nil, true)
	require.Equal(t, 200, code)
	require.NoError(t, json.Unmarshal(body, &list))
	assert.Len(t, list.Data, 2)
	assert.NotContains(t, string(body), "$argon2id$", "no hash in any answer")
}

// The two flows end to end on SQLite, through real SMTP.
func TestEndToEndSQLite(t *testing.T) {
	s := startServer(t, nil)
	walk(t, s)
	assert.NoError(t, s.stop(), "graceful shutdown")
}

// The same on PostgreSQL (DB_CLIENT=pg), on a schema of its own.
func TestEndToEndPostgres(t *testing.T) {
	dsn := testenv.Postgres.DSN(t)
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
	s := startServer(t, map[string]string{"DB_CLIENT": "pg", "DB_CONNECTION_STRING": dsn + sep + "search_path=" + schema})
	walk(t, s)
}

// The registration limit per client IP (RATE_LIMITER_REGISTRATION_*)
// answers 429 with Directus's envelope, and can be switched off.
func TestRegistrationRateLimit(t *testing.T) {
	s := startServer(t, map[string]string{"RATE_LIMITER_REGISTRATION_POINTS": "2", "RATE_LIMITER_REGISTRATION_DURATION": "60"})
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	for i := range 2 {
		code, _, body := s.call("POST", "/users/register", map[string]any{"email": fmt.Sprintf("r%d@example.com", i), "password": "pw-pw-pw-pw"}, false)
		require.Equal(t, 204, code, "body: %s", body)
	}
	code, h, body := s.call("POST", "/users/register", map[string]any{"email": "r3@example.com", "password": "pw-pw-pw-pw"}, false)
	require.Equal(t, 429, code, "body: %s", body)
	assert.NotEmpty(t, h.Get("Retry-After"))
	assert.Contains(t, string(body), `"code":"REQUESTS_EXCEEDED"`)
	assert.Contains(t, string(body), `"limit":2`)

	off := startServer(t, map[string]string{"RATE_LIMITER_REGISTRATION_ENABLED": "false"})
	off.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	for i := range 8 {
		code, _, body := off.call("POST", "/users/register", map[string]any{"email": fmt.Sprintf("r%d@example.com", i), "password": "pw-pw-pw-pw"}, false)
		require.Equal(t, 204, code, "body: %s", body)
	}
}
