package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/hashprocs"
	"github.com/gousers/users/internal/hashworker"
)

// The -refusals mode. A server process (this program, started again with
// refusalServerEnv set) serves two handlers on two loopback ports: the
// httpapi handler on a Manager (the app), and a bare net/http handler that
// answers each refusal path with the status, headers and body the app gave
// it when the server started (recorded once, replayed without work). The
// tool drives both alternately, path by path, with the same client, and
// compares their rates and latencies; optionally while another client
// floods the app with registrations at -argon2 (a hashing flood), and for
// each GOMAXPROCS of the server process (-procs).

// refusalServerEnv, when set in the environment, makes this program the
// -refusals server process; its value is the JSON of serverSpec.
const refusalServerEnv = "USERSBENCH_REFUSALS_SERVER"

// serverSpec is what the server process is told.
type serverSpec struct {
	Store  string       `json:"store"`
	DSN    string       `json:"dsn,omitempty"`
	Argon2 argon2Params `json:"argon2"`
	Admin  string       `json:"admin"`
	// ProcsHigh, when not zero, makes the server switch GOMAXPROCS as
	// examples/server does by default: the cores, and ProcsHigh while
	// hashing is contended (internal/hashprocs).
	ProcsHigh int `json:"procs_high,omitempty"`
	// Children, when not zero, makes the server hash in that many child
	// processes at nice 10, as examples/server does by default at costly
	// parameters (HASH_PROCESSES, internal/hashworker).
	Children int `json:"children,omitempty"`
}

// serverHello is the server process's first line on stdout.
type serverHello struct {
	App        string         `json:"app"`
	Bare       string         `json:"bare"`
	GOMAXPROCS int            `json:"gomaxprocs"`
	Answers    map[string]rec `json:"answers"` // by path name
	Paths      []refusalPath  `json:"paths"`
	Err        string         `json:"error,omitempty"`
}

// rec is a recorded answer.
type rec struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// refusalPath is one request the app refuses cheaply (or, for ping,
// answers without work).
type refusalPath struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Path   string `json:"path"` // with the query; {token} is a fresh well-formed token
	Body   string `json:"body,omitempty"`
}

// refusalPaths are the paths measured: tokens that are well-formed but
// never issued (an attacker's guesses: under the configured secret their
// tag is wrong, so they are refused before any Store read), a
// body that is not JSON (on a route that does not hash), an admin route
// without credentials, and Directus's ping.
var refusalPaths = []refusalPath{
	{Name: "verify-garbage", Method: http.MethodGet, Path: "/users/register/verify-email?token={token}"},
	{Name: "accept-garbage", Method: http.MethodPost, Path: "/users/invite/accept", Body: `{"token":"{token}","password":"correct-Horse-battery-9-staple!"}`},
	{Name: "reset-garbage", Method: http.MethodPost, Path: "/auth/password/reset", Body: `{"token":"{token}","password":"correct-Horse-battery-9-staple!"}`},
	// Not on POST /users/register: under a hashing flood that route sheds
	// (503) before it reads the body, which is its cheapest answer.
	{Name: "malformed-json", Method: http.MethodPost, Path: "/auth/password/request", Body: `{"email": "a@example.com", "reset_url": `},
	{Name: "no-auth", Method: http.MethodGet, Path: "/users?limit=1"},
	{Name: "ping", Method: http.MethodGet, Path: "/server/ping"},
}

