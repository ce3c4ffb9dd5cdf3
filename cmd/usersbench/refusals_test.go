package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
)

// TestMain lets the test binary be the -refusals server process, as the
// usersbench binary is (see main). Otherwise it runs the tests and says,
// in one line, when USERS_TEST_POSTGRES_DSN or USERS_TEST_MYSQL_DSN is
// unset and no test ran against that server.
func TestMain(m *testing.M) {
	if spec := os.Getenv(refusalServerEnv); spec != "" {
		os.Exit(refusalServerMain(spec))
	}
	testenv.Main(m, "cmd/usersbench", testenv.Postgres, testenv.MySQL)
}

// The bare handler answers each refusal path exactly as the app does:
// same status, same body, same headers (but Date).
func TestBareHandlerReplaysTheAppsAnswers(t *testing.T) {
	t.Parallel()
	stdinR, stdinW := io.Pipe()
	outR, outW := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- serveRefusals(t.Context(), serverSpec{Store: "memory", Argon2: argon2Params{Fake: true}, Admin: "admin-token-0123456789"}, outW, stdinR)
	}()
	var hello serverHello
	require.NoError(t, json.NewDecoder(outR).Decode(&hello))
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	defer func() {
		stdinW.Close()
		require.NoError(t, <-errc)
	}()

	want := map[string]int{"verify-garbage": 403, "accept-garbage": 403, "reset-garbage": 403, "malformed-json": 400, "no-auth": 403, "ping": 200}
	require.Len(t, hello.Answers, len(refusalPaths))
	client := &http.Client{Timeout: 30 * time.Second}
	for _, p := range refusalPaths {
		var got [2]*http.Response
		var bodies [2][]byte
		for i, base := range []string{hello.App, hello.Bare} {
			req, err := p.request(t.Context(), base, randomToken())
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			bodies[i], err = io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			got[i] = resp
		}
		assert.Equal(t, want[p.Name], got[0].StatusCode, "%s: the app refuses", p.Name)
		assert.Equal(t, got[0].StatusCode, got[1].StatusCode, p.Name)
		assert.Equal(t, string(bodies[0]), string(bodies[1]), p.Name)
		for _, h := range []*http.Response{got[0], got[1]} {
			h.Header.Del("Date")
		}
		assert.Equal(t, got[0].Header, got[1].Header, p.Name)
		assert.NotContains(t, string(bodies[0]), "{token}")
	}
}

// -refusals end to end, with the server process started as the tool
// starts it: every path on both handlers, with and without a flood, no
// error, and the flood both served and measured.
func TestRefusalsMode(t *testing.T) {
	t.Parallel()
	cfg, err := parseArgs([]string{"-refusals", "-store", "memory", "-argon2", "fake", "-c", "4", "-d", "100ms",
		"-rounds", "1", "-procs", "go", "-flood-c", "2", "-json"}, io.Discard)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))
	var rep refusalReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Len(t, rep.Rows, 2*len(refusalPaths))
	for _, r := range rep.Rows {
		assert.Zero(t, r.Errors, "%s flood=%v: %s", r.Path, r.Flood, r.ErrSummary)
		assert.Positive(t, r.App, r.Path)
		assert.Positive(t, r.Bare, r.Path)
		assert.InDelta(t, r.App/r.Bare, r.Ratio, 1e-9)
		if r.Flood {
			assert.Positive(t, r.VsNoFlood, "%s: compared with its rate without the flood", r.Path)
		}
	}
	require.Len(t, rep.Floods, 1)
	assert.Positive(t, rep.Floods[0].Served, "the flood's registrations were served")

	var table bytes.Buffer
	require.NoError(t, rep.write(&table))
	assert.Contains(t, table.String(), "app/bare")
	assert.Contains(t, table.String(), "flood at GOMAXPROCS")
}
