package users_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The root package stays free of database drivers and network code: a host
// app that brings its own Store and Mailer links none of ours.
func TestRootImportsNoDriversOrNetwork(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/gousers/users")
	for _, d := range deps {
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
			assert.False(t, strings.HasPrefix(d, banned), "the root package depends on %s", d)
		}
	}
}
