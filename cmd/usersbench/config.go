package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/userstest"
)

// Operations the tool knows, in the order it runs them.
const (
	opRegister      = "register"
	opVerify        = "verify"
	opVerifyGarbage = "verify-garbage"
	opInvite        = "invite"
	opAccept        = "accept"
	opLogin         = "login"
)

var allOps = []string{opRegister, opVerify, opVerifyGarbage, opInvite, opAccept, opLogin}

// Operations over HTTP only, not in "all": they measure the server's
// routes rather than a flow of the library.
const (
	opList = "list" // GET /users?limit=50 (admin), on a server holding -list-users users
	opMe   = "me"   // GET /users/me with a user's access token (Bearer)
)

var httpOnlyOps = []string{opList, opMe}

// hashesPerOp says which operations do one password hash (or verify) each,
// and so are compared with the hash-only ceiling.
var hashesPerOp = map[string]bool{opRegister: true, opAccept: true, opLogin: true}

// config is the parsed command line.
type config struct {
	Store      string        // memory, sqlite, pg or mysql (in-process only)
	DSN        string        // PostgreSQL or MySQL DSN, with Store pg or mysql
	DB         string        // SQLite file: the store's (in-process) or the server's (HTTP)
	Argon2     argon2Params  // the hasher
	C          int           // concurrency: workers per operation
	D          time.Duration // duration of each timed phase
	Ops        []string      // in run order
	HTTP       string        // base URL of a running server; empty: in-process
	AdminToken string        // bearer token for the server's admin routes
	MailLog    string        // the server's mail output, read for tokens (HTTP)
	PID        int           // the server's process id, for its peak RSS (HTTP)
	JSON       bool          // machine-readable output
	Password   string        // every user's password
	Deliver    bool          // run the Manager's delivery worker (in-process)
	HashLimit  hashLimit     // Limits.HashConcurrency; zero: the library's default
	Ceiling    bool          // measure the hash-only ceiling
	MaxPool    int           // cap on the tokens prepared for verify and accept
	Keep       bool          // keep the SQLite file or PostgreSQL schema
	CPUProfile string        // write a CPU profile of the timed phases here
	Burst      int           // with HTTP: registrations sent at once (0: no burst)
	Bursts     int           // how many bursts, one after the other
	ListUsers  int           // -ops list: users the server holds (made when fewer)

	Count   bool // -count-statements: statements and rows written per flow
	CountN  int  // operations per flow counted
	Verbose bool // print each statement

	Refusals bool     // -refusals: refusal paths against a bare handler
	Rounds   int      // -refusals: alternations of each pair of phases
	FloodC   int      // -refusals: concurrent registrations of the hashing flood
	Floods   []bool   // -refusals: without and/or with the flood
	Procs    []string // -refusals: conditions of the server process ("adaptive", "server", "go", "children")

	Soak     bool          // -soak: the launch curve against a server
	SoakN    int           // registrations offered
	SoakD    time.Duration // over this long
	SoakStep time.Duration // report interval
	Plot     string        // directory the soak's PNGs are written to
	Replot   string        // a soak's JSON report to plot (no run)
}

// argon2Params is the -argon2 flag: argon2id parameters, or the fake
// (userstest.Hasher) hasher.
type argon2Params struct {
	Fake    bool
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// directusArgon2 is what Directus (node argon2) uses.
var directusArgon2 = argon2Params{Memory: 65536, Time: 3, Threads: 4}

func (p argon2Params) String() string {
	if p.Fake {
		return "fake"
	}
	return fmt.Sprintf("%d,%d,%d", p.Memory, p.Time, p.Threads)
}

// hasher returns the users.Hasher p names.
func (p argon2Params) hasher() users.Hasher {
	if p.Fake {
		return userstest.Hasher{}
	}
	return &users.Argon2id{Memory: p.Memory, Time: p.Time, Threads: p.Threads, SaltLen: 16, KeyLen: 32}
}

// parseArgon2 reads "m,t,p" (memory KiB, iterations, parallelism), "fake",
// "default" (the library's default) or "directus".
func parseArgon2(s string) (argon2Params, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "fake":
		return argon2Params{Fake: true}, nil
	case "directus":
		return directusArgon2, nil
	case "default":
		return argon2Params{Memory: 19456, Time: 2, Threads: 1}, nil // users.Argon2id{}'s, as documented
	}
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return argon2Params{}, fmt.Errorf("-argon2 %q: want m,t,p (e.g. 65536,3,4), fake, default or directus", s)
	}
	var n [3]uint64
	for i, part := range parts {
		v, err := strconv.ParseUint(strings.TrimSpace(part), 10, 32)
		if err != nil || v == 0 {
			return argon2Params{}, fmt.Errorf("-argon2 %q: %q is not a positive integer", s, part)
		}
		n[i] = v
	}
	if n[2] > 255 {
		return argon2Params{}, fmt.Errorf("-argon2 %q: parallelism must be at most 255", s)
	}
	p := argon2Params{Memory: uint32(n[0]), Time: uint32(n[1]), Threads: uint8(n[2])}
	// The library's limits (hash.go); it checks them again when the Manager
	// is built.
	if p.Memory < 8*uint32(p.Threads) || p.Memory > 4<<20 || p.Time > 1024 {
		return argon2Params{}, fmt.Errorf("-argon2 %q: need 8*p <= m <= %d KiB and t <= 1024", s, 4<<20)
	}
	return p, nil
}

