// Package pgstore keeps the users library's data in PostgreSQL, for
// applications that run several instances on one database.
//
// # Store
//
// [New] returns a [Store], the store.Store on a pgx pool the host app
// opened. Each Store method that must be atomic is one transaction, so
// any number of instances may run any operations at once.
//
// Users are listed and counted by one SELECT built from the
// store.UserQuery (filter, search, sort, paging happen in PostgreSQL).
// Text sorts bytewise (COLLATE "C") whatever the database's collation; the
// case-insensitive comparisons use lower-cased copies of the user's fields
// that the store writes with Go's strings.ToLower, so they do not depend on
// the database's locale. Changes made with store.Condition.KeepAdmin
// serialise on a transaction-scoped advisory lock per schema, so that two
// instances cannot together remove the last two administrators. Refresh
// tokens are rotated under a row lock on their session, so that of
// concurrent rotations of one token exactly one succeeds and the others
// end the session.
//
// # Limiter
//
// [NewLimiter] returns a [Limiter], a users.Limiter whose
// sliding-window counts live in the database, so that all instances share
// one count per key where users.MemoryLimiter counts per process. Pass it
// as a field of users.Limits (Login, Mail…), or to httpapi's
// per-IP limits (httpapi.WithRateLimiter, httpapi.WithRegisterRateLimiter)
// under names of their own.
//
// # Schema
//
// Both bring the schema up to date when created, from migrations embedded
// in the package (users_schema_migrations records them), under an advisory
// lock so that instances starting together migrate once. [WithSchema] and
// [WithLimiterSchema] name the schema; by default it is the pool's current
// one.
package pgstore
