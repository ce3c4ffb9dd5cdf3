package mysqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/mysqlstore"
)

// BenchmarkLimiterAllow measures one Allow — one transaction of six
// statements (key lock, count, insert, two sweeps, commit) after the
// isolation level is set — since a Limiter sits in front of every login,
// registration and mail: its latency adds to each of them (see
// sharedtest.BenchmarkAllow).
func BenchmarkLimiterAllow(b *testing.B) {
	l, err := mysqlstore.NewLimiter(context.Background(), newDB(b, newDatabase(b)), "bench", 10, time.Minute)
	require.NoError(b, err)
	sharedtest.BenchmarkAllow(b, l)
}
