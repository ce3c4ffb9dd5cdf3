//go:build sdk

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The official Directus JavaScript SDK (@directus/sdk 26) against the
// server, unchanged: authentication('json') login, readMe, readUsers,
// refresh, logout, a forgotten password reset from the mail, and a
// session-mode login. It needs node and npm (it installs the SDK into a
// temporary directory), so it is built only with the sdk tag:
//
//	go test -tags sdk -run TestDirectusSDK ./examples/server
func TestDirectusSDK(t *testing.T) {
	dir := t.TempDir()
	npm := exec.Command("npm", "install", "--no-audit", "--no-fund", "--silent", "@directus/sdk@26.0.0")
	npm.Dir = dir
	out, err := npm.CombinedOutput()
	require.NoError(t, err, "npm install: %s", out)
	script, err := filepath.Abs("testdata/directus-sdk/flow.mjs")
	require.NoError(t, err)
	b, err := os.ReadFile(script)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.mjs"), b, 0o644))

	s := startServer(t, map[string]string{
		"SECRET":         "an-sdk-test-secret-of-at-least-32-chars",
		"ADMIN_EMAIL":    "ada@example.com",
		"ADMIN_PASSWORD": "correct horse battery",
	})
	run := func(env ...string) map[string]string {
		t.Helper()
		cmd := exec.Command("node", "flow.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), append(env, "URL="+s.base)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "node: %s", out)
		steps := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(line, "step "); ok {
				i := strings.LastIndex(rest, " ")
				steps[rest[:i]] = rest[i+1:]
			}
		}
		return steps
	}
	got := run("PHASE=login")
	assert.Equal(t, `"ada@example.com"`, got["readMe"])
	assert.Equal(t, `["ada@example.com"]`, got["readUsers"])
	assert.Equal(t, `"ada@example.com"`, got["readMe after refresh"])
	assert.Equal(t, `"INVALID_CREDENTIALS"`, got["readMe after logout"])
	assert.Equal(t, `"ok"`, got["passwordRequest"])

	_, token := linkToken(t, s.mailTo("ada@example.com", 1), s.base+"/admin/reset-password?")
	got = run("PHASE=reset", "TOKEN="+token)
	assert.Equal(t, `"ok"`, got["passwordReset"])
	assert.Equal(t, `"INVALID_CREDENTIALS"`, got["old password"])
	assert.Equal(t, `"ada@example.com"`, got["new password readMe"])
	assert.Equal(t, `"ok"`, got["session login"])
}
