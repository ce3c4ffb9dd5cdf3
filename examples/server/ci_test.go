package main

import (
	"os"
	"testing"

	"github.com/gousers/users/internal/testenv"
)

// TestMain says, in one line, when USERS_TEST_POSTGRES_DSN or
// USERS_TEST_MYSQL_DSN is unset and no test ran against that server.
func TestMain(m *testing.M) {
	testenv.Main(m, "examples/server", testenv.Postgres, testenv.MySQL)
}

// requireLong skips a long test (what says why it is long) under -short,
// except under CI=true, where nothing may skip: there it fails.
func requireLong(t *testing.T, what string) {
	t.Helper()
	if !testing.Short() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("-short would skip this test (%s), and under CI=true nothing may skip", what)
	}
	t.Skipf("-short: %s", what)
}
