// Package pgstore keeps the users library's data in PostgreSQL, for
// applications that run several instances on one database.
//
// # Store
//
// [New] returns a [Store], the users.Store on a pgx pool the host app
// opened. Each Store method that must be atomic is one transaction, so
// any number of instances may run any operations at once.
//
// # Limiter
//
// [NewLimiter] returns a [Limiter], a users.ResettableLimiter whose
// sliding-window counts live in the database, so that all instances share
// one count per key where users.MemoryLimiter counts per process. Pass it
// to users.WithLoginLimiter or users.WithMailLimiter, or to httpapi's
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
