// Command usersbench drives the users library's flows under load and
// reports, per operation, successful operations per second, p50/p99/max
// latency, errors and peak RSS, next to the hash-only ceiling: argon2id
// alone, at the same parameters and concurrency, for the same duration, in
// the same run. Hashing operations (register, accept, login) are shown as a
// fraction of that ceiling.
//
// In-process (the default), it builds a Manager on a memory, SQLite or
// PostgreSQL store and calls it from -c goroutines:
//
//	go run ./cmd/usersbench -store sqlite -argon2 65536,3,4 -c 8 -d 10s -ops register
//	go run ./cmd/usersbench -store pg -dsn postgres://postgres@127.0.0.1:5432/test -ops all
//
// With -http it drives a running server in Directus's wire format
// (POST /users/register, GET /users/register/verify-email?token=,
// POST /users/invite with "Authorization: Bearer <-admin-token>",
// POST /users/invite/accept, POST /auth/login):
//
//	ADMIN_TOKEN=… RATE_LIMITER_REGISTRATION_ENABLED=false go run ./examples/server >server.out &
//	go run ./cmd/usersbench -http http://127.0.0.1:8055 -admin-token … -maillog server.out -pid $!
//
// # Operations
//
//	register        Register a new address (one hash, token, mail, write)
//	verify          VerifyEmail with a valid token (no hash; lookups + one write)
//	verify-garbage  VerifyEmail with well-formed tokens that were never issued
//	invite          Invite one new address (token, mail, write; no hash)
//	accept          AcceptInvite with a valid token (one hash + one write)
//	login           Authenticate an active user (one verify)
//
// Over HTTP only (not in "all"):
//
//	list            GET /users?limit=50 as an administrator, on a server holding
//	                -list-users users (the tool creates the missing ones first)
//	me              GET /users/me with a user's access token (the Bearer path)
//
// Tokens are single-use, so verify and accept run on tokens prepared before
// the timed phase: a short calibration run estimates the rate, and enough
// tokens for -d at that rate (plus a margin, at most -maxpool) are made by a
// second Manager with a fast hasher whose store hands the tool the token
// of each mail it writes. If they run out early the phase ends there and
// the report says so; its rate is over the time it actually ran.
//
// Over HTTP the server mails the tokens, so the tool reads them from the
// server's mail: -maillog names the file examples/server's stdout (its log
// mailer) goes to, or -db names the server's SQLite file, whose outbox
// holds a mail's body only until it is delivered (the server's worker
// delivers at once, so -db finds tokens only when delivery is slow or
// failing). Without either, verify and accept cannot run over HTTP.
// Preparing verify tokens over HTTP costs one registration each, hashed at
// the server's parameters: start the server with cheap ones
// (HASH_MEMORY_COST=8 HASH_TIME_COST=1 HASH_PARALLELISM=1) to measure
// verify, which does not hash.
//
// # Other modes
//
// Each replaces the operation phases.
//
// -count-statements counts, below the store (a database/sql driver
// wrapper for SQLite and MySQL, a pgx tracer for PostgreSQL), the SQL
// statements and the rows they write per operation of register, verify,
// invite, accept, login, refresh, reset-request, reset and deliver (per
// mail), run -count-n times one at a time with the fake hasher after an
// uncounted setup; -v lists each statement:
//
//	go run ./cmd/usersbench -count-statements -store sqlite -v
//
// -refusals starts a server process (this program again) serving the
// httpapi handler and a bare net/http handler that replays, for each
// refusal path, the status, headers and body the httpapi handler gave at
// start: a well-formed but never issued verify, accept or reset token, a
// body that is not JSON, an admin route without credentials, and GET
// /server/ping. It drives both alternately with the same client (-c, 32
// by default) for -rounds rounds of -d per path and handler, and reports
// each path's rate and p50/p99 on both and their ratio; -flood on adds a
// hashing flood (-flood-c clients registering back to back at -argon2)
// against the httpapi handler, and reports each path's rate against its
// rate without the flood; -procs runs the server process at
// examples/server's GOMAXPROCS default (adaptive: NumCPU, raised to
// HASH_PARALLELISM × NumCPU + NumCPU while hashing is contended), at that
// raised value fixed (server) and at Go's (go: NumCPU):
//
//	go run ./cmd/usersbench -refusals -argon2 directus -d 5s -rounds 3
//
// -soak, with -http, offers -soak-n registrations over -soak-d to a
// server along a launch curve (launchCurve: a ramp, a peak, a tail and
// three bursts sent at once), open loop, and reports per -soak-step
// served, shed (503 with Retry-After), p50/p99 of each, the server's RSS
// (-pid) and its outbox backlog (GET /server/health as an administrator);
// then waits for the outbox to drain and checks, from the server's mail
// output (-maillog), that every served registration got exactly one mail
// and that its link verifies the address, and that no shed one got mail;
// finally it measures the hash ceiling (argon2id alone at -argon2, NumCPU
// goroutines) for -soak-d. -plot DIR writes its throughput, latency, RSS
// and backlog over time as PNGs; -replot FILE redraws a saved -json
// report:
//
//	go run ./cmd/usersbench -soak -http http://127.0.0.1:8055 -admin-token … -maillog server.out -pid … -plot docs/bench
//
// cmd/sidebyside runs this tool of an older commit and of this checkout
// alternately.
//
// # Peak RSS
//
// Before each phase the tool frees what it can (runtime.GC,
// debug.FreeOSMemory) and resets the kernel's high-water mark (writing 5 to
// /proc/<pid>/clear_refs); after it, it reads VmHWM from /proc/<pid>/status.
// In-process that is this process; over HTTP, the server's, given -pid.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/gousers/users/internal/hashworker"
)

