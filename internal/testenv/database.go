package testenv

import (
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// A Database is a database server some tests of a package run against,
// named by an environment variable that holds its DSN. Without the
// variable those tests skip (under CI=true they fail), and Main says so in
// one line when the package's tests end, so that a package that tested
// nothing against its database does not read as tested.
type Database struct {
	Env     string // the variable, e.g. USERS_TEST_POSTGRES_DSN
	Name    string // the server, e.g. PostgreSQL
	Example string // a DSN for a local server
	Setup   string // the script that starts a local server

	skipped atomic.Int64
}

// The servers the module's tests use; docs/testing.md says how to set them
// up.
var (
	Postgres = &Database{
		Env:     "USERS_TEST_POSTGRES_DSN",
		Name:    "PostgreSQL",
		Example: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		Setup:   ".ci/pg-setup.sh",
	}
	MySQL = &Database{
		Env:     "USERS_TEST_MYSQL_DSN",
		Name:    "MySQL/MariaDB",
		Example: "root@tcp(127.0.0.1:3306)/test",
		Setup:   ".ci/mysql-setup.sh",
	}
)

// DSN returns the server's DSN. Without one it skips t, counting the skip
// for Main, or under CI=true fails it.
func (d *Database) DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(d.Env)
	if dsn == "" {
		if UnderCI() {
			t.Fatalf("%s is not set: CI must run the %s tests (%s starts a server)", d.Env, d.Name, d.Setup)
		}
		d.skipped.Add(1)
		t.Skipf("%s is not set: skipping a %s test (set it to e.g. %s)", d.Env, d.Name, d.Example)
	}
	return dsn
}

// Main runs the package's tests, as a TestMain does, and then, for each of
// dbs whose variable is unset, says in one line how many tests ran against
// it (none) and how many skipped for want of it:
//
//	pgstore: USERS_TEST_POSTGRES_DSN unset: 0 tests ran against PostgreSQL (57 skipped)
//
// The line goes where go test shows it even for a passing package without
// -v (see Notice). pkg names the package in the line.
func Main(m *testing.M, pkg string, dbs ...*Database) {
	flag.Parse() // for testing.Verbose, in Notice
	code := m.Run()
	for _, d := range dbs {
		if os.Getenv(d.Env) == "" {
			Notice(fmt.Sprintf("%s: %s unset: 0 tests ran against %s (%d skipped)", pkg, d.Env, d.Name, d.skipped.Load()))
		}
	}
	os.Exit(code)
}
