package main

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

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
