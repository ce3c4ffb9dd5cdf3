package main

import (
	"os"
	"testing"

	"github.com/gousers/users/internal/hashworker"
	"github.com/gousers/users/internal/testenv"
)

// TestMain says, in one line, when USERS_TEST_POSTGRES_DSN or
// USERS_TEST_MYSQL_DSN is unset and no test ran against that server. It
// runs four parallel tests at once (unless -parallel says otherwise): most
// of them wait on a process, a build or a relay rather than compute.
//
// With USERS_TEST_SERVER_MAIN=1 the test binary is the server instead:
// tests that run the server as a process of its own start the test binary
// this way rather than link the server once more.
func TestMain(m *testing.M) {
	if code := hashworker.Main(); code >= 0 { // a hashing child (HASH_PROCESSES)
		os.Exit(code)
	}
	if os.Getenv(serverMainEnv) == "1" {
		os.Exit(realMain(nil, os.Getenv, os.Stdout, os.Stderr))
	}
	testenv.Parallel(4)
	testenv.Main(m, "examples/server", testenv.Postgres, testenv.MySQL)
}

// serverMainEnv set to 1 makes the test binary run the server (TestMain).
const serverMainEnv = "USERS_TEST_SERVER_MAIN"

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
