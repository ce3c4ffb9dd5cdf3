// Package memstore is an in-memory [store.Store], for tests and examples.
//
// A Store keeps everything in maps behind one mutex, so every method is
// atomic and concurrent callers in the same process see each change whole.
// Nothing survives the process: use store/sqlitestore, store/pgstore or
// store/mysqlstore for data that must last, or that several processes share.
//
// It behaves as the database-backed stores do, so that tests written
// against it hold for them too:
//
//   - Records are copied in and out: a caller may modify what it passed in
//     or got back without touching the stored data.
//   - Metadata is stored as JSON would store it: it is encoded on the way
//     in (a value JSON cannot encode is an error) and comes back as
//     map[string]any, []any, string, float64, bool and nil.
//   - Times are kept in UTC, truncated to the microsecond.
//   - An email key is unique among users when not empty; roles and
//     policies a user names must exist.
//   - Queries (ListUsers, CountUsers) look at every user: fine for tests
//     and small examples, which is what the package is for.
//
// It passes store/storetest.
package memstore
