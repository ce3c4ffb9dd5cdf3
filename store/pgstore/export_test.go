package pgstore

import (
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// LimiterStatements returns l's sweep and decide statements and the hash
// that names key in them, for the tests that check their plans.
func LimiterStatements(l *Limiter, key string) (sweep, decide string, keyHash []byte) {
	return l.sweep, l.decide, sqlstore.LimiterKey(l.name, key)
}

// ListUsersSQL is the statement s's ListUsers runs for q, and its
// arguments, for the tests that check its plan.
func ListUsersSQL(s *Store, q store.UserQuery) (string, []any, error) { return listUsersSQL(s.qual, q) }

// CountUsersSQL is the statement s's CountUsers runs for q, and its
// arguments.
func CountUsersSQL(s *Store, q store.UserQuery) (string, []any, error) {
	return countUsersSQL(s.qual, q)
}
