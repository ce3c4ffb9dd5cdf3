package testenv

import (
	"math"
	"slices"
	"testing"
	"time"
)

// The timing tests measure a security property — a caller cannot tell
// from the time an answer takes which of two cases it met (an unknown
// address or a wrong password, a new address or a taken one) — not
// performance. SameTime is their one method.
//
// It runs the two cases interleaved, flipping their order every round so
// that drift in the machine's load falls on both alike, after a warm-up,
// and judges two robust statistics against a tolerance of 2% of the
// slower median or 3 ms, whichever is larger: the difference of the two
// cases' medians, and the median of the per-round differences (which
// cancels the load a round shares).
//
// It measures sequentially, as few rounds as the evidence needs, in looks
// after 24, 48, 96, 192, 384 and SameTimeMaxRounds rounds (pooled). A look
// of fewer than SameTimePointRounds rounds passes only if the medians
// differ by less than the tolerance and the whole 95% confidence interval
// of the median per-round difference (the distribution-free one, from the
// order statistics of the differences) lies within ±tolerance: few rounds
// give a wide interval, so a quiet machine passes at the first look while
// a noisy one measures on. A look of SameTimePointRounds rounds or more
// passes when the two point statistics are within the tolerance, the
// criterion the tests used before with 200 rounds a pass. The last look
// fails the test. A real difference — a password hash on one path only,
// 20 ms and more against microseconds — lies outside the tolerance at every
// look, so a broken protection fails after SameTimeMaxRounds rounds, never
// passes early.
//
// Callers skip under -short and -race first (SkipTiming) and do not run in
// parallel with other tests: they measure time.

// SameTimeMaxRounds is the number of rounds of SameTime's last look, and
// SameTimePointRounds the least number of rounds whose point statistics
// alone decide a look.
const (
	SameTimeMaxRounds   = 600
	SameTimePointRounds = 192
)

const (
	sameTimeWarmUp    = 6
	sameTimeFirstLook = 24
)

// SameTime times a and b interleaved, as described above, and fails t if
// the time tells them apart. Each is called with the round's number, from
// 0 (warm-up rounds included), distinct in every round.
func SameTime(t testing.TB, what string, a, b func(i int)) {
	t.Helper()
	timeIt := func(f func(int), i int) time.Duration {
		t0 := time.Now()
		f(i)
		return time.Since(t0)
	}
	var da, db, diff []time.Duration
	round := 0
	for look := sameTimeFirstLook; ; look = min(2*look, SameTimeMaxRounds) {
		for ; len(da) < look; round++ {
			var ta, tb time.Duration
			if round%2 == 0 {
				ta = timeIt(a, round)
				tb = timeIt(b, round)
			} else {
				tb = timeIt(b, round)
				ta = timeIt(a, round)
			}
			if round >= sameTimeWarmUp {
				da, db, diff = append(da, ta), append(db, tb), append(diff, ta-tb)
			}
		}
		v := judgeSameTime(da, db, diff)
		t.Logf("%s, %d rounds: medians %v and %v, median difference %v (95%% interval %v to %v), tolerance %v",
			what, len(da), v.ma, v.mb, v.md, v.lo, v.hi, v.tolerance)
		if len(da) >= SameTimePointRounds && v.samePoint() || len(da) < SameTimePointRounds && v.sameInterval() {
			return
		}
		if look == SameTimeMaxRounds {
			t.Fatalf("%s: the time tells the cases apart", what)
		}
	}
}

// sameTimeVerdict holds SameTime's statistics at one look.
type sameTimeVerdict struct {
	ma, mb    time.Duration // medians of the two cases
	md        time.Duration // median of the per-round differences
	lo, hi    time.Duration // 95% confidence interval of md
	tolerance time.Duration
}

func judgeSameTime(da, db, diff []time.Duration) sameTimeVerdict {
	var v sameTimeVerdict
	v.ma, v.mb = median(da), median(db)
	s := slices.Clone(diff)
	slices.Sort(s)
	v.md = s[len(s)/2]
	k := medianInterval(len(s))
	v.lo, v.hi = s[k], s[len(s)-1-k]
	v.tolerance = max(max(v.ma, v.mb)/50, 3*time.Millisecond)
	return v
}

// samePoint reports whether the point statistics are within the tolerance.
func (v sameTimeVerdict) samePoint() bool {
	return abs(v.ma-v.mb) < v.tolerance && abs(v.md) < v.tolerance
}

// sameInterval reports whether the medians are within the tolerance and
// the interval of the median difference lies within ±tolerance.
func (v sameTimeVerdict) sameInterval() bool {
	return abs(v.ma-v.mb) < v.tolerance && -v.tolerance < v.lo && v.hi < v.tolerance
}

// medianInterval returns k such that the k-th and the (n-1-k)-th of n
// sorted samples (from 0) bound a 95% confidence interval of their
// median, by the normal approximation to the binomial distribution of the
// number of samples below it.
func medianInterval(n int) int {
	k := int(math.Floor((float64(n) - 1.96*math.Sqrt(float64(n))) / 2))
	return max(k, 0)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func abs(d time.Duration) time.Duration { return max(d, -d) }
