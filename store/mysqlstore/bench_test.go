package mysqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store/mysqlstore"
)

// BenchmarkLimiterAllow measures one Allow — one transaction of six
// statements (key lock, count, insert, two sweeps, commit) after the
// isolation level is set — since a Limiter sits in front of every login,
// registration and mail: its latency adds to each of them. Allowed is the insert path
// (a new key each time), Denied the read-only path (one key at its limit,
// as under a brute-force attack on an address). Besides the mean (ns/op)
// it reports the median and 99th percentile of the calls.
func BenchmarkLimiterAllow(b *testing.B) {
	db := newDB(b, newDatabase(b))
	ctx := context.Background()
	l, err := mysqlstore.NewLimiter(ctx, db, "bench", 10, time.Minute)
	require.NoError(b, err)
	for range 10 {
		_, err := l.Allow(ctx, "full@example.com")
		require.NoError(b, err)
	}
	run := func(b *testing.B, key func(i int) string, want func(error) bool) {
		b.ReportAllocs()
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			began := time.Now()
			_, err := l.Allow(ctx, key(i))
			lat = append(lat, time.Since(began))
			if !want(err) {
				b.Fatalf("call %d: %v", i, err)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	}
	b.Run("Allowed", func(b *testing.B) {
		prefix := fmt.Sprintf("%s-%d-", b.Name(), time.Now().UnixNano())
		run(b, func(i int) string { return prefix + fmt.Sprint(i) }, func(err error) bool { return err == nil })
	})
	b.Run("Denied", func(b *testing.B) {
		run(b, func(int) string { return "full@example.com" }, func(err error) bool {
			_, ok := err.(*users.RateLimitError)
			return ok
		})
	})
}
