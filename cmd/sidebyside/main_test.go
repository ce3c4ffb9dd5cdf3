package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeBench writes a shell script standing in for a usersbench binary in
// dir: -h lists flags (the old one lacks -burst), and a run appends its
// side and arguments to calls and prints a report whose rate is rate.
func fakeBench(t *testing.T, dir, side string, rate float64, calls string) {
	t.Helper()
	flags := "  -c int\n    \tconcurrency\n  -ceiling\n    \tceiling\n  -json\n    \tjson\n  -ops string\n    \tops\n"
	if side == "new" {
		flags += "  -burst int\n    \tburst\n"
	}
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1" = -h ]; then printf '%%s' '%s' >&2; exit 0; fi
echo "%s $*" >>%s
echo '{"results":[{"op":"verify","ok":10,"ops_per_s":%g,"p50_ms":1.5,"cpu_ms_per_op":0.25},{"op":"invite","ok":5,"errors":1,"ops_per_s":%g,"p50_ms":3}]}'
`, flags, side, calls, rate, rate/2)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "usersbench"), []byte(script), 0o755))
}

// Two sides run alternately (ABBA), each with the flags its usersbench
// knows, and the report gives each side's median and the ratio.
func TestRunAlternatesAndComparesMedians(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	fakeBench(t, filepath.Join(dir, "old"), "old", 100, calls)
	fakeBench(t, filepath.Join(dir, "new"), "new", 150, calls)

	cfg, err := parseArgs([]string{"-old-bin", filepath.Join(dir, "old"), "-new-bin", filepath.Join(dir, "new"), "-rounds", "3",
		"-dir", filepath.Join(dir, "work"), "-new-flags", "-c 4", "--", "-c", "8", "-burst", "5", "-ops", "verify,invite", "-ceiling=false"}, io.Discard)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))

	b, err := os.ReadFile(calls)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 6)
	var order []string
	for _, l := range lines {
		order = append(order, strings.Fields(l)[0])
	}
	assert.Equal(t, []string{"old", "new", "new", "old", "old", "new"}, order, "ABBA order")
	for _, l := range lines {
		if strings.HasPrefix(l, "old ") {
			assert.Equal(t, "old -json -c 8 -ops verify,invite -ceiling=false", l, "the flag the old side lacks is left out with its value")
		} else {
			assert.Equal(t, "new -json -c 8 -burst 5 -ops verify,invite -ceiling=false -c 4", l, "the new side's own flags come last")
		}
	}

	table := out.String()
	assert.Contains(t, table, "| verify | 100 [100-100] | 150 [150-150] | **1.50** [1.50-1.50] | 1.50 / 1.50 | 0.250 / 0.250 | 0 / 0 |")
	assert.Contains(t, table, "| invite | 50 [50-50] | 75 [75-75] | **1.50** [1.50-1.50] | 3.00 / 3.00 | - / - | 3 / 3 |")
	assert.Contains(t, table, "left out of the old side's runs (its usersbench does not know them): -burst")
	assert.Contains(t, table, "load average at start")
	assert.Contains(t, table, "new side only: -c 4")

	cfg.JSON = true
	out.Reset()
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))
	var sum summary
	require.NoError(t, json.Unmarshal(out.Bytes(), &sum))
	require.Len(t, sum.Ops, 2)
	assert.InDelta(t, 1.5, sum.Ops[0].Ratio, 1e-9)
	assert.Len(t, sum.Rounds, 6)
}

func TestSummarizeMediansAndPairs(t *testing.T) {
	t.Parallel()
	r := func(n int, side string, rate float64) round {
		return round{Round: n, Side: side, Results: []opResult{{Op: "verify", OpsPerSec: rate}}}
	}
	s := summarize([]round{r(1, "old", 100), r(1, "new", 50), r(2, "new", 90), r(2, "old", 200), r(3, "old", 300), r(3, "new", 240)})
	require.Len(t, s, 1)
	assert.Equal(t, 200.0, s[0].Old)
	assert.Equal(t, 90.0, s[0].New)
	assert.InDelta(t, 0.45, s[0].Ratio, 1e-9, "ratio of the medians")
	assert.InDelta(t, 0.45, s[0].RatioRange[0], 1e-9, "round 2: 90/200")
	assert.InDelta(t, 0.8, s[0].RatioRange[1], 1e-9, "round 3: 240/300")
	assert.Equal(t, 2.5, median([]float64{1, 2, 3, 4}))
}

func TestParseFlagUsageAndAdapt(t *testing.T) {
	t.Parallel()
	usage := "usage text\n  -argon2 string\n    \thasher (default \"65536,3,4\")\n  -c int\n    \tworkers\n  -ceiling\n    \tmeasure\n  -json\n    \tprint JSON\n"
	flags := parseFlagUsage(usage)
	assert.Equal(t, map[string]bool{"argon2": true, "c": true, "ceiling": false, "json": false}, flags)

	kept, dropped := adapt([]string{"-c", "8", "-json", "--burst=5", "-bursts", "2", "-ceiling=false", "-argon2", "fake"},
		flags, map[string]bool{"bursts": true, "burst": true})
	assert.Equal(t, []string{"-c", "8", "-json", "-ceiling=false", "-argon2", "fake"}, kept)
	assert.Equal(t, []string{"-burst", "-bursts"}, dropped)
}

func TestParseArgsRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ args, want string }{
		{"-rounds 0", "-rounds 0: must be at least 1"},
		{"-old=", "-old: name a revision"},
		{"-server-env A=1", "only apply with -http"},
		{"-http -server-env A", `environment setting "A": want K=V`},
		{"-- -json", "usersbench flag -json is set by sidebyside"},
		{"-http -- -maillog x", "usersbench flag -maillog is set by sidebyside"},
	} {
		_, err := parseArgs(strings.Fields(tc.args), io.Discard)
		assert.ErrorContains(t, err, tc.want, tc.args)
	}
	c, err := parseArgs(strings.Fields("-http -server-env A=1,B=2 -old-env C=3 -- -c 32"), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"A=1", "B=2"}, c.Env)
	assert.Equal(t, []string{"C=3"}, c.OldEnv)
	assert.Equal(t, []string{"-c", "32"}, c.Bench)
	assert.Equal(t, "33aeb80", c.Old)
}

// fakeServer writes a shell script standing in for examples/server in
// dir: it records its environment, logs the line the servers log when
// they listen, with the given address, and waits to be stopped.
func fakeServer(t *testing.T, dir, addr string) {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
env >server.env
echo 'time=x level=INFO msg="users server listening" addr=%s public_url=http://%s' >&2
exec sleep 60
`, addr, addr)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "server"), []byte(script), 0o755))
}

