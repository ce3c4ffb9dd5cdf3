// Package storetest is the conformance suite for [store.Store] back-ends.
//
// The contract of a Store is written in the doc comments of package store
// ([store.Store] and the interfaces it is composed of); this package checks
// it. Every back-end in this module passes it, and a back-end written
// elsewhere should too.
//
// # Using it
//
// Call [Run] from a test in the back-end's package, with a function that
// returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			db := openTestDB(t) // registers t.Cleanup(db.Close)
//			return mystore.New(db)
//		})
//	}
//
// A store whose test can also delete a role or a policy that users still
// name, as SQL run behind the Store's back would, should let the suite do
// so ([Dropper]): a few clauses check what such a role or policy grants
// (nothing).
//
// Run starts one sub-test per clause of the contract, named after the
// method and the clause: CreateUser/DuplicateEmailCaseInsensitive,
// ConsumeToken/SingleUseUnderConcurrency, Mail/ClaimLease… A failing clause
// can be run alone:
//
//	go test -run 'TestConformance/ConsumeToken/Expired' ./store/mystore
//
// # What the suite assumes
//
//   - newStore is called once per sub-test and returns an empty store. It
//     registers its own cleanup with t.Cleanup.
//   - Sub-tests run one after the other (the suite never calls
//     t.Parallel), so a factory may hand out the same database each time,
//     emptied. Some sub-tests call the store from many goroutines at once;
//     a back-end must handle that as it would in production (no
//     "database is locked" errors).
//   - Every user, mail and session id is a UUID string
//     (github.com/google/uuid); so are role and policy ids, except in the
//     clauses about Unicode (Roles/Unicode, ListUsers/UnicodeRoles), whose
//     role ids hold non-ASCII letters and emoji. Every email key is the
//     lower-cased address, every time derives from a fixed base
//     (2026-01-02 03:04:05 UTC); the suite never sleeps.
//   - Sub-tests that call the store from many goroutines give up after a
//     deadline of their own (a minute) and name the property that failed,
//     so a back-end that deadlocks fails there rather than at go test's
//     timeout.
//   - Times are compared to the millisecond, and must come back in UTC.
//   - Metadata is compared through its JSON encoding, so a back-end that
//     stores it as JSON (numbers come back as float64) passes.
//   - Policies are compared as sets: their order is not part of the
//     contract.
//
// The suite uses only the standard library's testing package, so that
// importing it pulls in no assertion library.
package storetest