func main() {
	if code := hashworker.Main(); code >= 0 { // a -refusals server's hashing child
		os.Exit(code)
	}
	if spec := os.Getenv(refusalServerEnv); spec != "" {
		os.Exit(refusalServerMain(spec))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseArgs(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "usersbench:", err)
		os.Exit(2)
	}
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "usersbench:", err)
		os.Exit(1)
	}
}

// driver runs operations against a Manager in this process or a server
// over HTTP.
type driver interface {
	// describe names the store (or server) for the report.
	describe() string
	// prepare readies op for about n operations (tokens for verify and
	// accept, users for login), untimed, and returns the function a worker
	// calls once per operation.
	prepare(ctx context.Context, op string, n, c int) (opFunc, error)
	// settle finishes the background work earlier phases left (the
	// mail they queued), so that it does not run during the next phase.
	settle(ctx context.Context) error
	close() error
}

// needsTokens says which operations consume prepared tokens.
var needsTokens = map[string]bool{opVerify: true, opAccept: true}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	switch {
	case cfg.Count:
		return runCount(ctx, cfg, stdout)
	case cfg.Refusals:
		return runRefusals(ctx, cfg, stdout, stderr)
	case cfg.Soak:
		return runSoak(ctx, cfg, stdout, stderr)
	case cfg.Replot != "":
		return replot(cfg.Replot, cfg.Plot, stdout)
	}
	var (
		d   driver
		err error
	)
	if cfg.HTTP != "" {
		d, err = newHTTPDriver(ctx, cfg)
	} else {
		d, err = newInproc(ctx, cfg, stderr)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := d.close(); err != nil {
			fmt.Fprintln(stderr, "usersbench: close:", err)
		}
	}()

	rep := &report{
		Started: time.Now().UTC().Truncate(time.Second),
		Machine: thisMachine(),
		Mode:    "in-process",
		Store:   d.describe(),
		Hasher:  cfg.Argon2.String(),
		C:       cfg.C,
		D:       cfg.D.String(),
		Deliver: cfg.Deliver && cfg.HTTP == "",
	}
	if cfg.HTTP != "" {
		rep.Mode = "http"
	} else if cfg.HashLimit != (hashLimit{}) {
		rep.HashGate = fmt.Sprintf("%d,%d", cfg.HashLimit.Limit, cfg.HashLimit.Queue)
	} else {
		rep.HashGate = fmt.Sprintf("default (%d,1024)", runtime.NumCPU())
	}
	rep.Machine.LoadBefore = loadAvg()
	prof, err := newProfiler(cfg.CPUProfile, len(cfg.Ops))
	if err != nil {
		return err
	}
	defer prof.stop()
	self := newPeakRSS(0)
	target := self
	rssOf := "usersbench"
	if cfg.HTTP != "" {
		target, rssOf = nil, ""
		if cfg.PID > 0 {
			target, rssOf = newPeakRSS(cfg.PID), "server"
		}
	}
	progress := func(format string, a ...any) {
		if !cfg.JSON {
			fmt.Fprintf(stderr, "usersbench: "+format+"\n", a...)
		}
	}

	for _, op := range cfg.Ops {
		if hashesPerOp[op] && cfg.Ceiling && rep.Ceiling == nil {
			progress("hash-only ceiling: argon2id %s, c=%d, %s", cfg.Argon2, cfg.C, cfg.D)
			r := measure(ctx, self, "hash ceiling", cfg.C, cfg.D, ceilingOp(cfg))
			r.RSSOf = "usersbench"
			rep.Ceiling = &r
		}
		n := 0
		if needsTokens[op] {
			if n, err = calibrate(ctx, d, op, cfg, progress); err != nil {
				return err
			}
		}
		if n > 0 {
			progress("%s: preparing %d tokens", op, n)
		} else {
			progress("%s: preparing", op)
		}
		fn, err := d.prepare(ctx, op, n, cfg.C)
		if err != nil {
			return fmt.Errorf("%s: prepare: %w", op, err)
		}
		if err := d.settle(ctx); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		progress("%s: c=%d for %s", op, cfg.C, cfg.D)
		if err := prof.start(op); err != nil {
			return err
		}
		r := measure(ctx, target, op, cfg.C, cfg.D, fn)
		if err := prof.stop(); err != nil {
			return err
		}
		if r.PeakRSS > 0 {
			r.RSSOf = rssOf
		}
		if hashesPerOp[op] && rep.Ceiling != nil && rep.Ceiling.OpsPerSec > 0 {
			r.Ceiling = r.OpsPerSec / rep.Ceiling.OpsPerSec
		}
		rep.Results = append(rep.Results, r)
		if err := ctx.Err(); err != nil {
			break
		}
	}
	if cfg.Burst > 0 && ctx.Err() == nil {
		if err := runBursts(ctx, d, cfg, rep, self, target, progress); err != nil {
			return err
		}
	}
	rep.Machine.LoadAfter = loadAvg()
	if cfg.JSON {
		return rep.writeJSON(stdout)
	}
	return rep.writeTable(stdout)
}

