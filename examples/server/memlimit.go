package main

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users/internal/hashprocs"
)

// The defaults in this file apply when the server hashes passwords in its
// own process (HASH_PROCESSES off). Hashing in child processes
// (internal/hashworker), the server holds no hash's memory and its
// requests need no extra processors: the kernel runs them before the
// children's lanes.

// hashMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// the server sets when GOMEMLIMIT is not: twice the memory the hashes
// allowed to run at once hold (one argon2id hash holds HASH_MEMORY_COST
// KiB, and HASH_CONCURRENCY run at a time, runtime.NumCPU() by default),
// plus 64 MiB for the rest. Without it the garbage collector lets the heap grow to twice
// what is live, and each finished hash leaves its memory as garbage while
// the next one allocates anew, so a flood of registrations at Directus's
// parameters (64 MiB per hash) peaked at over 400 MiB on 2 cores; with it,
// the collector runs sooner and the peak stays near the limit. It is a
// soft limit: the heap may exceed it when more is live.
func hashMemoryLimit(memoryKiB uint32, concurrency int) int64 {
	return 2*int64(concurrency)*int64(memoryKiB)<<10 + 64<<20
}

// setMemoryLimit applies hashMemoryLimit unless GOMEMLIMIT says otherwise,
// and returns the limit in force (math.MaxInt64: none).
func setMemoryLimit(getenv func(string) string) int64 {
	if strings.TrimSpace(getenv("GOMEMLIMIT")) != "" {
		return debug.SetMemoryLimit(-1) // the runtime read it at start
	}
	mem := uint64(19456) // the library's default, as loadConfig has it
	if v, err := strconv.ParseUint(strings.TrimSpace(getenv("HASH_MEMORY_COST")), 10, 32); err == nil && v > 0 {
		mem = v
	}
	conc := runtime.NumCPU()
	if v, err := strconv.Atoi(strings.TrimSpace(getenv("HASH_CONCURRENCY"))); err == nil && v > 0 {
		conc = v
	}
	limit := hashMemoryLimit(uint32(mem), conc)
	debug.SetMemoryLimit(limit)
	return limit
}

// hashProcs is the GOMAXPROCS the server raises to while hashing is
// contended (see internal/hashprocs): one processor per argon2id lane of
// the hashes allowed to run at once (HASH_PARALLELISM × HASH_CONCURRENCY),
// plus one per core for everything else. With only one per core (Go's
// default), a flood of registrations fills every processor with hashing
// lanes, and the requests that need no hash — the flood's own shed
// answers (503 at once), a login's refusal, a health check — wait behind
// them: 500 ms at the 99th percentile for a shed answer at Directus's
// parameters on 2 cores, against 20-45 ms with this. Kept all the time it
// cost the cheapest routes up to a fifth of their throughput on a quiet
// machine (verify-email with garbage tokens, 32 clients: 20,200 against
// 16,600 requests/s), so the server runs at one processor per core and
// raises GOMAXPROCS only while a hash waits for its slot (10 ms or more:
// hashprocs.MinWait) or is shed,
// lowering it 2 s after the last.
func hashProcs(parallelism, concurrency, cores int) int {
	return max(cores, parallelism*concurrency+cores)
}

// procsIdle is how long after the last contended hash the server lowers
// GOMAXPROCS back to the cores.
const procsIdle = 2 * time.Second

// setProcs returns the Adaptive that switches GOMAXPROCS between the cores
// and hashProcs, or nil when GOMAXPROCS is set (the runtime read it at
// start, and the server leaves it alone).
func setProcs(getenv func(string) string) *hashprocs.Adaptive {
	if strings.TrimSpace(getenv("GOMAXPROCS")) != "" {
		return nil
	}
	par := 1 // the library's default, as loadConfig has it
	if v, err := strconv.Atoi(strings.TrimSpace(getenv("HASH_PARALLELISM"))); err == nil && v > 0 && v < 256 {
		par = v
	}
	conc := runtime.NumCPU()
	if v, err := strconv.Atoi(strings.TrimSpace(getenv("HASH_CONCURRENCY"))); err == nil && v > 0 && v < 1<<16 {
		conc = v
	}
	return hashprocs.New(runtime.NumCPU(), hashProcs(par, conc, runtime.NumCPU()), procsIdle)
}
