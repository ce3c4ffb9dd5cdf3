package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/mailer/smtpmailer/smtptest"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
)

// These tests wait for the events they reason about — the SMTP server saw
// an attempt, the outbox shows a claim, the server stopped — never for a
// while: they check what they say on a slow machine too. Each wait has
// its own deadline, eventLimit.
const eventLimit = 30 * time.Second

// SMTP down for a while: mails stay pending, and once it is back every one
// is delivered, none twice. The worker looks for due mail every 100 ms, so
// that each retry goes once its backoff allows.
func TestSMTPDownThenBack(t *testing.T) {
	db := filepath.Join(t.TempDir(), "users.db")
	s := startServer(t, map[string]string{"DB_FILENAME": db, "MAIL_RETRY_BACKOFF": "200ms", "MAIL_POLL_INTERVAL": "100ms",
		"RATE_LIMITER_REGISTRATION_ENABLED": "false"})
	s.smtp.Refuse(smtptest.Rcpt, 421, 0) // until Accept
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	const n = 6
	var to []string
	for i := range n {
		e := fmt.Sprintf("down%d@example.com", i)
		code, _, body := s.call("POST", "/users/register", map[string]any{"email": e, "password": "pw-pw-pw-pw"}, false)
		require.Equal(t, 204, code, "body: %s", body)
		to = append(to, e)
	}
	// The worker tried (and was refused) every mail at least once.
	waitAttempted(t, s.smtp, to)
	assert.Empty(t, s.smtp.Messages(), "nothing delivered while SMTP refuses")
	s.smtp.Accept()
	for _, e := range to {
		s.mailTo(e, 1)
	}
	// Once the server has stopped (its worker with it), no send is in
	// flight: what the SMTP server holds now is all it will ever get.
	require.NoError(t, s.stop(), "graceful shutdown")
	assert.Equal(t, once(to), received(s.smtp), "every mail exactly once")
	for _, m := range outbox(t, db) {
		assert.Equal(t, store.MailSent, m.Status, m.To)
		assert.GreaterOrEqual(t, m.Attempts, 2, "%s: refused at least once, then sent", m.To)
	}
}

// The process killed (SIGKILL) between claiming mail and recording the
// send's outcome: after a restart on the same database every mail is
// delivered, once.
func TestKilledServerLosesNoMail(t *testing.T) {
	t.Parallel()
	requireLong(t, "runs and kills the server as a process of its own")
	bin := os.Args[0] // the test binary, as the server (TestMain)

	smtp := smtptest.Start(t, smtptest.Options{})
	smtp.Stall(smtptest.Mail) // sends hang before any message data moves
	db := filepath.Join(t.TempDir(), "users.db")
	const (
		sendTimeout = 3 * time.Second
		lease       = 4 * time.Second
	)
	env := append(os.Environ(),
		serverMainEnv+"=1",
		"PORT=0",
		"DB_FILENAME="+db,
		"EMAIL_SMTP_HOST="+smtp.Host(),
		"EMAIL_SMTP_PORT="+strconv.Itoa(smtp.Port()),
		"EMAIL_SMTP_IGNORE_TLS=true",
		"ADMIN_TOKEN="+adminToken,
		"HASH_MEMORY_COST=1024", "HASH_TIME_COST=1",
		"RATE_LIMITER_REGISTRATION_ENABLED=false",
		"MAIL_SEND_TIMEOUT="+sendTimeout.String(), "MAIL_LEASE="+lease.String(), "MAIL_RETRY_BACKOFF=200ms",
		"DB_CLIENT=sqlite3",
	)

	first := startProcess(t, bin, env)
	s := &server{t: t, base: first.base, smtp: smtp}
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	role := s.ok("POST", "/roles", map[string]any{"name": "Team"}, true)
	var to []string
	for i := range 3 {
		e := fmt.Sprintf("reg%d@example.com", i)
		code, _, body := s.call("POST", "/users/register", map[string]any{"email": e, "password": "pw-pw-pw-pw"}, false)
		require.Equal(t, 204, code, "body: %s", body)
		to = append(to, e)
	}
	for i := range 3 {
		e := fmt.Sprintf("inv%d@example.com", i)
		code, _, body := s.call("POST", "/users/invite", map[string]any{"email": e, "role": role["id"]}, true)
		require.Equal(t, 204, code, "body: %s", body)
		to = append(to, e)
	}

	// Kill while a send is in flight: the SMTP server saw the worker's
	// MAIL FROM (and stalls it), and the outbox shows a claim recent
	// enough that its send cannot have timed out yet.
	ctx, cancel := context.WithTimeout(context.Background(), eventLimit)
	defer cancel()
	_, err := smtp.WaitAttempts(ctx, func(as []smtptest.Attempt) bool { return len(as) > 0 })
	require.NoError(t, err, "the worker never tried to send")
	waitOutbox(t, db, "a mail claimed less than a second ago", func(ms []*store.Mail) bool {
		for _, m := range ms {
			if m.Status == store.MailPending && m.LeaseUntil != nil &&
				time.Until(m.LeaseUntil.Add(-lease+sendTimeout)) > 2*time.Second {
				return true
			}
		}
		return false
	})
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	_ = first.cmd.Wait()
	assert.Empty(t, smtp.Messages(), "nothing was delivered before the kill")
	leased := 0
	for _, m := range outbox(t, db) {
		if m.LeaseUntil != nil {
			leased++
		}
	}
	require.Positive(t, leased, "the kill landed between a claim and its outcome")

	smtp.Accept()
	second := startProcess(t, bin, env)
	s.base = second.base
	for _, e := range to {
		s.mailTo(e, 1)
	}
	// Once the second server has exited, no send is in flight.
	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, waitExit(t, second.cmd), "graceful shutdown exits 0")
	assert.Equal(t, once(to), received(smtp), "every mail exactly once")
	for _, m := range outbox(t, db) {
		assert.Equal(t, store.MailSent, m.Status, m.To)
		assert.Nil(t, m.LeaseUntil, m.To)
	}
}