// profiler writes a CPU profile of each timed operation phase: to path
// when the run has one operation, else to path with the operation's name
// before the extension (cpu.prof → cpu.register.prof).
type profiler struct {
	path string
	many bool
	f    *os.File
}

func newProfiler(path string, ops int) (*profiler, error) {
	p := &profiler{path: path, many: ops > 1}
	if path == "" {
		return p, nil
	}
	// Fail now rather than after a long run.
	f, err := os.Create(p.file("check"))
	if err != nil {
		return nil, err
	}
	f.Close()
	if p.many {
		return p, os.Remove(f.Name())
	}
	return p, nil
}

func (p *profiler) file(op string) string {
	if !p.many {
		return p.path
	}
	ext := filepath.Ext(p.path)
	return strings.TrimSuffix(p.path, ext) + "." + op + ext
}

func (p *profiler) start(op string) error {
	if p.path == "" {
		return nil
	}
	f, err := os.Create(p.file(op))
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.f = f
	return nil
}

func (p *profiler) stop() error {
	if p.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	return err
}

// measure runs one timed phase with the process's memory settled first
// and reads the peak RSS of rss's process (nil: none) over the phase.
func measure(ctx context.Context, rss *peakRSS, op string, c int, d time.Duration, fn opFunc) result {
	runtime.GC()
	debug.FreeOSMemory()
	reset := rss != nil && rss.reset()
	cpu0 := rss.cpu()
	r := runPhase(ctx, op, c, d, fn)
	if cpu1 := rss.cpu(); cpu0 >= 0 && cpu1 >= cpu0 {
		cpu := cpu1 - cpu0
		r.CPUCores = cpu.Seconds() / r.Elapsed.Seconds()
		if r.OK > 0 {
			r.CPUPerOpMs = float64(cpu.Microseconds()) / 1000 / float64(r.OK)
		}
		r.CPUOf = r.RSSOf
	}
	if reset {
		r.PeakRSS = rss.read()
	} else if rss != nil {
		r.Note = "peak RSS unavailable (cannot reset /proc/<pid>/clear_refs)"
	}
	return r
}

