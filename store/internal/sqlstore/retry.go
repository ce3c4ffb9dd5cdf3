package sqlstore

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the wait before retry attempt+1 of a transaction that met a
// serialization failure or a deadlock: a base of 1 ms doubling with each
// attempt up to 64 ms, plus a random part as long as the base at most, so
// from 1-2 ms up to at most about 128 ms, jittered so that the
// transactions that collided do not collide again.
func Backoff(attempt int) time.Duration {
	base := time.Millisecond << min(attempt, 6)
	return base + rand.N(base)
}

// Sleep waits for d, or until ctx ends, in which case it returns ctx's
// error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