// parseOps reads a comma-separated list of operations; "all" is every one.
// The result is in the tool's run order, without duplicates.
func parseOps(s string) ([]string, error) {
	want := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch {
		case f == "":
			continue
		case f == "all":
			for _, op := range allOps {
				want[op] = true
			}
		case f == "garbage" || f == "verify_garbage":
			want[opVerifyGarbage] = true
		default:
			known := false
			for _, op := range append(allOps, httpOnlyOps...) {
				if f == op {
					known = true
				}
			}
			if !known {
				return nil, fmt.Errorf("-ops: unknown operation %q (know %s)", f, strings.Join(append(allOps, httpOnlyOps...), ", "))
			}
			want[f] = true
		}
	}
	var out []string
	for _, op := range append(allOps, httpOnlyOps...) {
		if want[op] {
			out = append(out, op)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("-ops: no operation given")
	}
	return out, nil
}

// hashLimit is the -hashlimit flag: "limit,queue" for
// users.Limits.HashConcurrency, or "" for the library's default.
type hashLimit struct{ Limit, Queue int }

func parseHashLimit(s string) (hashLimit, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "default" {
		return hashLimit{}, nil
	}
	l, q, ok := strings.Cut(s, ",")
	limit, err1 := strconv.Atoi(strings.TrimSpace(l))
	queue, err2 := strconv.Atoi(strings.TrimSpace(q))
	if !ok || err1 != nil || err2 != nil || limit < 1 || queue < 0 {
		return hashLimit{}, fmt.Errorf("-hashlimit %q: want limit,queue with limit >= 1 and queue >= 0", s)
	}
	return hashLimit{Limit: limit, Queue: queue}, nil
}

