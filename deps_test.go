package users_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deps lists the packages pkg depends on, pkg included.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// The root package stays free of database drivers and network code: a host
// app that brings its own Store and Mailer links none of ours. Of this
// module it imports only package store, the contract it is built on, and
// the internal helpers it shares with httpapi and webui (whose own imports
// are in the list, so checked too).
func TestRootImportsNoDriversOrNetwork(t *testing.T) {
	t.Parallel()
	list := deps(t, ".")
	require.Contains(t, list, "github.com/gousers/users")
	require.Contains(t, list, "github.com/gousers/users/store")
	for _, d := range list {
		// Standard packages, exactly (database/sql/driver, a set of
		// interfaces, comes with github.com/google/uuid and is fine).
		for _, banned := range []string{"database/sql", "net/smtp", "net/http", "crypto/tls"} {
			assert.NotEqual(t, banned, d, "the root package depends on %s", d)
		}
		// Modules, by prefix: drivers, SMTP, and this module's back-ends.
		for _, banned := range []string{
			"github.com/mattn/go-sqlite3", "github.com/jackc/", "github.com/wneessen/go-mail",
			"github.com/emersion/", "github.com/gousers/users/",
		} {
			if d == "github.com/gousers/users/store" || strings.HasPrefix(d, "github.com/gousers/users/internal/") {
				continue
			}
			assert.False(t, strings.HasPrefix(d, banned), "the root package depends on %s", d)
		}
	}
}

// Package store is the contract a back-end implements: it imports only the
// standard library, never the root package, so that a back-end depends on
// nothing else of this module and the root can import it without a cycle.
func TestStoreImportsOnlyStandardLibrary(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", "./store").Output()
	require.NoError(t, err)
	var self bool
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, standard, ok := strings.Cut(line, " ")
		require.True(t, ok, "go list printed %q", line)
		if path == "github.com/gousers/users/store" {
			self = true
			continue
		}
		assert.NotEqual(t, "github.com/gousers/users", path, "package store imports the root package")
		assert.Equal(t, "true", standard, "package store depends on %s, outside the standard library", path)
	}
	assert.True(t, self, "go list did not list package store itself")
}
