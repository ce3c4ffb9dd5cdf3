package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file run what docs/server.md and docs/console.md show,
// as pasted, and check what their comments promise.

// moduleRoot is the repository's root, where the docs' commands run.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}

// docBlock returns the first ```sh block after heading in the doc at
// path (relative to the module root).
func docBlock(t *testing.T, path, heading string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), path))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(doc), "\n"+heading+"\n")
	require.True(t, ok, "no %q heading in %s", heading, path)
	_, rest, ok := strings.Cut(section, "```sh\n")
	require.True(t, ok, "no sh block under %q in %s", heading, path)
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	return block
}

// requireTools skips (or under CI fails) when a tool a doc's commands use
// is missing.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing: CI must run the docs' commands", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	return port
}

// bashCommand runs script in bash from the module root, in a process group
// of its own (killed whole when ctx ends), with TMPDIR set to tmp, so that
// what the script puts in a mktemp directory goes with the test.
func bashCommand(ctx context.Context, t *testing.T, script, tmp string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), append([]string{"TMPDIR=" + tmp}, env...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// repoEntries lists the files and directories at the top of the module
// and of examples/server, where a command run from the root could leave
// something behind.
func repoEntries(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{".", "examples/server"} {
		es, err := os.ReadDir(filepath.Join(moduleRoot(t), dir))
		require.NoError(t, err)
		for _, e := range es {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// The curl walk of docs/server.md runs as pasted, twice in a row on the
// same port: the second run starts afresh (a new temporary directory, a
// new database) and finds the port free again, since the first stopped
// its server. The test changes one thing only, checked to happen: the port
// (a free one, given as PORT, instead of 8055, which another process may
// hold). Then it checks what the walk's comments promise, and that
// nothing was left in the repository.
func TestDocsServerWalk(t *testing.T) {
	t.Parallel()
	requireLong(t, "builds the server and runs the curl walk of docs/server.md twice")
	requireTools(t, "bash", "curl", "sed", "grep", "mktemp", "seq")
	block := docBlock(t, "docs/server.md", "## A walk through every flow")
	require.Contains(t, block, "localhost:8055", "the walk no longer calls localhost:8055")
	port := freePort(t)
	script := strings.ReplaceAll(block, "localhost:8055", "localhost:"+port)
	before := repoEntries(t)

	for run := 1; run <= 2; run++ {
		tmp := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		cmd := bashCommand(ctx, t, script, tmp, "PORT="+port)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		out, log := stdout.String(), stderr.String()
		require.NoError(t, err, "run %d: stdout:\n%s\nstderr:\n%s", run, out, log)

		statuses := regexp.MustCompile(`(?m)^HTTP/1\.1 (\d{3})`).FindAllStringSubmatch(out, -1)
		var got []string
		for _, s := range statuses {
			got = append(got, s[1])
		}
		assert.Equal(t, []string{"204", "204", "204", "204", "204", "204", "204", "204", "204"}, got,
			"run %d: register, verify, logout, reset request, reset, invite, accept, delete, resend:\n%s\nlog:\n%s", run, out, log)
		assert.Contains(t, out, `"project_name":"Acme"`)
		assert.Regexp(t, `\{"data":\{"access_token":"[^"]+\.[^"]+\.[^"]+","expires":900000,"refresh_token":"[^"]+"\}\}`, out, "the login answers tokens")
		assert.Regexp(t, `\{"data":\{"id":"[^"]+","email":"ada@example.com"`, out, "/users/me with the access token")
		assert.Contains(t, out, `"email":"grace@example.com"`, "the filtered list")
		assert.Contains(t, out, `"meta":{"filter_count":2}`)
		assert.Contains(t, out, `{"status":"ok"}`)
		assert.NotContains(t, log, "gave up after", "run %d: a wait of the walk ran out", run)

		// The walk's directory: in TMPDIR, with the mail the walk read.
		dirs, err := filepath.Glob(filepath.Join(tmp, "tmp.*"))
		require.NoError(t, err)
		require.Len(t, dirs, 1, "run %d: the walk's mktemp directory", run)
		for _, f := range []string{"users-server", "users.db", "mail.txt"} {
			assert.FileExists(t, filepath.Join(dirs[0], f), "run %d", run)
		}
		mail, err := os.ReadFile(filepath.Join(dirs[0], "mail.txt"))
		require.NoError(t, err)
		assert.Contains(t, string(mail), "You have been invited to join Acme as grace@example.com.")
		assert.Equal(t, 2, strings.Count(string(mail), "To: ada@example.com"), "verification and reset; none after the deletion")
		// kill %1; wait: the server stopped gracefully before the walk ended.
		assert.Contains(t, log, `msg=stopped`, "kill %1 stops the server gracefully")
	}
	assert.Equal(t, before, repoEntries(t), "the walk leaves nothing in the repository")
}

// The console command of docs/console.md runs as pasted: the server
// starts, and the administrator the command names signs in at /admin/
// with the password it gives. Nothing is left in the repository.
func TestDocsConsoleCommand(t *testing.T) {
	t.Parallel()
	requireLong(t, "runs the server as docs/console.md shows")
	requireTools(t, "bash", "mktemp")
	block := docBlock(t, "docs/console.md", "## Try it")
	email := regexp.MustCompile(`ADMIN_EMAIL=(\S+)`).FindStringSubmatch(block)
	password := regexp.MustCompile(`ADMIN_PASSWORD='([^']+)'`).FindStringSubmatch(block)
	require.NotNil(t, email, "the command sets ADMIN_EMAIL")
	require.NotNil(t, password, "the command sets ADMIN_PASSWORD, quoted")
	assert.Contains(t, block, "http://127.0.0.1:8055/admin/", "the address the comment says to open")
	before := repoEntries(t)

	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := bashCommand(ctx, t, block, t.TempDir(), "PORT="+port)
	log := &watchWriter{re: regexp.MustCompile(`msg="users server listening"`), seen: make(chan struct{})}
	var mail bytes.Buffer
	cmd.Stdout, cmd.Stderr = &mail, log
	require.NoError(t, cmd.Start())
	// Wait returns once every process holding the output, the server
	// included, has let go of it.
	stopped := make(chan error, 1)
	go func() { stopped <- cmd.Wait() }()
	listening := log.seen
	select {
	case <-listening:
	case err := <-stopped:
		t.Fatalf("the server stopped before it listened: %v\n%s", err, log)
	case <-time.After(3 * time.Minute):
		t.Fatal("the server did not listen within 3 minutes")
	}
	base := "http://127.0.0.1:" + port

	res, err := http.Get(base + "/admin/")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "/admin/login", res.Request.URL.Path, "/admin/ leads a stranger to sign in")
	res, err = noRedirect.PostForm(base+"/admin/login", url.Values{"email": {email[1]}, "password": {password[1]}})
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the administrator signs in")
	assert.True(t, slices.ContainsFunc(res.Cookies(), func(c *http.Cookie) bool { return c.Name == "webui_session" }))

	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM))
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("the server did not stop within a minute of SIGTERM")
	}
	assert.Contains(t, log.String(), "msg=stopped", "SIGTERM stops the server gracefully")
	assert.Equal(t, before, repoEntries(t), "the command leaves nothing in the repository")
}

