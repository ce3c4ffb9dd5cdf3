package mysqlstore

import "github.com/gousers/users/store/internal/sqlstore"

// LimiterStatements returns the statements of Allow that read the tables,
// and the hash that names key for l, for the tests that check their plans.
func LimiterStatements(l *Limiter, key string) (count, sweepEvents, sweepKeys string, keyHash []byte) {
	return limiterCount, limiterSweepEvents, limiterSweepKeys, sqlstore.LimiterKey(l.name, key)
}

// MigrationFiles are the embedded migrations.
var MigrationFiles = migrationFS
