package testenv

import (
	"sync"
	"time"
)

// A Clock is a settable clock for the code under test (a Manager's
// WithClock, a limiter's), moved by the test rather than by sleeping. It
// is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads at.
func NewClock(at time.Time) *Clock { return &Clock{now: at} }

// Now returns the clock's time; pass the method value (c.Now) as the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