// Over HTTP, each side's server is started with the common environment
// and its own, and the new side's usersbench drives both, pointed at each
// server's URL, mail output and process.
func TestRunHTTPStartsBothServers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	for side, addr := range map[string]string{"old": "127.0.0.1:1111", "new": "127.0.0.1:2222"} {
		fakeBench(t, filepath.Join(dir, side), side, 100, calls)
		fakeServer(t, filepath.Join(dir, side), addr)
	}
	work := filepath.Join(dir, "work")
	cfg, err := parseArgs([]string{"-http", "-old-bin", filepath.Join(dir, "old"), "-new-bin", filepath.Join(dir, "new"), "-rounds", "1",
		"-dir", work, "-server-env", "HASH_TIME_COST=1", "-old-env", "OLD_ONLY=yes", "--", "-c", "32", "-ops", "invite"}, io.Discard)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))

	b, err := os.ReadFile(calls)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2)
	for i, addr := range []string{"127.0.0.1:1111", "127.0.0.1:2222"} {
		side := []string{"old", "new"}[i]
		assert.True(t, strings.HasPrefix(lines[i], "new -http http://"+addr+" -admin-token "), "the new client drives the %s server: %s", side, lines[i])
		assert.Contains(t, lines[i], "-maillog "+filepath.Join(work, side+"-server", "server.out"))
		assert.Contains(t, lines[i], " -pid ")
		assert.True(t, strings.HasSuffix(lines[i], "-json -c 32 -ops invite"), lines[i])
		env, err := os.ReadFile(filepath.Join(work, side+"-server", "server.env"))
		require.NoError(t, err)
		assert.Contains(t, string(env), "HASH_TIME_COST=1\n")
		assert.Contains(t, string(env), "RATE_LIMITER_REGISTRATION_ENABLED=false\n")
		assert.Contains(t, string(env), "DB_FILENAME="+filepath.Join(work, side+"-server", "users.db")+"\n", "a database of its own")
		assert.Equal(t, side == "old", strings.Contains(string(env), "OLD_ONLY=yes"), "%s: the old side's own setting", side)
	}
	assert.Contains(t, out.String(), "old server http://127.0.0.1:1111")
}
