package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The soft memory limit follows the hashes allowed at once: 2 × 2 cores ×
// 64 MiB + 64 MiB = 320 MiB at Directus's parameters on 2 cores.
func TestHashMemoryLimit(t *testing.T) {
	t.Parallel()
	assert.Equal(t, int64(320<<20), hashMemoryLimit(65536, 2))
	assert.Equal(t, int64(4*19456<<10+64<<20), hashMemoryLimit(19456, 2))
}

// GOMAXPROCS leaves a processor per core to the requests beside the lanes
// of the hashes allowed at once: 2 × 4 + 2 = 10 at Directus's parameters
// on 2 cores, 2 × 1 + 2 = 4 at the library's.
func TestHashProcs(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 10, hashProcs(4, 2, 2))
	assert.Equal(t, 4, hashProcs(1, 2, 2))
	assert.Equal(t, 2, hashProcs(0, 0, 2), "never fewer than the cores")
}
