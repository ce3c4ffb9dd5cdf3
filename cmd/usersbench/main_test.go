package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/userstest"
)

func TestParseArgsDefaults(t *testing.T) {
	t.Parallel()
	c, err := parseArgs(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "sqlite", c.Store)
	assert.Equal(t, argon2Params{Memory: 65536, Time: 3, Threads: 4}, c.Argon2, "Directus's parameters by default")
	assert.Equal(t, 8, c.C)
	assert.Equal(t, 10*time.Second, c.D)
	assert.Equal(t, allOps, c.Ops)
	assert.True(t, c.Deliver)
	assert.True(t, c.Ceiling)
	assert.Equal(t, hashLimit{}, c.HashLimit, "the library's default hash limit")
	assert.Empty(t, c.HTTP)
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	c, err := parseArgs(strings.Fields("-store memory -argon2 fake -c 32 -d 3s -ops invite,register -json -hashlimit 4,0"), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "memory", c.Store)
	assert.True(t, c.Argon2.Fake)
	assert.IsType(t, userstest.Hasher{}, c.Argon2.hasher())
	assert.Equal(t, 32, c.C)
	assert.Equal(t, 3*time.Second, c.D)
	assert.Equal(t, []string{opRegister, opInvite}, c.Ops, "run order, not flag order")
	assert.True(t, c.JSON)
	assert.Equal(t, hashLimit{Limit: 4, Queue: 0}, c.HashLimit)

	c, err = parseArgs(strings.Fields("-http http://127.0.0.1:8055/ -admin-token secret-secret-secret -maillog out.txt -pid 42 -ops login"), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8055", c.HTTP, "trailing slash trimmed")
	assert.Equal(t, "out.txt", c.MailLog)
	assert.Equal(t, 42, c.PID)

	c, err = parseArgs(strings.Fields("-store postgres -dsn postgres://x@y/z"), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "pg", c.Store)

	c, err = parseArgs(strings.Fields("-store mariadb -dsn root@tcp(127.0.0.1:3306)/"), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "mysql", c.Store)
}

func TestParseArgsRejects(t *testing.T) {
	t.Parallel()
	// Each is refused for its own reason, which the error names.
	for _, tc := range []struct{ args, want string }{
		{"-store pg", "-store pg needs -dsn"},
		{"-store mysql", "-store mysql needs -dsn"},
		{"-store oracle -dsn x", `-store "oracle": want memory, sqlite, pg or mysql`},
		{"-c 0", "-c 0: must be at least 1"},
		{"-d 0s", "-d 0s: must be positive"},
		{"-d -1s", "-d -1s: must be positive"},
		{"-ops", "flag needs an argument: -ops"},
		{"-ops frobnicate", `-ops: unknown operation "frobnicate"`},
		{"-ops ,", "-ops: no operation given"},
		{"-argon2 1,2", `-argon2 "1,2": want m,t,p`},
		{"-argon2 65536,3,0", `-argon2 "65536,3,0": "0" is not a positive integer`},
		{"-argon2 16,1,4", `-argon2 "16,1,4": need 8*p <= m`},
		{"-argon2 65536,3,256", `-argon2 "65536,3,256": parallelism must be at most 255`},
		{"-argon2 x,y,z", `-argon2 "x,y,z": "x" is not a positive integer`},
		{"-hashlimit 0,1", `-hashlimit "0,1": want limit,queue`},
		{"-hashlimit 2", `-hashlimit "2": want limit,queue`},
		{"-http ftp://example.com", `-http "ftp://example.com": want an absolute http(s) URL`},
		{"-http /relative", `-http "/relative": want an absolute http(s) URL`},
		{"-maillog out.txt", "only apply with -http"},
		{"-pid 12", "only apply with -http"},
		{"-admin-token abc", "only apply with -http"},
		{"-maxpool 0", "-maxpool 0: must be at least 1"},
		{"-store memory extra", `unexpected arguments: ["extra"]`},
		{"-password=", "-password must not be empty"},
		{"-no-such-flag", "flag provided but not defined: -no-such-flag"},
		{"-argon2 4294967296,1,1", `"4294967296" is not a positive integer`},                     // overflows uint32
		{"-argon2 " + fmt.Sprint(5<<20) + ",1,1", fmt.Sprintf("need 8*p <= m <= %d KiB", 4<<20)}, // above the library's 4 GiB
		{"-burst 5", "-burst needs -http"},
		{"-http http://x.example -burst -1", "need -burst >= 0"},
		{"-http http://x.example -burst 5 -bursts 0", "-bursts >= 1"},
		{"-count-statements -refusals", "separate modes"},
		{"-count-statements -count-n 0", "-count-n 0: must be at least 1"},
		{"-refusals -http http://x.example", "-refusals starts its own server"},
		{"-refusals -rounds 0", "must be at least 1"},
		{"-refusals -flood maybe", `-flood "maybe"`},
		{"-refusals -procs none", `-procs "none"`},
		{"-soak", "-soak needs -http"},
		{"-soak -http http://x.example -soak-n 0", "must be positive"},
		{"-replot soak.json", "-replot needs -plot"},
		{"-plot dir", "-plot applies with -soak or -replot"},
	} {
		_, err := parseArgs(strings.Fields(tc.args), io.Discard)
		assert.ErrorContains(t, err, tc.want, tc.args)
	}
}

func TestStatCPU(t *testing.T) {
	t.Parallel()
	// pid (comm with spaces) state ppid … utime=250 stime=50 (fields 14, 15).
	stat := "4242 (user sbench (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0\n"
	assert.Equal(t, 3*time.Second, statCPU([]byte(stat)))
	assert.Equal(t, time.Duration(-1), statCPU([]byte("garbage")))
	p := newPeakRSS(0)
	assert.GreaterOrEqual(t, p.cpu(), time.Duration(0), "this process's CPU time is readable")
	assert.Equal(t, time.Duration(-1), (*peakRSS)(nil).cpu())
}

func TestParseArgsModes(t *testing.T) {
	t.Parallel()
	c, err := parseArgs([]string{"-refusals"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 32, c.C, "-refusals drives 32 clients unless -c says otherwise")
	assert.Equal(t, []bool{false, true}, c.Floods)
	assert.Equal(t, []string{"adaptive", "go"}, c.Procs)
	c, err = parseArgs([]string{"-refusals", "-c", "4", "-flood", "on", "-procs", "go"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 4, c.C)
	assert.Equal(t, []bool{true}, c.Floods)
	c, err = parseArgs([]string{"-soak", "-http", "http://127.0.0.1:1", "-admin-token", "x"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 10_000, c.SoakN)
	assert.Equal(t, 10*time.Minute, c.SoakD)
	assert.Equal(t, 10*time.Second, c.SoakStep)
	c, err = parseArgs([]string{"-count-statements", "-store", "pg", "-dsn", "postgres://x@y/z"}, io.Discard)
	require.NoError(t, err)
	assert.True(t, c.Count)
	assert.Equal(t, 50, c.CountN)
}

func TestParseArgon2(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]argon2Params{
		"65536,3,4":    {Memory: 65536, Time: 3, Threads: 4},
		" 19456, 2, 1": {Memory: 19456, Time: 2, Threads: 1},
		"directus":     {Memory: 65536, Time: 3, Threads: 4},
		"default":      {Memory: 19456, Time: 2, Threads: 1},
		"FAKE":         {Fake: true},
	} {
		got, err := parseArgon2(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	p, err := parseArgon2("65536,3,4")
	require.NoError(t, err)
	assert.Equal(t, "65536,3,4", p.String())
	h, ok := p.hasher().(*users.Argon2id)
	require.True(t, ok)
	assert.Equal(t, users.Argon2id{Memory: 65536, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}, *h)
}

func TestParseOps(t *testing.T) {
	t.Parallel()
	got, err := parseOps("login, verify-garbage,register,login")
	require.NoError(t, err)
	assert.Equal(t, []string{opRegister, opVerifyGarbage, opLogin}, got, "run order, each once")
	got, err = parseOps("all")
	require.NoError(t, err)
	assert.Equal(t, allOps, got)
	got, err = parseOps("garbage")
	require.NoError(t, err)
	assert.Equal(t, []string{opVerifyGarbage}, got)
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, percentile(hundred, 50))
	assert.Equal(t, 99*time.Millisecond, percentile(hundred, 99))
	assert.Equal(t, 100*time.Millisecond, percentile(hundred, 100))
	assert.Equal(t, 1*time.Millisecond, percentile(hundred, 0.1), "never below the first value")
	assert.Equal(t, 1*time.Millisecond, percentile(hundred, 1))

	// Nearest rank: the smallest value with at least p% at or below it.
	ten := hundred[:10] // 1..10 ms
	assert.Equal(t, 5*time.Millisecond, percentile(ten, 50))
	assert.Equal(t, 10*time.Millisecond, percentile(ten, 99), "p99 of 10 values is the largest")
	assert.Equal(t, 10*time.Millisecond, percentile(ten, 91))
	assert.Equal(t, 9*time.Millisecond, percentile(ten, 90))

	one := []time.Duration{7 * time.Second}
	assert.Equal(t, 7*time.Second, percentile(one, 50))
	assert.Equal(t, 7*time.Second, percentile(one, 99))
	assert.Zero(t, percentile(nil, 50))
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	lats := []time.Duration{4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	r := summarize("login", 2, 2*time.Second, lats, map[string]int{"ErrBusy": 3, "HTTP 500": 1})
	assert.Equal(t, 4, r.OK)
	assert.Equal(t, 4, r.Errors)
	assert.InDelta(t, 2.0, r.OpsPerSec, 1e-9, "successful operations per second")
	assert.Equal(t, 2*time.Millisecond, r.P50, "latencies sorted first")
	assert.Equal(t, 4*time.Millisecond, r.P99)
	assert.Equal(t, 4*time.Millisecond, r.Max)
	assert.InDelta(t, 2.0, r.P50ms, 1e-9)
	assert.Equal(t, "ErrBusy ×3; HTTP 500 ×1", errKindsString(r.ErrKinds))

	empty := summarize("verify", 1, 0, nil, map[string]int{})
	assert.Zero(t, empty.OpsPerSec)
	assert.Nil(t, empty.ErrKinds)
}

func TestVmHWM(t *testing.T) {
	t.Parallel()
	status := []byte("Name:\tusersbench\nVmPeak:\t 2000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n")
	assert.Equal(t, int64(123456), vmHWM(status))
	assert.Zero(t, vmHWM([]byte("Name:\tx\n")))
	// This process's own status has one (Linux).
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		assert.Positive(t, vmHWM(b))
	}
}

// runPhase counts successes and errors apart, and stops early, saying so,
// when the prepared tokens run out.
func TestRunPhase(t *testing.T) {
	t.Parallel()
	pool := &tokenPool{toks: []string{"a", "b", "c", "d", "e", "f", "g"}}
	r := runPhase(t.Context(), "verify", 3, time.Minute, func(context.Context) error {
		tok, ok := pool.get()
		switch {
		case !ok:
			return errExhausted
		case tok == "b" || tok == "e":
			return &kindError{kind: "ErrInvalidToken", err: users.ErrInvalidToken}
		}
		return nil
	})
	assert.True(t, r.Exhausted)
	assert.Equal(t, 5, r.OK)
	assert.Equal(t, 2, r.Errors)
	assert.Equal(t, map[string]int{"ErrInvalidToken": 2}, r.ErrKinds)
	assert.Less(t, r.Elapsed, time.Minute, "ended when the tokens ran out, not at the deadline")
}

func TestGarbageTokensAreWellFormedAndRejected(t *testing.T) {
	t.Parallel()
	pool := garbageTokens(16)
	seen := map[string]bool{}
	for range 16 {
		tok := pool.cycle()
		assert.Len(t, tok, 43, "the library's token shape: 32 bytes, base64url")
		seen[tok] = true
	}
	assert.Len(t, seen, 16)
	assert.Equal(t, pool.toks[0], pool.cycle(), "cycle wraps around")

	assert.NoError(t, garbageResult(fmt.Errorf("users: verify email: %w", users.ErrInvalidToken)))
	assert.ErrorContains(t, garbageResult(nil), "never issued")
	var ke *kindError
	require.ErrorAs(t, garbageResult(users.ErrBusy), &ke)
	assert.Equal(t, "ErrBusy", ke.kind)
}

func TestParseMailLog(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	lm := logmailer.New(&out)
	ctx := t.Context()
	require.NoError(t, lm.Send(ctx, users.Message{To: "a@example.com", Subject: "Verify your email address",
		Text: "Open http://localhost:8055/users/register/verify-email?token=AAA\n"}))
	require.NoError(t, lm.Send(ctx, users.Message{To: "b@example.com", Subject: "You've been invited",
		Text: "Accept: http://localhost:8055/admin/accept-invite?token=BBB"}))
	data := out.Bytes()
	cut := len(data) - 5 // the second mail is not finished yet

	mails, rest := parseMailLog(data[:cut])
	require.Len(t, mails, 1)
	assert.Equal(t, "a@example.com", mails[0].to)
	assert.Equal(t, "Verify your email address", mails[0].subject)
	assert.Contains(t, mails[0].text, "token=AAA")

	mails, rest = parseMailLog(append(rest, data[cut:]...))
	require.Len(t, mails, 1, "the unfinished mail completes with the next read")
	assert.Equal(t, "b@example.com", mails[0].to)
	assert.Contains(t, mails[0].text, "token=BBB")
	assert.Empty(t, bytes.TrimSpace(rest))
}

// fakeServer answers the Directus routes the tool uses, checking their
// shape, and prints each mail with a log mailer to mailLog, as
// examples/server does.
type fakeServer struct {
	t       *testing.T
	admin   string
	mail    *logmailer.Mailer
	mu      sync.Mutex
	tokens  map[string]string // token → email
	users   map[string]string // email → password (active users)
	seq     atomic.Int64
	routes  map[string]int // "METHOD path" → calls
	gotRole string
}

func newFakeServer(t *testing.T, admin, mailLog string) *httptest.Server {
	f, err := os.Create(mailLog)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	fs := &fakeServer{t: t, admin: admin, mail: logmailer.New(f), tokens: map[string]string{}, users: map[string]string{}, routes: map[string]int{}}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.routes[r.Method+" "+r.URL.Path]++
	f.mu.Unlock()
	isAdmin := r.Header.Get("Authorization") == "Bearer "+f.admin
	var body map[string]any
	if r.Body != nil && r.Method != http.MethodGet {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"errors":[{"message":"bad json","extensions":{"code":"INVALID_PAYLOAD"}}]}`, http.StatusBadRequest)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want JSON", http.StatusUnsupportedMediaType)
			return
		}
	}
	forbid := func() {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":[{"message":"You don't have permission to access this.","extensions":{"code":"FORBIDDEN"}}]}`)
	}
	mailTo := func(email, subject, path string) {
		tok := fmt.Sprintf("tok%06d", f.seq.Add(1))
		f.mu.Lock()
		f.tokens[tok] = email
		f.mu.Unlock()
		_ = f.mail.Send(r.Context(), users.Message{To: email, Subject: subject, Text: "Link: http://app.test" + path + "?token=" + tok + "\n"})
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /roles":
		if !isAdmin {
			forbid()
			return
		}
		fmt.Fprintf(w, `{"data":{"id":"role-1","name":%q}}`, body["name"])
	case "PATCH /settings":
		if !isAdmin || body["public_registration"] != true {
			forbid()
			return
		}
		f.gotRole, _ = body["public_registration_role"].(string)
		fmt.Fprint(w, `{"data":{}}`)
	case "POST /users/register":
		email, _ := body["email"].(string)
		mailTo(email, "Verify your email address", "/users/register/verify-email")
		w.WriteHeader(http.StatusNoContent)
	case "GET /users/register/verify-email":
		f.mu.Lock()
		_, ok := f.tokens[r.URL.Query().Get("token")]
		delete(f.tokens, r.URL.Query().Get("token"))
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":[{"message":"Invalid verification code","extensions":{"code":"INVALID_TOKEN"}}]}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "POST /users/invite":
		if !isAdmin || body["role"] != "role-1" {
			forbid()
			return
		}
		var emails []string
		switch e := body["email"].(type) {
		case string:
			emails = []string{e}
		case []any:
			for _, x := range e {
				emails = append(emails, x.(string))
			}
		}
		for _, e := range emails {
			mailTo(e, "You've been invited", "/admin/accept-invite")
		}
		w.WriteHeader(http.StatusNoContent)
	case "POST /users/invite/accept":
		tok, _ := body["token"].(string)
		f.mu.Lock()
		email, ok := f.tokens[tok]
		delete(f.tokens, tok)
		if ok {
			f.users[email], _ = body["password"].(string)
		}
		f.mu.Unlock()
		if !ok {
			forbid()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "POST /users":
		if !isAdmin || body["status"] != "active" {
			forbid()
			return
		}
		email, _ := body["email"].(string)
		f.mu.Lock()
		f.users[email], _ = body["password"].(string)
		f.mu.Unlock()
		fmt.Fprintf(w, `{"data":{"id":"u","email":%q}}`, email)
	case "POST /auth/login":
		email, _ := body["email"].(string)
		f.mu.Lock()
		pw, ok := f.users[email]
		f.mu.Unlock()
		if !ok || pw != body["password"] {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"message":"Invalid user credentials.","extensions":{"code":"INVALID_CREDENTIALS"}}]}`)
			return
		}
		fmt.Fprint(w, `{"data":{"access_token":"x","expires":900000}}`)
	default:
		http.NotFound(w, r)
	}
}

// The HTTP mode speaks the wire format the fake server checks, and reads
// the tokens for verify and accept from the server's mail output.
func TestHTTPModeAgainstFakeServer(t *testing.T) {
	t.Parallel()
	mailLog := filepath.Join(t.TempDir(), "server.out")
	srv := newFakeServer(t, "admin-token-0123456789", mailLog)
	cfg, err := parseArgs([]string{"-http", srv.URL, "-admin-token", "admin-token-0123456789", "-maillog", mailLog,
		"-c", "2", "-d", "50ms", "-ops", "all", "-argon2", "8,1,1", "-json"}, io.Discard)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))

	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	assert.Equal(t, "http", rep.Mode)
	require.NotNil(t, rep.Ceiling)
	assert.Positive(t, rep.Ceiling.OK)
	require.Len(t, rep.Results, len(allOps))
	for i, r := range rep.Results {
		assert.Equal(t, allOps[i], r.Op)
		assert.Positive(t, r.OK, r.Op)
		assert.Zero(t, r.Errors, "%s: %v", r.Op, r.ErrKinds)
		if hashesPerOp[r.Op] {
			assert.Positive(t, r.Ceiling, "%s is compared with the ceiling", r.Op)
		} else {
			assert.Zero(t, r.Ceiling, r.Op)
		}
	}
}

// Without an admin token or a mailbox the HTTP operations that need them
// fail with a clear error before anything is timed.
func TestHTTPModeNeeds(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, "admin-token-0123456789", filepath.Join(t.TempDir(), "server.out"))
	cfg, err := parseArgs([]string{"-http", srv.URL, "-ops", "invite", "-d", "10ms"}, io.Discard)
	require.NoError(t, err)
	assert.ErrorContains(t, run(t.Context(), cfg, io.Discard, io.Discard), "-admin-token")

	cfg, err = parseArgs([]string{"-http", srv.URL, "-admin-token", "admin-token-0123456789", "-ops", "verify", "-d", "10ms"}, io.Discard)
	require.NoError(t, err)
	assert.ErrorContains(t, run(t.Context(), cfg, io.Discard, io.Discard), "-maillog")
}

// A short in-process run of every operation on the memory store with the
// fast hasher: each succeeds, with no errors, and the table names them.
func TestInProcessRun(t *testing.T) {
	t.Parallel()
	cfg, err := parseArgs(strings.Fields("-store memory -argon2 fake -c 2 -d 50ms -maxpool 2000"), io.Discard)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))
	table := out.String()
	for _, op := range append([]string{"hash ceiling"}, allOps...) {
		assert.Contains(t, table, "\n"+op+" ", "a row for %s", op)
	}
	assert.Contains(t, table, "vs ceiling")
	assert.NotContains(t, table, "errors:", "no operation failed")
}
