//go:build race

package users_test

// raceEnabled reports whether the tests run under the race detector, which
// makes argon2id several times slower and timing measurements meaningless.
const raceEnabled = true
