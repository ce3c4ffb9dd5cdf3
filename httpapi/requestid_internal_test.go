package httpapi

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Request ids are version 4 UUIDs, never the same twice, also across the
// refills of their buffer of random bytes.
func TestNewRequestID(t *testing.T) {
	n := 3 * len(requestIDs.buf) / 16
	seen := make(map[string]bool, n)
	for range n {
		id := newRequestID()
		u, err := uuid.Parse(id)
		require.NoError(t, err, id)
		assert.Equal(t, uuid.Version(4), u.Version(), id)
		assert.Equal(t, uuid.RFC4122, u.Variant(), id)
		require.False(t, seen[id], "%s came twice", id)
		seen[id] = true
	}
}