// The table of variables in docs/server.md lists, row by row, the
// sections of -h and exactly their variables.
func TestDocsServerVariables(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs/server.md"))
	require.NoError(t, err)
	var rows [][2]string
	for _, l := range strings.Split(string(doc), "\n") {
		cells := strings.Split(l, "|")
		if len(cells) == 4 && strings.Contains(cells[2], "`") && !strings.Contains(cells[1], "`") {
			rows = append(rows, [2]string{strings.TrimSpace(cells[1]), cells[2]})
		}
	}
	secs := sections()
	require.Len(t, rows, len(secs), "one row per section of -h, in its order")
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	for i, sec := range secs {
		assert.True(t, strings.HasPrefix(sec.title, rows[i][0]), "row %d is %q, the section is %q", i+1, rows[i][0], sec.title)
		var want, got []string
		for _, s := range sec.settings {
			want = append(want, s.name)
		}
		for _, m := range name.FindAllStringSubmatch(rows[i][1], -1) {
			got = append(got, m[1])
		}
		assert.ElementsMatch(t, want, got, "section %q", sec.title)
	}
}

// watchWriter keeps what is written to it and closes seen once a line
// matching re has been written.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	re   *regexp.Regexp
	seen chan struct{}
	done bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && w.re.Match(w.buf.Bytes()) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// notServerVariables are the variables the docs name that are not the
// server's: Directus's own, and the tests'.
var notServerVariables = map[string]bool{
	"AUTH_LOGIN_ATTEMPTS": true, "SESSION_COOKIE_TTL": true, // Directus's
	"USERS_TEST_POSTGRES_DSN": true, "USERS_TEST_MYSQL_DSN": true, "CGO_ENABLED": true,
	"FAILED_VALIDATION": true, "RECORD_NOT_UNIQUE": true, // Directus's error codes
}

// Every variable the README and docs/ name in code (`HASH_QUEUE`, or a
// pattern such as `RATE_LIMITER_*_DURATION`) is one the server reads, or
// one of notServerVariables: a renamed variable fails here.
func TestDocsNameServerVariables(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob(filepath.Join(moduleRoot(t), "docs", "*.md"))
	require.NoError(t, err)
	all := names()
	span := regexp.MustCompile("`([A-Z][A-Z0-9]*(?:_[A-Z0-9*]*)+)`")
	found := 0
	for _, p := range append(pages, filepath.Join(moduleRoot(t), "README.md")) {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, m := range span.FindAllStringSubmatch(string(b), -1) {
			v := m[1]
			found++
			if notServerVariables[v] || all[v] {
				continue
			}
			re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(v), `\*`, `[A-Z0-9_]+`) + "$")
			matched := false
			for n := range all {
				matched = matched || (strings.Contains(v, "*") && re.MatchString(n))
			}
			assert.True(t, matched, "%s names %s, which the server does not read", filepath.Base(p), v)
		}
	}
	assert.Greater(t, found, 50, "the docs name the server's variables")
}
