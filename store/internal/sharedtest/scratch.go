package sharedtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// Scratch creates a schema or a database of the test's own, named
// users_test_ and 12 random hex digits, and drops it with everything in it
// when the test ends, so that tests and runs never see each other's rows.
// exec runs one statement on a connection it opens and closes; create and
// drop are the statements, with %s for the name. It returns the name.
func Scratch(t testing.TB, exec func(stmt string) error, create, drop string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "users_test_" + hex.EncodeToString(b[:])
	require.NoError(t, exec(fmt.Sprintf(create, name)))
	t.Cleanup(func() {
		if err := exec(fmt.Sprintf(drop, name)); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return name
}
