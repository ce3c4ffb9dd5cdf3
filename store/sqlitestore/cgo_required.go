//go:build !cgo

package sqlitestore

// This package is github.com/mattn/go-sqlite3, which is C code: it builds
// only with cgo. Without it (CGO_ENABLED=0, or no C compiler found) the
// build stops here, on a name that says what to do.
var _ = sqlitestore_needs_cgo_build_with_CGO_ENABLED_1_and_a_C_compiler_such_as_gcc
