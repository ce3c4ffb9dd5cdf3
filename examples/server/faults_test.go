package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/mailer/smtpmailer/smtptest"
)

// SMTP down for a while: mails stay pending, and once it is back every one
// is delivered, none twice.
func TestSMTPDownThenBack(t *testing.T) {
	s := startServer(t, map[string]string{"MAIL_RETRY_BACKOFF": "200ms", "RATE_LIMITER_REGISTRATION_ENABLED": "false"})
	s.smtp.Refuse(smtptest.Mail, 421, 0) // until Accept
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	const n = 6
	for i := range n {
		code, _, body := s.call("POST", "/users/register", map[string]any{"email": fmt.Sprintf("down%d@example.com", i), "password": "pw-pw-pw-pw"}, false)
		require.Equal(t, 204, code, "body: %s", body)
	}
	// Let the worker fail at least once on every mail.
	time.Sleep(600 * time.Millisecond)
	assert.Empty(t, s.smtp.Messages(), "nothing delivered while SMTP refuses")
	s.smtp.Accept()
	for i := range n {
		s.mailTo(fmt.Sprintf("down%d@example.com", i), 1)
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive now
	assert.Len(t, s.smtp.Messages(), n, "every mail exactly once")
}

// The process killed (SIGKILL) between the state change and the send:
// after a restart on the same database every mail is delivered, once.
func TestKilledServerLosesNoMail(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server binary")
	}
	bin := filepath.Join(t.TempDir(), "server")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	smtp := smtptest.Start(t, smtptest.Options{})
	smtp.Stall(smtptest.Mail) // sends hang before any message data moves
	env := append(os.Environ(),
		"PORT=0",
		"DB_FILENAME="+filepath.Join(t.TempDir(), "users.db"),
		"EMAIL_SMTP_HOST="+smtp.Host(),
		"EMAIL_SMTP_PORT="+strconv.Itoa(smtp.Port()),
		"EMAIL_SMTP_IGNORE_TLS=true",
		"ADMIN_TOKEN="+adminToken,
		"HASH_MEMORY_COST=1024", "HASH_TIME_COST=1",
		"RATE_LIMITER_REGISTRATION_ENABLED=false",
		"MAIL_SEND_TIMEOUT=1s", "MAIL_LEASE=2s", "MAIL_RETRY_BACKOFF=200ms",
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
	time.Sleep(100 * time.Millisecond) // the worker has claimed mail and hangs in Send
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	_ = first.cmd.Wait()
	assert.Empty(t, smtp.Messages(), "nothing was delivered before the kill")

	smtp.Accept()
	second := startProcess(t, bin, env)
	s.base = second.base
	for _, e := range to {
		s.mailTo(e, 1)
	}
	time.Sleep(time.Second) // a duplicate would arrive now
	assert.Len(t, smtp.Messages(), len(to), "every mail exactly once")
	require.NoError(t, second.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.cmd.Wait(), "graceful shutdown exits 0")
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
	case <-time.After(30 * time.Second):
		t.Fatal("server process did not start within 30s")
		return nil
	}
}