// request builds p's request against base, with tok for {token}.
func (p refusalPath) request(ctx context.Context, base, tok string) (*http.Request, error) {
	var body io.Reader
	if p.Body != "" {
		body = strings.NewReader(strings.ReplaceAll(p.Body, "{token}", tok))
	}
	req, err := http.NewRequestWithContext(ctx, p.Method, base+strings.ReplaceAll(p.Path, "{token}", tok), body)
	if err != nil {
		return nil, err
	}
	if p.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// serverProcs is the GOMAXPROCS examples/server raises to while hashing
// is contended (and kept all the time before it switched): one processor
// per argon2id lane of the hashes allowed at once (the library's default:
// one per CPU) plus one per CPU.
func serverProcs(p argon2Params) int {
	lanes := 1
	if !p.Fake {
		lanes = int(p.Threads)
	}
	return lanes*runtime.NumCPU() + runtime.NumCPU()
}

// refusalServerMain is the server process: it serves until its stdin
// closes, and returns the exit status.
func refusalServerMain(specJSON string) int {
	var spec serverSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "usersbench server:", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := serveRefusals(ctx, spec, os.Stdout, os.Stdin); err != nil {
		_ = json.NewEncoder(os.Stdout).Encode(serverHello{Err: err.Error()})
		return 1
	}
	return 0
}

func serveRefusals(ctx context.Context, spec serverSpec, stdout io.Writer, stdin io.Reader) error {
	if !spec.Argon2.Fake && spec.Children == 0 {
		// examples/server's soft memory limit (twice what the hashes
		// allowed at once hold, plus 64 MiB).
		debug.SetMemoryLimit(2*int64(runtime.NumCPU())*int64(spec.Argon2.Memory)<<10 + 64<<20)
	}
	d := &inproc{cfg: config{Store: spec.Store, DSN: spec.DSN}, seq: newEmailSeq()}
	defer d.close()
	if err := d.openStore(ctx); err != nil {
		return err
	}
	var opts []users.Option
	if spec.ProcsHigh > 0 {
		a := hashprocs.New(runtime.NumCPU(), spec.ProcsHigh, 2*time.Second)
		go a.Run(ctx)
		opts = append(opts, users.WithObserver(a.Observe))
	}
	hasher := spec.Argon2.hasher()
	if spec.Children > 0 && !spec.Argon2.Fake {
		pool, err := hashworker.Start(hashworker.Config{Hasher: *hasher.(*users.Argon2id), Workers: spec.Children, Nice: 10})
		if err != nil {
			return err
		}
		defer pool.Close()
		hasher = pool
	}
	app, err := refusalHandler(ctx, d.store, hasher, spec.Admin, opts...)
	if err != nil {
		return err
	}
	answers, err := recordAnswers(ctx, app)
	if err != nil {
		return err
	}
	bare := bareHandler(answers)
	hello := serverHello{GOMAXPROCS: runtime.GOMAXPROCS(0), Answers: answers, Paths: refusalPaths}
	var servers []*http.Server
	for _, h := range []struct {
		url *string
		h   http.Handler
	}{{&hello.App, app}, {&hello.Bare, bare}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		*h.url = "http://" + ln.Addr().String()
		srv := &http.Server{Handler: h.h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	if err := json.NewEncoder(stdout).Encode(hello); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, stdin) // until the tool closes it, or exits
	for _, s := range servers {
		_ = s.Close()
	}
	return nil
}

// recordAnswers asks the app each refusal path twice, with different
// tokens, and returns its answer; the two must agree, so that one
// recorded answer stands for every token.
func recordAnswers(ctx context.Context, app http.Handler) (map[string]rec, error) {
	out := map[string]rec{}
	for _, p := range refusalPaths {
		var got [2]rec
		for i := range got {
			req, err := p.request(ctx, "http://127.0.0.1", randomToken())
			if err != nil {
				return nil, err
			}
			w := httptest.NewRecorder()
			app.ServeHTTP(w, req)
			h := w.Header().Clone()
			h.Del("Date")
			got[i] = rec{Status: w.Code, Header: h, Body: w.Body.Bytes()}
		}
		if got[0].Status != got[1].Status || !bytes.Equal(got[0].Body, got[1].Body) {
			return nil, fmt.Errorf("%s: the app's answer depends on the token (%d %q, %d %q): a bare handler cannot replay it",
				p.Name, got[0].Status, got[0].Body, got[1].Status, got[1].Body)
		}
		out[p.Name] = got[0]
	}
	return out, nil
}

// bareHandler answers each refusal path with its recorded answer, reading
// the request body first (as the app does), and nothing else.
func bareHandler(answers map[string]rec) http.Handler {
	type route struct{ method, path string }
	routes := map[route]rec{}
	for _, p := range refusalPaths {
		path, _, _ := strings.Cut(p.Path, "?")
		routes[route{p.Method, path}] = answers[p.Name]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		a, ok := routes[route{r.Method, r.URL.Path}]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for k, v := range a.Header {
			h[k] = v
		}
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
	})
}

func randomToken() string {
	return garbageTokens(1).toks[0]
}

// refusalServer is a started server process.
type refusalServer struct {
	hello serverHello
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startRefusalServer starts this program as the server process with
// GOMAXPROCS procs.
func startRefusalServer(ctx context.Context, spec serverSpec, procs int, stderr io.Writer) (*refusalServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), refusalServerEnv+"="+string(b), "GOMAXPROCS="+strconv.Itoa(procs))
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &refusalServer{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &s.hello)
	}
	if err == nil && s.hello.Err != "" {
		err = errors.New(s.hello.Err)
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("server process: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return s, nil
}

func (s *refusalServer) stop() {
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// refusalRow is one path under one condition: the app and the bare
// handler, medians over the rounds.
type refusalRow struct {
	Procs      int     `json:"gomaxprocs"`
	ProcsOf    string  `json:"procs"` // "server" or "go"
	Flood      bool    `json:"flood"`
	Path       string  `json:"path"`
	Status     int     `json:"status"`
	App        float64 `json:"app_ops_per_s"`
	Bare       float64 `json:"bare_ops_per_s"`
	Ratio      float64 `json:"app_vs_bare"`
	RatioMin   float64 `json:"app_vs_bare_min"`
	RatioMax   float64 `json:"app_vs_bare_max"`
	AppP50     float64 `json:"app_p50_ms"`
	AppP99     float64 `json:"app_p99_ms"`
	BareP50    float64 `json:"bare_p50_ms"`
	BareP99    float64 `json:"bare_p99_ms"`
	Errors     int     `json:"errors"`
	VsNoFlood  float64 `json:"app_vs_no_flood,omitempty"` // App / App without the flood, same procs
	ErrSummary string  `json:"error_kinds,omitempty"`
}

// floodResult is what the hashing flood got during one condition.
type floodResult struct {
	ProcsOf   string         `json:"procs"`
	Procs     int            `json:"gomaxprocs"`
	C         int            `json:"concurrency"`
	ElapsedS  float64        `json:"elapsed_s"`
	Served    int            `json:"served"`
	Shed      int            `json:"shed"`
	Other     map[string]int `json:"other,omitempty"`
	ServedP50 float64        `json:"served_p50_ms"`
	ServedP99 float64        `json:"served_p99_ms"`
	ShedP50   float64        `json:"shed_p50_ms"`
	ShedP99   float64        `json:"shed_p99_ms"`
}

type refusalReport struct {
	Started    time.Time     `json:"started"`
	Machine    machine       `json:"machine"`
	Store      string        `json:"store"`
	Hasher     string        `json:"flood_hasher"`
	C          int           `json:"concurrency"`
	D          string        `json:"duration"`
	Rounds     int           `json:"rounds"`
	Rows       []refusalRow  `json:"rows"`
	Floods     []floodResult `json:"floods,omitempty"`
	LoadBefore string        `json:"loadavg_before"`
	LoadAfter  string        `json:"loadavg_after"`
}

// runRefusals is -refusals.
func runRefusals(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	progress := func(format string, a ...any) {
		if !cfg.JSON {
			fmt.Fprintf(stderr, "usersbench: "+format+"\n", a...)
		}
	}
	var admin [16]byte
	_, _ = rand.Read(admin[:])
	spec := serverSpec{Store: cfg.Store, DSN: cfg.DSN, Argon2: cfg.Argon2, Admin: hex.EncodeToString(admin[:])}
	rep := refusalReport{Started: time.Now().UTC().Truncate(time.Second), Machine: thisMachine(), Store: cfg.Store,
		Hasher: cfg.Argon2.String(), C: cfg.C, D: cfg.D.String(), Rounds: cfg.Rounds, LoadBefore: loadAvg()}
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 4 * cfg.C, MaxIdleConnsPerHost: 2 * cfg.C, IdleConnTimeout: time.Minute},
		Timeout:   time.Minute,
	}
	defer client.CloseIdleConnections()
	for _, pc := range cfg.Procs {
		procs := runtime.NumCPU()
		spec := spec
		switch pc {
		case "server":
			procs = serverProcs(cfg.Argon2)
		case "adaptive":
			spec.ProcsHigh = serverProcs(cfg.Argon2)
		case "children":
			spec.Children = runtime.NumCPU()
		}
		progress("server process: GOMAXPROCS=%d (%s), store %s", procs, pc, cfg.Store)
		srv, err := startRefusalServer(ctx, spec, procs, stderr)
		if err != nil {
			return err
		}
		rows, floods, err := refusalCondition(ctx, cfg, client, srv.hello, pc, progress)
		srv.stop()
		if err != nil {
			return err
		}
		rep.Rows = append(rep.Rows, rows...)
		rep.Floods = append(rep.Floods, floods...)
	}
	rep.LoadAfter = loadAvg()
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.write(stdout)
}

