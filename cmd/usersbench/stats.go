package main

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of sorted, by the
// nearest-rank method: the smallest value such that at least p% of the
// values are at or below it. It returns 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// result is one timed phase: an operation (or the hash ceiling) run by C
// workers for about D.
type result struct {
	Op        string         `json:"op"`
	C         int            `json:"concurrency"`
	Elapsed   time.Duration  `json:"-"`
	ElapsedS  float64        `json:"elapsed_s"`
	OK        int            `json:"ok"`
	Errors    int            `json:"errors"`
	ErrKinds  map[string]int `json:"error_kinds,omitempty"`
	OpsPerSec float64        `json:"ops_per_s"` // successful operations per second
	P50       time.Duration  `json:"-"`
	P99       time.Duration  `json:"-"`
	Max       time.Duration  `json:"-"`
	P50ms     float64        `json:"p50_ms"`
	P99ms     float64        `json:"p99_ms"`
	MaxMs     float64        `json:"max_ms"`
	PeakRSS   int64          `json:"peak_rss_kib,omitempty"` // VmHWM during the phase, KiB; 0: unknown
	RSSOf     string         `json:"peak_rss_of,omitempty"`  // "usersbench" or "server"
	// CPUPerOpMs is the CPU time (user + system) the measured process
	// (this one in process, the server's over HTTP with -pid) spent in the
	// phase per successful operation; CPUCores that time over the phase's
	// duration (2 = both cores of a 2-core machine busy).
	CPUPerOpMs float64 `json:"cpu_ms_per_op,omitempty"`
	CPUCores   float64 `json:"cpu_cores,omitempty"`
	CPUOf      string  `json:"-"`
	Ceiling    float64 `json:"vs_ceiling,omitempty"` // OpsPerSec / ceiling's, for hashing operations
	Exhausted  bool    `json:"exhausted,omitempty"`  // the prepared tokens ran out before D
	Note       string  `json:"note,omitempty"`
}

// summarize builds a result from the latencies of the successful
// operations and the error counts.
func summarize(op string, c int, elapsed time.Duration, lats []time.Duration, errKinds map[string]int) result {
	slices.Sort(lats)
	r := result{Op: op, C: c, Elapsed: elapsed, ElapsedS: elapsed.Seconds(), OK: len(lats), ErrKinds: errKinds}
	for _, n := range errKinds {
		r.Errors += n
	}
	if len(errKinds) == 0 {
		r.ErrKinds = nil
	}
	if elapsed > 0 {
		r.OpsPerSec = float64(len(lats)) / elapsed.Seconds()
	}
	if len(lats) > 0 {
		r.P50, r.P99, r.Max = percentile(lats, 50), percentile(lats, 99), lats[len(lats)-1]
	}
	r.P50ms, r.P99ms, r.MaxMs = ms(r.P50), ms(r.P99), ms(r.Max)
	return r
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// errExhausted is returned by an operation whose prepared tokens ran out:
// the worker stops, and the phase ends early.
var errExhausted = errors.New("usersbench: prepared tokens exhausted")

// opFunc runs one operation. nil is a success (for verify-garbage: the
// expected rejection); an error is counted under errKind(err).
type opFunc func(ctx context.Context) error

// kindError names the class of an error in the report.
type kindError struct {
	kind string
	err  error
}

func (e *kindError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

// errKind is the report's name for err's class: the kind of a kindError,
// else the text before the first colon-free detail, shortened.
func errKind(err error) string {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.kind
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// runPhase runs fn on c workers until d has passed (an operation in flight
// then finishes and counts) or the prepared tokens run out. The phase's
// elapsed time ends when the last worker stops.
func runPhase(ctx context.Context, op string, c int, d time.Duration, fn opFunc) result {
	var (
		wg        sync.WaitGroup
		lats      = make([][]time.Duration, c)
		kinds     = make([]map[string]int, c)
		exhausted atomic.Bool
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range c {
		kinds[w] = map[string]int{}
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil && !exhausted.Load() {
				t0 := time.Now()
				err := fn(ctx)
				dt := time.Since(t0)
				switch {
				case errors.Is(err, errExhausted):
					exhausted.Store(true)
					return
				case err != nil:
					kinds[w][errKind(err)]++
				default:
					lats[w] = append(lats[w], dt)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	merged := map[string]int{}
	for w := range c {
		all = append(all, lats[w]...)
		for k, n := range kinds[w] {
			merged[k] += n
		}
	}
	r := summarize(op, c, elapsed, all, merged)
	r.Exhausted = exhausted.Load()
	return r
}

// errKindsString formats error counts, most frequent first.
func errKindsString(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" ×"+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, "; ")
}
