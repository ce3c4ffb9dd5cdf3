package main

import (
	"bufio"
	"bytes"
	"encoding/json"
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

	"github.com/gousers/users/internal/testenv"
)

// The HTTP mode against the real examples/server (built and run as the
// docs/server.md shows: mail printed to stdout, which is the -maillog file): every
// operation succeeds, with no errors, the tokens for verify and accept are
// read from the server's mail output, and the peak RSS is the server's.
func TestHTTPModeAgainstExamplesServer(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		if os.Getenv("CI") == "true" {
			t.Fatal("-short would skip this test (it builds and runs examples/server), and under CI=true nothing may skip")
		}
		t.Skip("-short: builds and runs examples/server")
	}
	dir := t.TempDir()
	bin, err := testenv.Executable("../../examples/server", dir)
	require.NoError(t, err)

	const admin = "bench-admin-token-0123456789"
	mailLog := filepath.Join(dir, "server.out")
	out, err := os.Create(mailLog)
	require.NoError(t, err)
	defer out.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"PORT=0",
		"DB_FILENAME="+filepath.Join(dir, "users.db"),
		"ADMIN_TOKEN="+admin,
		"HASH_MEMORY_COST=64", "HASH_TIME_COST=1", "HASH_PARALLELISM=1",
		"RATE_LIMITER_REGISTRATION_ENABLED=false",
		"RATE_LIMITER_LOGIN_IP_TOTAL_POINTS=1073741824", // one client logs in as everyone
	)
	cmd.Stdout = out
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
	var logs bytes.Buffer
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		listening := regexp.MustCompile(`msg="users server listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
			logs.WriteString(sc.Text() + "\n")
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("examples/server did not start within 30s")
	}

	cfg, err := parseArgs([]string{"-http", base, "-admin-token", admin, "-maillog", mailLog, "-pid", strconv.Itoa(cmd.Process.Pid),
		"-c", "2", "-d", "100ms", "-ops", "all", "-argon2", "64,1,1", "-json"}, io.Discard)
	require.NoError(t, err)
	var rep bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &rep, io.Discard))

	var r report
	require.NoError(t, json.Unmarshal(rep.Bytes(), &r), "%s", rep.String())
	assert.Equal(t, "http", r.Mode)
	require.Len(t, r.Results, len(allOps))
	for i, res := range r.Results {
		assert.Equal(t, allOps[i], res.Op)
		assert.Positive(t, res.OK, res.Op)
		assert.Zero(t, res.Errors, "%s: %v", res.Op, res.ErrKinds)
		if res.PeakRSS > 0 {
			assert.Equal(t, "server", res.RSSOf, "%s: the peak RSS is the server's", res.Op)
		}
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-logged: // the server closed its stderr: it is exiting
	case <-time.After(30 * time.Second):
		t.Fatal("examples/server did not stop within 30s of SIGTERM")
	}
	require.NoError(t, cmd.Wait(), "the server exits cleanly")
	assert.NotContains(t, logs.String(), "level=ERROR", "the server logged no error")
}