// refusalCondition measures every path on one server process, without
// and/or with the flood.
func refusalCondition(ctx context.Context, cfg config, client *http.Client, hello serverHello, pc string,
	progress func(string, ...any)) ([]refusalRow, []floodResult, error) {
	var (
		rows   []refusalRow
		floods []floodResult
		calm   = map[string]float64{}
	)
	toks := garbageTokens(4096)
	for _, flood := range cfg.Floods {
		var f *hashFlood
		if flood {
			f = startFlood(ctx, hello.App, cfg.FloodC, cfg.Password)
		}
		type key struct{ path, side string }
		rates, p50s, p99s := map[key][]float64{}, map[key][]float64{}, map[key][]float64{}
		ratios := map[string][]float64{}
		errs := map[string]map[string]int{}
		for round := 1; round <= cfg.Rounds; round++ {
			for _, p := range refusalPaths {
				want := hello.Answers[p.Name].Status
				sides := []string{"app", "bare"}
				if round%2 == 0 {
					sides = []string{"bare", "app"}
				}
				got := map[string]float64{}
				for _, side := range sides {
					base := hello.App
					if side == "bare" {
						base = hello.Bare
					}
					progress("GOMAXPROCS=%d flood=%v round %d: %s on %s", hello.GOMAXPROCS, flood, round, p.Name, side)
					r := runPhase(ctx, p.Name, cfg.C, cfg.D, refusalOp(client, base, p, toks, want))
					k := key{p.Name, side}
					rates[k] = append(rates[k], r.OpsPerSec)
					p50s[k] = append(p50s[k], r.P50ms)
					p99s[k] = append(p99s[k], r.P99ms)
					got[side] = r.OpsPerSec
					for kind, n := range r.ErrKinds {
						if errs[p.Name] == nil {
							errs[p.Name] = map[string]int{}
						}
						errs[p.Name][side+": "+kind] += n
					}
					if ctx.Err() != nil {
						return nil, nil, ctx.Err()
					}
				}
				if got["bare"] > 0 {
					ratios[p.Name] = append(ratios[p.Name], got["app"]/got["bare"])
				}
			}
		}
		if f != nil {
			fr := f.stop()
			fr.ProcsOf, fr.Procs = pc, hello.GOMAXPROCS
			floods = append(floods, fr)
		}
		for _, p := range refusalPaths {
			a, b := key{p.Name, "app"}, key{p.Name, "bare"}
			row := refusalRow{Procs: hello.GOMAXPROCS, ProcsOf: pc, Flood: flood, Path: p.Name, Status: hello.Answers[p.Name].Status,
				App: medianF(rates[a]), Bare: medianF(rates[b]),
				AppP50: medianF(p50s[a]), AppP99: medianF(p99s[a]), BareP50: medianF(p50s[b]), BareP99: medianF(p99s[b])}
			if row.Bare > 0 {
				row.Ratio = row.App / row.Bare
			}
			if rs := ratios[p.Name]; len(rs) > 0 {
				row.RatioMin, row.RatioMax = slices.Min(rs), slices.Max(rs)
			}
			for _, n := range errs[p.Name] {
				row.Errors += n
			}
			if row.Errors > 0 {
				row.ErrSummary = errKindsString(errs[p.Name])
			}
			if !flood {
				calm[p.Name] = row.App
			} else if calm[p.Name] > 0 {
				row.VsNoFlood = row.App / calm[p.Name]
			}
			rows = append(rows, row)
		}
	}
	return rows, floods, nil
}

