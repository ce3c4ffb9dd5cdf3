package users

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Failed logins must not tell which accounts exist. An unknown address is
// checked against a dummy hash at the Manager's parameters; a known one
// against its stored hash, whose parameters are whatever they were when
// it was made (imported from Directus at m=65536,t=3,p=4, or hashed before
// the parameters changed). A costlier stored hash cannot be made cheaper,
// and hashing unknown addresses at every parameter set in the store would
// multiply the work of every failed login. So the Manager pads instead:
// the password check of a failed login lasts at least as long as a
// verification at the slowest parameter set it has seen usually takes.
//
// The cost of each parameter set is learned from the verifications that
// logins perform anyway (and the dummy hash made at New), never from extra
// hashing: per set, the last verifyCostSamples durations, measured inside
// the hashing slot (queueing excluded); the set's cost is their 90th
// percentile plus 10% and 1 ms. The floor is the largest cost among the
// sets seen, at least the Limits.FailedLoginMinimum bound. A verification
// that runs longer than the floor (a slow outlier) is not cut short; with
// the floor above nine verifications in ten of the slowest set, the
// medians of failed logins for unknown addresses and for users at that
// set agree, which the enumeration tests check (within 2% or 3 ms).
//
// Tracking load: the samples are recent, so the floor follows the
// machine's load as verifications come in. A set not verified for a while
// keeps its last samples: if the machine has become busier since, its
// first new verification may run over the floor, and then raises it.
// After a restart a set is unknown until first verified: the first failed
// login against such a hash shows its cost once, unless
// Limits.FailedLoginMinimum covers it.
//
// Successful logins return without padding: their caller learns that the
// account exists anyway. The Manager rehashes them at its own parameters,
// so costlier sets fade from use; the floor keeps what it learned for the
// life of the process (at most verifyCostSets sets, the least recently
// seen dropped first).

const (
	verifyCostSamples = 64
	verifyCostSets    = 16
)

type verifyCosts struct {
	minimum time.Duration

	mu    sync.Mutex
	sets  map[string]*costRing
	tick  uint64        // orders the sets by last use
	floor time.Duration // cached: max cost over sets, at least minimum
}

type costRing struct {
	d    [verifyCostSamples]time.Duration
	n    int
	next int
	used uint64
	cost time.Duration
}

func newVerifyCosts(minimum time.Duration) *verifyCosts {
	return &verifyCosts{minimum: minimum, sets: make(map[string]*costRing), floor: minimum}
}

// paramSet names the parameter set of an encoded hash: everything but the
// salt and the hash, plus their lengths ("$argon2id$v=19$m=19456,t=2,p=1
// 22 43"). A string that is not $-separated is its own set.
func paramSet(encoded string) string {
	i := strings.LastIndexByte(encoded, '$')
	if i <= 0 {
		return "?"
	}
	j := strings.LastIndexByte(encoded[:i], '$')
	if j < 0 {
		return "?"
	}
	return encoded[:j] + " " + strconv.Itoa(i-j-1) + " " + strconv.Itoa(len(encoded)-i-1)
}

// add records that verifying at set took d.
func (v *verifyCosts) add(set string, d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.sets[set]
	if r == nil {
		if len(v.sets) >= verifyCostSets {
			v.evict()
		}
		r = &costRing{}
		v.sets[set] = r
	}
	v.tick++
	r.used = v.tick
	r.d[r.next] = d
	r.next = (r.next + 1) % verifyCostSamples
	r.n = min(r.n+1, verifyCostSamples)
	s := slices.Clone(r.d[:r.n])
	slices.Sort(s)
	p90 := s[(len(s)*9)/10]
	if len(s) < 10 {
		p90 = s[len(s)-1]
	}
	r.cost = p90 + p90/10 + time.Millisecond
	v.refloor()
}

// evict drops the least recently seen set.
func (v *verifyCosts) evict() {
	var oldest string
	var at uint64
	for k, r := range v.sets {
		if oldest == "" || r.used < at {
			oldest, at = k, r.used
		}
	}
	delete(v.sets, oldest)
	v.refloor()
}

func (v *verifyCosts) refloor() {
	f := v.minimum
	for _, r := range v.sets {
		f = max(f, r.cost)
	}
	v.floor = f
}

// current returns the floor.
func (v *verifyCosts) current() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.floor
}

// pad waits until the floor has passed since start, or ctx is done.
func (v *verifyCosts) pad(ctx context.Context, start time.Time) {
	wait := v.current() - time.Since(start)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
