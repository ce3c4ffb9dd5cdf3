package hashprocs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

func newTest(t *testing.T) (*Adaptive, *[]int, *time.Time) {
	t.Helper()
	now := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	var sets []int
	a := &Adaptive{low: 2, high: 10, idle: 2 * time.Second, now: func() time.Time { return now },
		set: func(n int) { sets = append(sets, n) }}
	return a, &sets, &now
}

// A hash that finds a free slot (no wait) is not a flood: the processors
// stay at the cores, and the cheap routes keep their throughput.
func TestUncontendedHashKeepsLow(t *testing.T) {
	a, sets, _ := newTest(t)
	a.Observe(users.Observation{Kind: users.KindHashWait})
	a.Observe(users.Observation{Kind: users.KindMailSent, Duration: time.Second})
	assert.Empty(t, *sets)
	assert.Equal(t, 2, a.Procs())
}

// Cheap hashes that wait a little for a slot (under MinWait) leave the run
// queue before a request notices: no raise.
func TestShortWaitKeepsLow(t *testing.T) {
	a, sets, _ := newTest(t)
	a.Observe(users.Observation{Kind: users.KindHashWait, Duration: time.Millisecond})
	a.Observe(users.Observation{Kind: users.KindHashWait, Duration: MinWait - time.Microsecond})
	assert.Empty(t, *sets)
	assert.Equal(t, 2, a.Procs())
}

// A hash that waited, or one shed, raises GOMAXPROCS once; it comes back
// down only after idle without contention.
func TestContentionRaisesThenIdleLowers(t *testing.T) {
	for _, o := range []users.Observation{
		{Kind: users.KindHashWait, Duration: MinWait},
		{Kind: users.KindHashShed},
	} {
		t.Run(o.Kind, func(t *testing.T) {
			a, sets, now := newTest(t)
			a.Observe(o)
			a.Observe(o)
			require.Equal(t, []int{10}, *sets, "raised once")
			assert.Equal(t, 10, a.Procs())

			*now = now.Add(time.Second)
			assert.False(t, a.lower(), "lowered before idle passed")
			a.Observe(o) // contention again: the idle period starts over
			*now = now.Add(1500 * time.Millisecond)
			assert.False(t, a.lower())
			*now = now.Add(time.Second)
			assert.True(t, a.lower())
			assert.Equal(t, []int{10, 2}, *sets)
			assert.Equal(t, 2, a.Procs())
			assert.True(t, a.lower(), "already low: no switch")
			assert.Equal(t, []int{10, 2}, *sets)
		})
	}
}