// refusalOp sends p to base and succeeds when the answer has want's
// status.
func refusalOp(client *http.Client, base string, p refusalPath, toks *tokenPool, want int) opFunc {
	return func(ctx context.Context) error {
		req, err := p.request(ctx, base, toks.cycle())
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return &kindError{kind: "transport", err: err}
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return &kindError{kind: fmt.Sprintf("HTTP %d (want %d)", resp.StatusCode, want), err: errors.New(p.Name)}
		}
		return nil
	}
}

// hashFlood sends registrations, each with a fresh address, from c
// workers of its own client, back to back (a flood does not wait for
// Retry-After), until stopped.
type hashFlood struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time
	mu     sync.Mutex
	served []time.Duration
	shed   []time.Duration
	other  map[string]int
	c      int
}

func startFlood(ctx context.Context, base string, c int, password string) *hashFlood {
	ctx, cancel := context.WithCancel(ctx)
	f := &hashFlood{cancel: cancel, start: time.Now(), other: map[string]int{}, c: c}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, IdleConnTimeout: time.Minute}, Timeout: 5 * time.Minute}
	seq := newEmailSeq()
	var n atomic.Int64
	for range c {
		f.wg.Go(func() {
			defer client.CloseIdleConnections()
			for ctx.Err() == nil {
				n.Add(1)
				body := fmt.Sprintf(`{"email":%q,"password":%q}`, seq.next(), password)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/users/register", strings.NewReader(body))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				took := time.Since(t0)
				if err != nil {
					if ctx.Err() == nil {
						f.count("", took, "transport")
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusNoContent:
					f.count("served", took, "")
				case http.StatusServiceUnavailable:
					f.count("shed", took, "")
				default:
					f.count("", took, "HTTP "+strconv.Itoa(resp.StatusCode))
				}
			}
		})
	}
	return f
}

