package sharedtest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// BenchmarkAllow measures one Allow of l, a Limiter that allows 10 events
// per key in its window, fresh. Allowed is the insert path (a new key each
// time), Denied the read-only path (one key at its limit, as under a
// brute-force attack on an address). Besides the mean (ns/op) it reports
// the median and 99th percentile of the calls.
func BenchmarkAllow(b *testing.B, l users.Limiter) {
	ctx := context.Background()
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
