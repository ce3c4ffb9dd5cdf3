package main

import (
	"bytes"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// HASH_PROCESSES=auto hashes in child processes on Linux when a hash is
// costly (memory × passes), in the server for cheap hashes, where a round
// trip to another process costs more than the hash.
func TestHashProcessesChoice(t *testing.T) {
	t.Parallel()
	linux := runtime.GOOS == "linux"
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, linux}, // the library's default: 19456 KiB × 2
		{map[string]string{"HASH_MEMORY_COST": "65536", "HASH_TIME_COST": "3", "HASH_PARALLELISM": "4"}, linux},
		{map[string]string{"HASH_MEMORY_COST": "8", "HASH_TIME_COST": "1"}, false},
		{map[string]string{"HASH_MEMORY_COST": "8192", "HASH_TIME_COST": "2"}, linux}, // 16384: the least
		{map[string]string{"HASH_MEMORY_COST": "8191", "HASH_TIME_COST": "2"}, false},
		{map[string]string{"HASH_MEMORY_COST": "8", "HASH_TIME_COST": "1", "HASH_PROCESSES": "true"}, true},
		{map[string]string{"HASH_PROCESSES": "FALSE"}, false},
	} {
		cfg, err := loadConfig(func(k string) string { return c.env[k] })
		require.NoError(t, err)
		assert.Equal(t, c.want, cfg.hashInChildren(), "%v", c.env)
	}
	for _, bad := range []map[string]string{{"HASH_PROCESSES": "yes"}, {"HASH_NICE": "20"}, {"HASH_NICE": "-1"}} {
		_, err := loadConfig(func(k string) string { return bad[k] })
		assert.Error(t, err, "%v", bad)
	}
}

// childPIDs reads the hashing children's process ids from the server's
// start-up log line.
func childPIDs(t *testing.T, s *server) []int {
	t.Helper()
	m := regexp.MustCompile(`msg="hashing passwords in child processes".* pids="?\[([0-9 ]*)\]`).FindStringSubmatch(s.logs.String())
	require.NotNil(t, m, "the start-up log names the hashing children: %s", s.logs.String())
	var pids []int
	for f := range strings.FieldsSeq(m[1]) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	return pids
}

// threadNices returns the nice values of a process's threads (field 19 of
// /proc/<pid>/task/<tid>/stat, after the command name in parentheses).
func threadNices(t *testing.T, pid int) []int {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []int
	for _, task := range tasks {
		b, err := os.ReadFile(dir + "/" + task.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		n, err := strconv.Atoi(string(bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])[16]))
		require.NoError(t, err)
		out = append(out, n)
	}
	return out
}

// With HASH_PROCESSES the server starts HASH_CONCURRENCY children whose
// every thread runs HASH_NICE below the server; registration, verification
// and login work with the hashes they make; the children stop with the
// server.
func TestHashingInChildProcesses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("per-thread priorities: Linux only")
	}
	t.Parallel()
	s := startServer(t, map[string]string{"HASH_PROCESSES": "true", "HASH_NICE": "5", "HASH_CONCURRENCY": "2",
		"HASH_PARALLELISM": "2", "RATE_LIMITER_REGISTRATION_ENABLED": "false"})
	pids := childPIDs(t, s)
	require.Len(t, pids, 2)
	own := threadNices(t, os.Getpid())
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	status, _, body := s.call("POST", "/users/register", map[string]any{"email": "kid@example.com", "password": "correct horse battery",
		"verification_url": "https://app.example.com/verify"}, false)
	require.Equal(t, 204, status, "%s", body)
	_, token := linkToken(t, s.mailTo("kid@example.com", 1), "https://app.example.com/verify?")
	status, _, body = s.call("GET", "/users/register/verify-email?token="+token, nil, false)
	require.Equal(t, 204, status, "%s", body)
	data := s.ok("POST", "/auth/login", map[string]any{"email": "kid@example.com", "password": "correct horse battery"}, false)
	assert.NotEmpty(t, data["access_token"])
	status, _, _ = s.call("POST", "/auth/login", map[string]any{"email": "kid@example.com", "password": "wrong horse battery"}, false)
	assert.Equal(t, 401, status)

	for _, pid := range pids {
		nices := threadNices(t, pid)
		require.NotEmpty(t, nices)
		for _, n := range nices {
			assert.Equal(t, min(19, own[0]+5), n, "a thread of hashing child %d", pid)
		}
	}
	assert.Equal(t, own, threadNices(t, os.Getpid())[:len(own)], "the server's own threads keep their priority")
	require.NoError(t, s.stop())
	for _, pid := range pids {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "hashing child %d outlived the server", pid)
	}
}

// A registration refused by a full hashing gate (503 with Retry-After) is
// answered while the hash that fills the gate still runs: the refusal
// never waits for a hash.
func TestShedAnswerDoesNotWaitForTheHash(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("per-thread priorities: Linux only")
	}
	t.Parallel()
	// One slot, no queue, and a hash that takes a good fraction of a
	// second (64 MiB, 6 passes).
	s := startServer(t, map[string]string{"HASH_PROCESSES": "true", "HASH_CONCURRENCY": "1", "HASH_QUEUE": "0",
		"HASH_MEMORY_COST": "65536", "HASH_TIME_COST": "6", "METRICS_ENABLED": "true", "RATE_LIMITER_REGISTRATION_ENABLED": "false"})
	s.ok("PATCH", "/settings", map[string]any{"public_registration": true}, true)
	first := make(chan int, 1)
	go func() {
		status, _, _ := s.call("POST", "/users/register", map[string]any{"email": "first@example.com", "password": "correct horse battery"}, false)
		first <- status
	}()
	// Until the first registration holds the slot.
	for {
		_, _, body := s.call("GET", "/metrics", nil, true)
		if bytes.Contains(body, []byte("\nusers_hash_running 1\n")) {
			break
		}
		select {
		case status := <-first:
			t.Fatalf("the first registration answered %d before its hash was seen running", status)
		case <-time.After(time.Millisecond):
		}
	}
	status, header, body := s.call("POST", "/users/register", map[string]any{"email": "second@example.com", "password": "correct horse battery"}, false)
	require.Equal(t, 503, status, "%s", body)
	assert.NotEmpty(t, header.Get("Retry-After"))
	select {
	case status := <-first:
		t.Fatalf("the refusal came after the hash it was refused for (first answered %d)", status)
	default:
	}
	assert.Equal(t, 204, <-first)
}