func (f *hashFlood) count(class string, took time.Duration, other string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch class {
	case "served":
		f.served = append(f.served, took)
	case "shed":
		f.shed = append(f.shed, took)
	default:
		f.other[other]++
	}
}

func (f *hashFlood) stop() floodResult {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	slices.Sort(f.served)
	slices.Sort(f.shed)
	r := floodResult{C: f.c, ElapsedS: time.Since(f.start).Seconds(), Served: len(f.served), Shed: len(f.shed),
		ServedP50: ms(percentile(f.served, 50)), ServedP99: ms(percentile(f.served, 99)),
		ShedP50: ms(percentile(f.shed, 50)), ShedP99: ms(percentile(f.shed, 99))}
	if len(f.other) > 0 {
		r.Other = f.other
	}
	return r
}

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r refusalReport) write(w io.Writer) error {
	fmt.Fprintf(w, "usersbench -refusals  %s  %s (nproc %d)  store %s  flood hasher %s  c=%d  d=%s  rounds %d\n",
		r.Started.Format(time.RFC3339), r.Machine.CPU, r.Machine.NumCPU, r.Store, r.Hasher, r.C, r.D, r.Rounds)
	fmt.Fprintf(w, "load average before %s, after %s\n", r.LoadBefore, r.LoadAfter)
	fmt.Fprintln(w, "app: the httpapi handler; bare: a net/http handler replaying the app's answer; medians over the rounds")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GOMAXPROCS\tflood\tpath\tstatus\tapp ops/s\tbare ops/s\tapp/bare [min-max]\tapp p50/p99 ms\tbare p50/p99 ms\tapp vs no flood\terrors\t")
	for _, x := range r.Rows {
		flood, vs := "off", "-"
		if x.Flood {
			flood = "on"
			if x.VsNoFlood > 0 {
				vs = fmt.Sprintf("%.2f", x.VsNoFlood)
			}
		}
		fmt.Fprintf(tw, "%d (%s)\t%s\t%s\t%d\t%.0f\t%.0f\t%.2f [%.2f-%.2f]\t%.2f/%.2f\t%.2f/%.2f\t%s\t%d\t\n",
			x.Procs, x.ProcsOf, flood, x.Path, x.Status, x.App, x.Bare, x.Ratio, x.RatioMin, x.RatioMax,
			x.AppP50, x.AppP99, x.BareP50, x.BareP99, vs, x.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range r.Rows {
		if x.ErrSummary != "" {
			fmt.Fprintf(w, "  %s (GOMAXPROCS %d, flood %v): %s\n", x.Path, x.Procs, x.Flood, x.ErrSummary)
		}
	}
	if len(r.Floods) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "flood at GOMAXPROCS\tc\tseconds\tserved\tshed\tserved p50/p99 ms\tshed p50/p99 ms\tother\t")
	for _, f := range r.Floods {
		fmt.Fprintf(tw, "%d (%s)\t%d\t%.0f\t%d\t%d\t%.0f/%.0f\t%.1f/%.1f\t%s\t\n", f.Procs, f.ProcsOf, f.C, f.ElapsedS,
			f.Served, f.Shed, f.ServedP50, f.ServedP99, f.ShedP50, f.ShedP99, errKindsString(f.Other))
	}
	return tw.Flush()
}