// ceilingOp hashes the password with the run's hasher: what a hashing flow
// would cost if the library added nothing.
func ceilingOp(cfg config) opFunc {
	h := cfg.Argon2.hasher()
	return func(context.Context) error {
		_, err := h.Hash(cfg.Password)
		return err
	}
}

// calibrate estimates how many tokens op needs for a phase of cfg.D: it
// prepares a batch, runs op on it for a fraction of D, and scales the
// rate it saw, doubled: the rate of a short run on a fresh pool is a rough
// guess (SQLite's varies by 2-3× from run to run on the reference machine),
// and running out early shortens the phase.
func calibrate(ctx context.Context, d driver, op string, cfg config, progress func(string, ...any)) (int, error) {
	k := min(max(1024, 32*cfg.C), cfg.MaxPool)
	progress("%s: calibrating on %d tokens", op, k)
	fn, err := d.prepare(ctx, op, k, cfg.C)
	if err != nil {
		return 0, fmt.Errorf("%s: calibrate: %w", op, err)
	}
	if err := d.settle(ctx); err != nil {
		return 0, err
	}
	// A fifth of the phase, longer (up to 2 s) while no operation has
	// finished in it: a short phase on a loaded machine may see none.
	var r result
	for w := min(cfg.D/5, 2*time.Second); ; w = min(4*w, 2*time.Second) {
		if r = runPhase(ctx, op, cfg.C, w, fn); r.OK > 0 || len(r.ErrKinds) > 0 || w >= 2*time.Second || ctx.Err() != nil {
			break
		}
	}
	if r.OK == 0 {
		return 0, fmt.Errorf("%s: calibrate: no operation succeeded (%s)", op, errKindsString(r.ErrKinds))
	}
	n := int(r.OpsPerSec*cfg.D.Seconds()*2) + 4*cfg.C
	return min(n, cfg.MaxPool), nil
}

// runBursts measures the hash ceiling (if the run has none yet) and sends
// cfg.Bursts bursts of cfg.Burst registrations.
func runBursts(ctx context.Context, d driver, cfg config, rep *report, self, target *peakRSS, progress func(string, ...any)) error {
	hd, ok := d.(*httpDriver)
	if !ok {
		return errors.New("-burst needs -http")
	}
	if cfg.AdminToken == "" {
		return errors.New("-burst needs -admin-token (to open registration)")
	}
	if cfg.Ceiling && rep.Ceiling == nil {
		progress("hash-only ceiling: argon2id %s, c=%d, %s", cfg.Argon2, cfg.C, cfg.D)
		r := measure(ctx, self, "hash ceiling", cfg.C, cfg.D, ceilingOp(cfg))
		r.RSSOf = "usersbench"
		rep.Ceiling = &r
	}
	for i := range cfg.Bursts {
		runtime.GC()
		debug.FreeOSMemory()
		progress("burst %d of %d: %d registrations at once", i+1, cfg.Bursts, cfg.Burst)
		reset := target != nil && target.reset()
		b, err := hd.burst(ctx, cfg.Burst)
		if err != nil {
			return err
		}
		if reset {
			b.PeakRSS = target.read()
		}
		if rep.Ceiling != nil {
			b.Target = math.Round(0.8*rep.Ceiling.OpsPerSec*5*10) / 10
		}
		rep.Bursts = append(rep.Bursts, b)
	}
	return nil
}
