package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/internal/testenv"
)

// mysqlDatabase creates a database of its own on the USERS_TEST_MYSQL_DSN
// server, dropped when the test ends, and returns the environment that
// points the server at it with Directus's DB_CLIENT=mysql, DB_HOST,
// DB_PORT, DB_DATABASE, DB_USER and DB_PASSWORD, and a handle on the
// server that names the database in its queries.
func mysqlDatabase(t *testing.T) (env map[string]string, admin *sql.DB, name string) {
	t.Helper()
	dsn := testenv.MySQL.DSN(t)
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name = "users_e2e_" + hex.EncodeToString(b[:])
	admin, err = sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	_, err = admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE " + name)
		_ = admin.Close()
	})
	host, port, err := net.SplitHostPort(cfg.Addr)
	require.NoError(t, err)
	return map[string]string{
		"DB_CLIENT": "mysql", "DB_HOST": host, "DB_PORT": port, "DB_DATABASE": name,
		"DB_USER": cfg.User, "DB_PASSWORD": cfg.Passwd,
	}, admin, name
}

// The end-to-end flows on MySQL or MariaDB (DB_CLIENT=mysql), on a
// database of its own. The rate limiters count in the database.
func TestEndToEndMySQL(t *testing.T) {
	env, admin, name := mysqlDatabase(t)
	s := startServer(t, env)
	walk(t, s)
	var events int
	require.NoError(t, admin.QueryRow("SELECT COALESCE(SUM(n), 0) FROM "+name+".users_limiter_events").Scan(&events))
	assert.Positive(t, events, "registrations, mails and logins were counted in the database")
	assert.NoError(t, s.stop(), "graceful shutdown")
}