// parseArgs parses the command line. Usage and errors go to stderr.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("usersbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var (
		c                             config
		argon2, ops, hashlim, mailLog string
	)
	fs.StringVar(&c.Store, "store", "sqlite", "in-process store: memory, sqlite, pg or mysql (pg and mysql need -dsn)")
	fs.StringVar(&c.DSN, "dsn", "", "PostgreSQL DSN for -store pg (a fresh schema is created and dropped), or\nMySQL/MariaDB DSN for -store mysql, e.g. root@tcp(127.0.0.1:3306)/ (a fresh database is created and dropped)")
	fs.StringVar(&c.DB, "db", "", "SQLite file: in-process, the store's file (default: a temporary file, removed);\nwith -http, the server's DB_FILENAME, read for links still in the outbox")
	fs.StringVar(&argon2, "argon2", directusArgon2.String(), "hasher: argon2id m,t,p (KiB, iterations, parallelism), default (the library's), directus, or fake")
	fs.IntVar(&c.C, "c", 8, "concurrency: workers per operation")
	fs.DurationVar(&c.D, "d", 10*time.Second, "duration of each timed phase")
	fs.StringVar(&ops, "ops", strings.Join(allOps, ","), "operations to run, comma-separated: "+strings.Join(allOps, ",")+" (or all);\nwith -http also list and me")
	fs.StringVar(&c.HTTP, "http", "", "base URL of a running server (e.g. http://127.0.0.1:8055); empty: run in-process")
	fs.StringVar(&c.AdminToken, "admin-token", "", "with -http: the server's ADMIN_TOKEN (for roles, settings, invite and login users)")
	fs.StringVar(&mailLog, "maillog", "", "with -http: file holding the server's mail output (examples/server's stdout), read for tokens")
	fs.IntVar(&c.PID, "pid", 0, "with -http: the server's process id, to report its peak RSS (VmHWM)")
	fs.BoolVar(&c.JSON, "json", false, "print JSON instead of a table")
	fs.StringVar(&c.Password, "password", "correct-Horse-battery-9-staple!", "password of every user the tool creates")
	fs.BoolVar(&c.Deliver, "deliver", true, "in-process: run the mail delivery worker (to a mailer that discards), as a server does")
	fs.StringVar(&hashlim, "hashlimit", "", "in-process: users.Limits HashConcurrency,HashQueue (default: the library's, NumCPU and 1024)")
	fs.BoolVar(&c.Ceiling, "ceiling", true, "measure the hash-only ceiling (argon2id alone at the same parameters and concurrency)")
	fs.IntVar(&c.MaxPool, "maxpool", 500_000, "at most this many tokens are prepared for verify and accept")
	fs.BoolVar(&c.Keep, "keep", false, "keep the SQLite file or the PostgreSQL schema")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed operation phases (not the ceiling, preparation or calibration) to this file")
	fs.IntVar(&c.Burst, "burst", 0, "with -http: send this many registrations at the same instant and report how many were served and shed,\nthe latencies of each, the Retry-After of the shed ones and the server's peak RSS (0: no burst;\nwithout -ops, the burst is all the run does)")
	fs.IntVar(&c.Bursts, "bursts", 1, "with -burst: how many bursts, each after the previous one's last answer")
	fs.IntVar(&c.ListUsers, "list-users", 100_000, "with -http -ops list: users the server must hold (the tool creates the missing ones, untimed)")
	fs.BoolVar(&c.Count, "count-statements", false, "count the SQL statements and rows written per operation of each flow\n(register, verify, invite, accept, login, refresh, reset-request, reset, deliver) on -store, and stop")
	fs.IntVar(&c.CountN, "count-n", 50, "with -count-statements: operations of each flow counted")
	fs.BoolVar(&c.Verbose, "v", false, "with -count-statements: list each statement")
	fs.BoolVar(&c.Refusals, "refusals", false, "start the httpapi handler and a bare net/http handler giving the same answers in a server process,\nand drive both alternately on each refusal path (see the package doc)")
	fs.IntVar(&c.Rounds, "rounds", 3, "with -refusals: rounds; each runs every path on both handlers")
	fs.IntVar(&c.FloodC, "flood-c", 16, "with -refusals: concurrent registrations of the hashing flood (at -argon2)")
	var floods, procs string
	fs.StringVar(&floods, "flood", "off,on", "with -refusals: without (off) and/or with (on) the hashing flood")
	fs.StringVar(&procs, "procs", "adaptive,go", "with -refusals: the server process's GOMAXPROCS, a list of: adaptive (examples/server's default:\nNumCPU, raised to HASH_PARALLELISM × NumCPU + NumCPU while hashing is contended), server (that raised value, fixed)\ngo (Go's default, NumCPU, fixed)\nand children (examples/server's default at costly hash parameters, HASH_PROCESSES: GOMAXPROCS NumCPU, hashing in\nNumCPU child processes at nice 10)")
	fs.BoolVar(&c.Soak, "soak", false, "with -http: offer -soak-n registrations over -soak-d as a launch curve (see the package doc),\nthen check every one's mail and verification")
	fs.IntVar(&c.SoakN, "soak-n", 10_000, "with -soak: registrations offered")
	fs.DurationVar(&c.SoakD, "soak-d", 10*time.Minute, "with -soak: over this long")
	fs.DurationVar(&c.SoakStep, "soak-step", 10*time.Second, "with -soak: report interval")
	fs.StringVar(&c.Plot, "plot", "", "with -soak or -replot: write throughput, latency and RSS plots (PNG) to this directory")
	fs.StringVar(&c.Replot, "replot", "", "plot the soak report (JSON) in this file to -plot, and stop")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	opsGiven, cGiven := false, false
	fs.Visit(func(f *flag.Flag) {
		opsGiven = opsGiven || f.Name == "ops"
		cGiven = cGiven || f.Name == "c"
	})
	var err error
	if c.Floods, err = parseFloods(floods); err != nil {
		return config{}, err
	}
	if c.Procs, err = parseProcs(procs); err != nil {
		return config{}, err
	}
	if err := checkModes(&c, cGiven); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	c.MailLog = mailLog
	if c.Argon2, err = parseArgon2(argon2); err != nil {
		return config{}, err
	}
	if c.Burst > 0 && !opsGiven {
		c.Ops = nil
	} else if c.Ops, err = parseOps(ops); err != nil {
		return config{}, err
	}
	if c.HashLimit, err = parseHashLimit(hashlim); err != nil {
		return config{}, err
	}
	switch {
	case c.C < 1:
		return config{}, fmt.Errorf("-c %d: must be at least 1", c.C)
	case c.D <= 0:
		return config{}, fmt.Errorf("-d %s: must be positive", c.D)
	case c.MaxPool < 1:
		return config{}, fmt.Errorf("-maxpool %d: must be at least 1", c.MaxPool)
	case c.Password == "":
		return config{}, errors.New("-password must not be empty")
	case c.Burst < 0 || c.Bursts < 1:
		return config{}, fmt.Errorf("-burst %d -bursts %d: need -burst >= 0 and -bursts >= 1", c.Burst, c.Bursts)
	case c.Burst > 0 && c.HTTP == "":
		return config{}, errors.New("-burst needs -http: it measures a server's answers (503 and Retry-After)")
	}
	if c.HTTP != "" {
		u, err := url.Parse(c.HTTP)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return config{}, fmt.Errorf("-http %q: want an absolute http(s) URL", c.HTTP)
		}
		c.HTTP = strings.TrimRight(c.HTTP, "/")
		return c, nil
	}
	switch c.Store {
	case "memory", "sqlite":
	case "pg", "postgres":
		c.Store = "pg"
		if c.DSN == "" {
			return config{}, errors.New("-store pg needs -dsn")
		}
	case "mysql", "mariadb":
		c.Store = "mysql"
		if c.DSN == "" {
			return config{}, errors.New("-store mysql needs -dsn")
		}
	default:
		return config{}, fmt.Errorf("-store %q: want memory, sqlite, pg or mysql", c.Store)
	}
	if c.MailLog != "" || c.PID != 0 || c.AdminToken != "" {
		return config{}, errors.New("-maillog, -pid and -admin-token only apply with -http")
	}
	return c, nil
}

