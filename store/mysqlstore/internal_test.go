package mysqlstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/gousers/users/store"
)

// Deadlocks and lock wait timeouts are retried, nothing else.
func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&mysql.MySQLError{Number: 1213}, true},
		{fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 1205}), true},
		{&mysql.MySQLError{Number: 1062}, false},
		{store.ErrConflict, false},
		{context.Canceled, false},
	} {
		if got := retryable(c.err); got != c.want {
			t.Errorf("retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	// A deadlock met on every attempt is returned after retries+1 attempts.
	calls := 0
	err := do(context.Background(), 3, "op", func() error { calls++; return &mysql.MySQLError{Number: 1213, Message: "Deadlock found"} })
	if calls != 4 || !errors.As(err, new(*mysql.MySQLError)) {
		t.Errorf("%d calls, %v; want 4 calls and the deadlock", calls, err)
	}
}

// A duplicate-key error quotes the duplicate value (a token hash, an
// address): the store's error names only the index.
func TestDuplicateEntryHidesValue(t *testing.T) {
	err := wrapErr(context.Background(), "op", &mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'secret@example.com' for key 'users_sessions_token_key'"})
	if got := err.Error(); got != "mysqlstore: op: duplicate entry for key 'users_sessions_token_key' (error 1062)" {
		t.Errorf("got %q", got)
	}
	err = wrapErr(context.Background(), "op", &mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'a@b' for key 'users_users.users_users_email_key'"})
	if !errors.Is(err, store.ErrDuplicateEmail) {
		t.Errorf("MySQL 8's message: %v; want ErrDuplicateEmail", err)
	}
}

func TestVersionAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"10.11.19-MariaDB-0+deb12u1": true, "10.6.0-MariaDB": true, "10.5.27-MariaDB": false,
		"11.4.2-MariaDB": true, "8.0.36": true, "8.4.0-commercial": true, "5.7.44-log": false, "": false,
	} {
		if got := versionAtLeast(v); got != want {
			t.Errorf("versionAtLeast(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- a comment; with a semicolon\nCREATE TABLE a (\n\tx INT\n);\n\nINSERT INTO a VALUES (1);\n-- end\n")
	want := []string{"CREATE TABLE a (\n\tx INT\n)", "INSERT INTO a VALUES (1)"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFlavour(t *testing.T) {
	stmts := []string{"MARIADB: DROP x", "MYSQL: SET y = 0", "ALTER TABLE t COLLATE {{nopad_bin}}", "CREATE TABLE u () COLLATE=utf8mb4_bin"}
	if got, want := fmt.Sprint(flavour(stmts, true)), fmt.Sprint([]string{"DROP x", "ALTER TABLE t COLLATE utf8mb4_nopad_bin", "CREATE TABLE u () COLLATE=utf8mb4_nopad_bin"}); got != want {
		t.Errorf("MariaDB: got %q, want %q", got, want)
	}
	if got, want := fmt.Sprint(flavour(stmts, false)), fmt.Sprint([]string{"SET y = 0", "ALTER TABLE t COLLATE utf8mb4_0900_bin", "CREATE TABLE u () COLLATE=utf8mb4_0900_bin"}); got != want {
		t.Errorf("MySQL: got %q, want %q", got, want)
	}
}
