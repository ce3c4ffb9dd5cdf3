// Package store is the contract between a users.Manager and the back-end
// that keeps its data: users, roles, policies, tokens, sessions, settings
// and the mail outbox. Store authors read this package, as driver authors
// read database/sql/driver; an application chooses a back-end
// (store/memstore, store/sqlitestore, store/pgstore, store/mysqlstore),
// passes it to users.New, and meets little else of it (see Shared types).
//
// [Store] is composed of small interfaces, one per concern: [Users],
// [Tokens], [Sessions], [Outbox] and [Catalog] (roles, policies and the
// settings document), plus [Store.PurgeExpired]. The conformance suite
// store/storetest checks the whole contract (storetest.Run), and every
// back-end in this module passes it.
//
// # Rules every implementation follows
//
//   - Every method takes ctx first and gives up with ctx.Err() (possibly
//     wrapped) once it is done, leaving nothing half-written.
//   - Each method is atomic: it applies all of its change or none of it,
//     and concurrent callers — in one process or in several processes
//     sharing the back-end — see it whole or not at all.
//   - A Store holds no business rules. The Manager computes every value
//     (the normalised email key, the token hash, expiry times, the next
//     attempt of a mail) and passes "now" wherever time matters; the Store
//     checks only the plain preconditions it is handed ([Condition]) and
//     writes the rows it is given ([UserChange], [Effects]).
//   - Getters return an error matching [ErrNotFound] when nothing matches.
//   - Errors match this package's sentinels ([ErrNotFound], [ErrConflict],
//     [ErrDuplicateEmail]…) with errors.Is; a Store may wrap them with its
//     own context.
//   - Records returned are copies: the caller may modify them.
//   - Timestamps are stored with at least millisecond precision and come
//     back in UTC.
//   - Tokens are never stored, only their SHA-256 ([Token.Hash],
//     [Session.TokenHash]).
//
// # Shared types
//
// [Status], [Role] and [Policy] are owned by this package: the root
// package users re-exports them as aliases (users.Status, users.Role,
// users.Policy, and the Status constants), so an application and a store
// speak of the same values without converting. Everything else here —
// the row types ([User], [Token], [Session], [Mail]), the preconditions
// and changes, the query tree ([UserQuery], [Filter]) and the errors — is
// the stores' vocabulary; an application meets only the mail types the
// Manager's outbox methods take and return ([MailQuery], [Mail]) and
// [Purpose] (it lists users with users.UserQuery, whose filter the Manager
// turns into a [Filter]). The application's view of
// a user is users.User, which never carries the password hash; the
// Manager converts from [User].
//
// This package imports only the standard library, so a back-end that
// implements it depends on nothing else of this module.
//
// # Design notes
//
// The Store contract used to live in the root package users, beside the
// Manager, so that one import served both sides. It moved here, reversing
// that habit: the root package's documentation now serves application
// developers alone, and store authors read this package, as
// database/sql/driver serves driver authors while database/sql serves
// applications. The Manager translates this package's errors into its own
// (users.ErrDuplicateEmail, users.ErrInvalidToken…) at one boundary, so an
// application never needs to import this package to match an error.
package store
