// Command sidebyside measures this checkout against an older commit in one
// run: it builds cmd/usersbench (and, with -http, examples/server) of both
// from git, runs the two alternately with the same flags for -rounds
// rounds, and reports each operation's median rate on either side and the
// ratio new/old, with the load average at the start and end. A machine
// whose speed drifts over minutes (a shared one does) moves both sides
// alike, so the ratio holds where absolute rates do not.
//
// In process, each side's own usersbench runs the flows on its own
// library (every flag after -- goes to both):
//
//	go run ./cmd/sidebyside -old 33aeb80 -rounds 5 -- -store sqlite -argon2 fake -c 8 -d 5s -ops verify,invite,accept -ceiling=false
//
// Over HTTP (-http), the examples/server of each side is started beside
// the other on a port of its own, each with its own SQLite file, and
// today's usersbench drives both, one after the other, so that only the
// server differs:
//
//	go run ./cmd/sidebyside -old 33aeb80 -http -rounds 5 -server-env HASH_MEMORY_COST=8,HASH_TIME_COST=1,HASH_PARALLELISM=1 \
//	    -- -argon2 8,1,1 -c 32 -d 5s -ops invite -ceiling=false
//
// # What runs
//
// The old side is built from a detached git worktree of -old in a
// temporary directory; the new side from this checkout as it is (its
// uncommitted changes included), or from a worktree of -new when given.
// Round i runs old then new when i is odd, new then old when it is even
// (ABBA), so that a steady drift favours neither side.
//
// The two usersbench binaries need not have the same flags: each is asked
// for its flags (-h) and a flag it does not know is left out of its runs,
// which the report says. -old-flags and -new-flags add flags for one side
// (over HTTP: for the client driving that side's server), so that one run
// can measure a route only the new server has beside the old server's
// flows:
//
//	go run ./cmd/sidebyside -old 33aeb80 -http … -new-flags '-ops verify,list,me' -- -argon2 8,1,1 -c 8 -d 5s -ops verify -ceiling=false
//
// Servers are configured by environment variables:
// -server-env for both, -old-env and -new-env for one side (an old server
// may need settings the new one does not, or lack some).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseArgs(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(2)
	}
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	Old, New       string   // git revisions; New empty: the checkout as it is
	OldBin, NewBin string   // directories of prebuilt binaries (skip the build)
	Rounds         int      // alternations
	HTTP           bool     // run both servers and drive them with the new usersbench
	Env            []string // K=V for both servers
	OldEnv, NewEnv []string // K=V for one server
	AdminToken     string   // ADMIN_TOKEN given to both servers
	Dir            string   // work directory (builds, databases, logs); empty: temporary
	Keep           bool     // keep Dir
	JSON           bool
	Bench          []string // usersbench flags, for both sides
	// OldFlags and NewFlags are usersbench flags for one side, after the
	// common ones (a flag given again overrides: -new-flags "-ops
	// verify,list" runs list on the new side only).
	OldFlags, NewFlags []string
}

func parseArgs(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("sidebyside", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var c config
	var env, oldEnv, newEnv string
	fs.StringVar(&c.Old, "old", "33aeb80", "git revision of the old side")
	fs.StringVar(&c.New, "new", "", "git revision of the new side (default: this checkout, uncommitted changes included)")
	fs.StringVar(&c.OldBin, "old-bin", "", "directory holding the old side's usersbench (and server) already built: no build")
	fs.StringVar(&c.NewBin, "new-bin", "", "directory holding the new side's usersbench (and server) already built: no build")
	fs.IntVar(&c.Rounds, "rounds", 5, "rounds; each runs both sides once, in alternating order")
	fs.BoolVar(&c.HTTP, "http", false, "start each side's examples/server and drive both with the new side's usersbench")
	fs.StringVar(&env, "server-env", "", "with -http: comma-separated K=V for both servers")
	fs.StringVar(&oldEnv, "old-env", "", "with -http: comma-separated K=V for the old server only")
	fs.StringVar(&newEnv, "new-env", "", "with -http: comma-separated K=V for the new server only")
	fs.StringVar(&c.AdminToken, "admin-token", "sidebyside-admin-token-0123456789", "with -http: ADMIN_TOKEN of both servers")
	var oldFlags, newFlags string
	fs.StringVar(&oldFlags, "old-flags", "", "usersbench flags for the old side only (space-separated), after the common ones")
	fs.StringVar(&newFlags, "new-flags", "", "usersbench flags for the new side only (space-separated), after the common ones;\ne.g. -new-flags '-ops verify,list,me' measures routes the old server lacks in the same run")
	fs.StringVar(&c.Dir, "dir", "", "work directory for builds, databases and logs (default: a temporary one, removed)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the work directory")
	fs.BoolVar(&c.JSON, "json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	c.Bench = fs.Args()
	c.OldFlags, c.NewFlags = strings.Fields(oldFlags), strings.Fields(newFlags)
	c.Env, c.OldEnv, c.NewEnv = splitEnv(env), splitEnv(oldEnv), splitEnv(newEnv)
	switch {
	case c.Rounds < 1:
		return config{}, fmt.Errorf("-rounds %d: must be at least 1", c.Rounds)
	case c.Old == "" && c.OldBin == "":
		return config{}, errors.New("-old: name a revision (or -old-bin)")
	case !c.HTTP && (len(c.Env)+len(c.OldEnv)+len(c.NewEnv) > 0):
		return config{}, errors.New("-server-env, -old-env and -new-env only apply with -http")
	}
	for _, kv := range append(append(append([]string(nil), c.Env...), c.OldEnv...), c.NewEnv...) {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return config{}, fmt.Errorf("environment setting %q: want K=V", kv)
		}
	}
	for _, a := range append(append(append([]string(nil), c.Bench...), c.OldFlags...), c.NewFlags...) {
		switch name := flagName(a); name {
		case "json", "http", "admin-token", "maillog", "pid":
			if c.HTTP || name == "json" {
				return config{}, fmt.Errorf("usersbench flag -%s is set by sidebyside", name)
			}
		}
	}
	return c, nil
}

func splitEnv(s string) []string {
	var out []string
	for kv := range strings.SplitSeq(s, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			out = append(out, kv)
		}
	}
	return out
}

const usage = `sidebyside builds cmd/usersbench (and with -http examples/server) of an older
commit and of this checkout, runs both alternately with the same usersbench
flags (those after --), and reports per operation the median rate of each
side and the ratio new/old.

  sidebyside -old 33aeb80 -rounds 5 -- -store sqlite -argon2 fake -c 8 -d 5s -ops verify,invite,accept -ceiling=false
  sidebyside -old 33aeb80 -http -server-env HASH_MEMORY_COST=8,HASH_TIME_COST=1,HASH_PARALLELISM=1 \
      -- -argon2 8,1,1 -c 32 -d 5s -ops invite -ceiling=false

Flags:
`
