package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/store/memstore"
)

// The curve offers exactly n, in time order, within the run; 5% of n at
// each burst instant; and more in the peak than in the ramp's first
// tenth or the tail's last.
func TestLaunchCurve(t *testing.T) {
	t.Parallel()
	d := 10 * time.Minute
	times := launchCurve(10_000, d)
	require.Len(t, times, 10_000)
	assert.True(t, slicesSorted(times))
	assert.GreaterOrEqual(t, times[0], time.Duration(0))
	assert.Less(t, times[len(times)-1], d)
	at := map[time.Duration]int{}
	for _, x := range times {
		at[x]++
	}
	for _, b := range curveBursts {
		assert.Equal(t, 500, at[time.Duration(b*float64(d))], "burst at %.0f%%", 100*b)
	}
	count := func(from, to float64) int {
		n := 0
		for _, x := range times {
			if f := float64(x) / float64(d); f >= from && f < to && at[x] < 100 {
				n++
			}
		}
		return n
	}
	peak, rampStart, tailEnd := count(0.4, 0.45), count(0, 0.05), count(0.95, 1)
	assert.Greater(t, peak, 2*rampStart, "the ramp starts low")
	assert.Greater(t, peak, 2*tailEnd, "the tail falls to a third of the peak")
	assert.Greater(t, tailEnd, rampStart, "and stays above the ramp's start")
	assert.Equal(t, launchCurve(10_000, d), times, "deterministic")
	assert.Len(t, launchCurve(7, time.Second), 7)
}

func slicesSorted(xs []time.Duration) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i] < xs[i-1] {
			return false
		}
	}
	return true
}

// A short soak against the real handler, its mail written by the log
// mailer as examples/server's is: every registration is answered 204 or
// 503; every served one got exactly one mail and verifies; no shed one
// got mail; nothing is lost; the intervals add up; the plots are PNGs.
func TestSoakAgainstTheHandler(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mailLog := filepath.Join(dir, "mail.out")
	out, err := os.Create(mailLog)
	require.NoError(t, err)
	defer out.Close()
	lim := users.DefaultLimits()
	lim.HashConcurrency, lim.HashQueue, lim.HashWaitBudget, lim.Mail = 1, 1024, 50*time.Millisecond, nil
	m, err := users.New(memstore.New(), logmailer.New(out), users.WithHasher(slowHasher{d: 2 * time.Millisecond}),
		lim, users.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	go func() { _ = m.Run(t.Context()) }()
	srv := httptest.NewServer(httpapi.New(m, httpapi.WithAuthorizer(httpapi.BearerToken("admin-token-0123456789"))))
	t.Cleanup(srv.Close)

	plots := filepath.Join(dir, "plots")
	cfg, err := parseArgs([]string{"-soak", "-http", srv.URL, "-admin-token", "admin-token-0123456789", "-maillog", mailLog,
		"-pid", strconv.Itoa(os.Getpid()), "-soak-n", "300", "-soak-d", "2s", "-soak-step", "500ms", "-c", "4",
		"-argon2", "8,1,1", "-plot", plots, "-json"}, io.Discard)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &buf, io.Discard))
	var rep soakReport
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rep))

	require.Len(t, rep.Intervals, 4)
	offered := 0
	for _, iv := range rep.Intervals {
		offered += iv.Offered
		assert.Equal(t, iv.Offered, iv.Served+iv.Shed+iv.Other)
		assert.GreaterOrEqual(t, iv.Backlog, 0, "the backlog was read from the health report")
		assert.Positive(t, iv.RSSMiB)
	}
	assert.Equal(t, 300, offered)
	assert.Equal(t, 300, rep.Served+rep.Shed, "every registration served or shed: %v", rep.OtherKinds)
	assert.Positive(t, rep.Served)
	assert.Zero(t, rep.ShedNoRetry, "every shed answer says when to come back")
	c := rep.Checks
	assert.Equal(t, rep.Served, c.Served)
	assert.Zero(t, c.NoMail)
	assert.Zero(t, c.ExtraMail)
	assert.Zero(t, c.ShedMailed)
	assert.Equal(t, c.Served, c.Verified, "%v", c.VerifyFailed)
	assert.Zero(t, c.Lost)
	assert.Zero(t, c.DrainedBacklog)
	require.NotNil(t, rep.Ceiling, "the same-run hash ceiling")
	assert.Positive(t, rep.VsCeiling)

	for _, name := range []string{plotThroughput, plotLatency, plotRSS, plotBacklog} {
		b, err := os.ReadFile(filepath.Join(plots, name))
		require.NoError(t, err, name)
		assert.Equal(t, "\x89PNG", string(b[:4]), name)
	}
	// The JSON report plots again, alone.
	saved := filepath.Join(dir, "soak.json")
	require.NoError(t, os.WriteFile(saved, buf.Bytes(), 0o644))
	cfg, err = parseArgs([]string{"-replot", saved, "-plot", filepath.Join(dir, "again")}, io.Discard)
	require.NoError(t, err)
	require.NoError(t, run(t.Context(), cfg, io.Discard, io.Discard))
	_, err = os.Stat(filepath.Join(dir, "again", plotLatency))
	require.NoError(t, err)

	var table bytes.Buffer
	require.NoError(t, rep.write(&table))
	assert.Contains(t, table.String(), "zero lost")
}

// A server's RSS and CPU are its own and its descendants' (its hashing
// children): processTree finds a child, and vmRSS counts it.
func TestProcessTreeCountsChildren(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc")
	}
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	self := strconv.Itoa(os.Getpid())
	tree := processTree(self)
	assert.Equal(t, self, tree[0])
	assert.Contains(t, tree, strconv.Itoa(cmd.Process.Pid))
	own := newPeakRSS(0).read()
	require.Positive(t, own)
	assert.Greater(t, vmRSS(os.Getpid()), int64(0))
	assert.GreaterOrEqual(t, newPeakRSS(os.Getpid()).read(), own, "the tree's peak counts the process's own")
}