// received counts the messages the SMTP server accepted, by recipient.
func received(srv *smtptest.Server) map[string]int {
	got := map[string]int{}
	for _, m := range srv.Messages() {
		got[strings.Join(m.To, ",")]++
	}
	return got
}

// once is what received returns when each address in to got one message.
func once(to []string) map[string]int {
	want := map[string]int{}
	for _, e := range to {
		want[e] = 1
	}
	return want
}

// waitAttempted waits until the SMTP server was asked to deliver to every
// address in to.
func waitAttempted(t *testing.T, srv *smtptest.Server, to []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventLimit)
	defer cancel()
	_, err := srv.WaitAttempts(ctx, func(as []smtptest.Attempt) bool {
		for _, e := range to {
			if !slices.Contains(as, smtptest.Attempt{Stage: smtptest.Rcpt, Addr: e}) {
				return false
			}
		}
		return true
	})
	require.NoError(t, err, "the worker did not try every mail")
}

// outbox returns the outbox of the SQLite database at path, read by a
// store of the test's own (the server may be running: SQLite in WAL mode
// lets a reader in beside it).
func outbox(t *testing.T, path string) []*store.Mail {
	t.Helper()
	s, db, err := sqlitestore.Open(path)
	require.NoError(t, err)
	defer func() { _ = s.Close(); _ = db.Close() }()
	ms, err := s.ListMail(context.Background(), store.MailQuery{})
	require.NoError(t, err)
	return ms
}

// waitOutbox polls the outbox at path until done holds.
func waitOutbox(t *testing.T, path, what string, done func([]*store.Mail) bool) {
	t.Helper()
	deadline := time.Now().Add(eventLimit)
	for !done(outbox(t, path)) {
		if time.Now().After(deadline) {
			t.Fatalf("the outbox never showed %s within %v", what, eventLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitExit waits for cmd to exit, at most eventLimit.
func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(eventLimit):
		t.Fatalf("the server did not exit within %v", eventLimit)
		return nil
	}
}

type process struct {
	cmd  *exec.Cmd
	base string
}

var listening = regexp.MustCompile(`msg="users server listening" addr=(\S+)`)

// startProcess runs the server binary and waits for its listening line.
func startProcess(t *testing.T, bin string, env []string) *process {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	select {
	case a := <-addr:
		return &process{cmd: cmd, base: "http://" + a}
	case <-time.After(eventLimit):
		t.Fatal("server process did not start within 30s")
		return nil
	}
}
