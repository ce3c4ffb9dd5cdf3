package mysqlstore

import (
	"database/sql"

	"github.com/gousers/users/store/internal/sqlstore"
)

// LimiterStatements returns the statements of Allow that read the tables,
// and the hash that names key for l, for the tests that check their plans.
func LimiterStatements(l *Limiter, key string) (count, sweepEvents, sweepKeys string, keyHash []byte) {
	return limiterCount, limiterSweepEvents, limiterSweepKeys, sqlstore.LimiterKey(l.name, key)
}

// TxLevel returns the isolation level s's transactions ask for.
func TxLevel(s *Store) sql.IsolationLevel { return s.level }

// MultiStatements reports whether s sends a transaction's statements in
// one round trip.
func MultiStatements(s *Store) bool { return s.multi }

// MigrationFiles are the embedded migrations.
var MigrationFiles = migrationFS

// CompoundStatements reports whether s sends anonymous blocks (BEGIN NOT
// ATOMIC … END).
func CompoundStatements(s *Store) bool { return s.block }

// NoCompoundStatements makes s send no anonymous block, so that the tests
// reach what a handle that has none does (MySQL) on MariaDB too.
func NoCompoundStatements(s *Store) { s.block = false }