const usage = `usersbench drives the users library's flows under load and reports, per
operation, throughput, latency percentiles, errors and peak RSS, next to the
hash-only ceiling (argon2id alone, same parameters, same concurrency).

In-process (default): a Manager on the chosen store.
  usersbench -store sqlite -argon2 65536,3,4 -c 8 -d 10s -ops register
Over HTTP, against a running server (Directus wire format):
  usersbench -http http://127.0.0.1:8055 -admin-token $ADMIN_TOKEN \
      -maillog server.out -pid $(pgrep -nx server) -ops register,login
A burst of 256 registrations at once, with the hash ceiling at 2 workers:
  usersbench -http http://127.0.0.1:8055 -admin-token $ADMIN_TOKEN \
      -pid $(pgrep -nx server) -burst 256 -bursts 3 -c 2 -d 10s
SQL statements and rows written per flow:
  usersbench -count-statements -store sqlite -v
Refusal paths against a bare handler, with and without a hashing flood:
  usersbench -refusals -argon2 directus -d 5s -rounds 3
The launch day (10,000 registrations over 10 minutes) with plots:
  usersbench -soak -http http://127.0.0.1:8055 -admin-token $ADMIN_TOKEN \
      -maillog server.out -pid $(pgrep -nx server) -plot docs/bench

Flags:
`

func parseFloods(s string) ([]bool, error) {
	var out []bool
	for f := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(f) {
		case "off":
			out = append(out, false)
		case "on":
			out = append(out, true)
		case "":
		default:
			return nil, fmt.Errorf("-flood %q: want off, on or off,on", s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-flood %q: want off, on or off,on", s)
	}
	return out, nil
}

func parseProcs(s string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		switch f = strings.TrimSpace(f); f {
		case "adaptive", "server", "go", "children":
			out = append(out, f)
		case "":
		default:
			return nil, fmt.Errorf("-procs %q: want a list of adaptive, server, go and children", s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-procs %q: want a list of adaptive, server, go and children", s)
	}
	return out, nil
}

// checkModes checks the flags of the modes that replace the operation
// phases (-count-statements, -refusals, -soak, -replot): one at a time,
// each with what it needs.
func checkModes(c *config, cGiven bool) error {
	n := 0
	for _, on := range []bool{c.Count, c.Refusals, c.Soak, c.Replot != ""} {
		if on {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("-count-statements, -refusals, -soak and -replot are separate modes: give one")
	case c.Count && c.HTTP != "":
		return errors.New("-count-statements runs in process: drop -http")
	case c.Count && c.CountN < 1:
		return fmt.Errorf("-count-n %d: must be at least 1", c.CountN)
	case c.Refusals && c.HTTP != "":
		return errors.New("-refusals starts its own server: drop -http")
	case c.Refusals && (c.Rounds < 1 || c.FloodC < 1):
		return fmt.Errorf("-rounds %d -flood-c %d: must be at least 1", c.Rounds, c.FloodC)
	case c.Soak && c.HTTP == "":
		return errors.New("-soak needs -http (the server under test) and -admin-token")
	case c.Soak && (c.SoakN < 1 || c.SoakD <= 0 || c.SoakStep <= 0):
		return fmt.Errorf("-soak-n %d -soak-d %s -soak-step %s: must be positive", c.SoakN, c.SoakD, c.SoakStep)
	case c.Replot != "" && c.Plot == "":
		return errors.New("-replot needs -plot (the directory the PNGs go to)")
	case c.Plot != "" && !c.Soak && c.Replot == "":
		return errors.New("-plot applies with -soak or -replot")
	}
	if c.Refusals && !cGiven {
		c.C = 32
	}
	return nil
}
