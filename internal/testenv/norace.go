//go:build !race

package testenv

// Race reports whether the tests run under the race detector, which makes
// argon2id several times slower and timing measurements meaningless.
const Race = false
