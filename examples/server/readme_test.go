package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's curl walk runs as pasted. The test takes the first sh block
// of the README's example-server section and changes two things only,
// each checked to happen exactly once so that an edit of the README cannot
// slip past: the port (a free one, given as PORT, instead of 8055, which
// another process may hold) and the module directory the build runs in
// (the walk itself runs in a temporary directory, where users.db,
// mail.txt and the binary land). Then it runs the block in bash and checks
// what the README's comments promise.
func TestREADMEWalk(t *testing.T) {
	requireLong(t, "builds the server and runs the README's curl walk")
	for _, tool := range []string{"bash", "curl", "sed", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing: CI must run the README walk", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	block := walkBlock(t, string(readme))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	dir := t.TempDir()
	replace := func(s, old, new string, n int) string {
		t.Helper()
		require.Equal(t, n, strings.Count(s, old), "the README walk no longer holds %q %d times", old, n)
		return strings.ReplaceAll(s, old, new)
	}
	script := replace(block, "go build -o users-server ./examples/server", "go -C "+root+" build -o "+dir+"/users-server ./examples/server", 1)
	script = strings.ReplaceAll(script, "localhost:8055", "localhost:"+port)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	out := stdout.String()
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, stderr.String())

	statuses := regexp.MustCompile(`(?m)^HTTP/1\.1 (\d{3})`).FindAllStringSubmatch(out, -1)
	var got []string
	for _, s := range statuses {
		got = append(got, s[1])
	}
	assert.Equal(t, []string{"204", "204", "204", "204", "204", "204", "204", "204", "204"}, got,
		"register, verify, logout, reset request, reset, invite, accept, delete, resend:\n%s\nlog:\n%s", out, stderr.String())
	assert.Contains(t, out, `"project_name":"Acme"`)
	assert.Regexp(t, `\{"data":\{"access_token":"[^"]+\.[^"]+\.[^"]+"`, out, "the login answers tokens")
	assert.Regexp(t, `\{"data":\{"id":"[^"]+","email":"ada@example.com"`, out, "/users/me with the access token")
	assert.Contains(t, out, `"email":"grace@example.com"`, "the filtered list")
	assert.Contains(t, out, `"meta":{"filter_count":2}`)
	assert.Contains(t, out, `{"status":"ok"}`)
	mail, err := os.ReadFile(filepath.Join(dir, "mail.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(mail), "You have been invited to join Acme as grace@example.com.")
	assert.Equal(t, 2, strings.Count(string(mail), "To: ada@example.com"), "verification and reset; none after the deletion")
	assert.Contains(t, stderr.String(), `msg=stopped`, "kill %1 stops the server gracefully")
}

// walkBlock returns the first sh code block of the example-server section.
func walkBlock(t *testing.T, readme string) string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "## The example server")
	require.True(t, ok, "no example-server section in README.md")
	_, rest, ok := strings.Cut(section, "```sh\n")
	require.True(t, ok, "no sh block in the example-server section")
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	return block
}
