package pgstore_test

import (
	"testing"
	"time"

	"github.com/gousers/users/store/internal/sharedtest"
)

// BenchmarkLimiterAllow measures one Allow — one round trip, one
// transaction — since a Limiter sits in front of every login, registration
// and mail: its latency adds to each of them (see sharedtest.BenchmarkAllow).
func BenchmarkLimiterAllow(b *testing.B) {
	sharedtest.BenchmarkAllow(b, newLimiter(b, newPool(b, newSchema(b)), "bench", 10, time.Minute))
}
