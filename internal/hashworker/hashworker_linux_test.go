package hashworker

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every thread of every child runs at the test's nice value plus Nice —
// the threads the Go runtime started for the hashes' lanes too — while
// the calling process keeps its own.
func TestChildrenRunAtLowerPriority(t *testing.T) {
	t.Parallel()
	own := niceOf(t, os.Getpid())
	p := start(t, 2, 7)
	for range 4 { // lanes start goroutines, and the children threads
		_, err := p.Hash("x")
		require.NoError(t, err)
	}
	want := min(19, own[0]+7)
	for _, pid := range p.PIDs() {
		nices := niceOf(t, pid)
		require.Greater(t, len(nices), 1, "child %d's threads", pid)
		for _, n := range nices {
			assert.Equal(t, want, n, "a thread of child %d", pid)
		}
	}
	assert.Equal(t, own[0], niceOf(t, os.Getpid())[0], "the caller's priority")
}

// niceOf returns the nice values of a process's threads (field 19 of
// each /proc/<pid>/task/<tid>/stat, after the command name in
// parentheses).
func niceOf(t *testing.T, pid int) []int {
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
		f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		n, err := strconv.Atoi(string(f[16]))
		require.NoError(t, err)
		out = append(out, n)
	}
	return out
}
