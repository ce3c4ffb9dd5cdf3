package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gousers/users"
)

// The -soak mode: a launch day against a running server. It offers
// -soak-n registrations over -soak-d along launchCurve, open loop (each
// is sent at its time whether or not the earlier ones were answered, as
// people arriving do), and reports per -soak-step: offered, served (204),
// shed (503 with Retry-After), other answers, p50/p99 of served and shed,
// the server's RSS and its outbox backlog. Then it checks that every
// served registration got exactly one mail and that its link verifies the
// address, and that shed ones got none; and it measures the hash ceiling:
// argon2id alone at -argon2 (which should be the server's parameters), on
// as many goroutines as the machine has CPUs (the library's default
// hashing concurrency), for -soak-d.

// Launch curve shape, as fractions of the run (see launchCurve).
const (
	curveRampEnd  = 0.3    // the rate rises linearly from 0 to its peak until here
	curvePeakEnd  = 0.6    // holds the peak until here
	curveTail     = 1. / 3 // then falls linearly to this fraction of the peak at the end
	curveBurstPct = 0.05   // each burst is this fraction of all registrations
)

// curveBursts are the instants (fractions of the run) at which a burst is
// sent all at once: the launch mail going out, a post on a news site, the
// newsletter.
var curveBursts = []float64{0.2, 0.5, 0.8}

// curveDescription says the curve in words, for the report.
const curveDescription = "15% in 3 bursts sent at once (5% each at 20%, 50% and 80% of the run); the other 85% spread by a rate " +
	"rising linearly from 0 to its peak over the first 30%, held until 60%, then falling linearly to a third of the peak at the end"

// launchCurve returns the send times (offsets from the start, sorted) of n
// registrations over d: curveBurstPct of n at each of curveBursts, all at
// once, and the rest placed deterministically (no randomness: every run
// offers the same load) at the quantiles of the ramp-peak-tail rate.
func launchCurve(n int, d time.Duration) []time.Duration {
	burst := int(math.Round(curveBurstPct * float64(n)))
	if burst*len(curveBursts) > n/2 {
		burst = 0 // too few to burst
	}
	steady := n - burst*len(curveBursts)
	rate := func(x float64) float64 {
		switch {
		case x < curveRampEnd:
			return x / curveRampEnd
		case x < curvePeakEnd:
			return 1
		default:
			return 1 - (1-curveTail)*(x-curvePeakEnd)/(1-curvePeakEnd)
		}
	}
	// The cumulative rate on a fine grid, inverted at each quantile.
	const grid = 100_000
	cum := make([]float64, grid+1)
	for i := 1; i <= grid; i++ {
		x := (float64(i) - 0.5) / grid
		cum[i] = cum[i-1] + rate(x)/grid
	}
	total := cum[grid]
	out := make([]time.Duration, 0, n)
	j := 0
	for i := range steady {
		q := (float64(i) + 0.5) / float64(steady) * total
		for j < grid && cum[j+1] < q {
			j++
		}
		// Linear within the grid cell.
		frac := 0.0
		if w := cum[j+1] - cum[j]; w > 0 {
			frac = (q - cum[j]) / w
		}
		x := (float64(j) + frac) / grid
		out = append(out, time.Duration(x*float64(d)))
	}
	for _, b := range curveBursts {
		for range burst {
			out = append(out, time.Duration(b*float64(d)))
		}
	}
	slices.Sort(out)
	return out
}

// soakAnswer is what one registration got.
type soakAnswer struct {
	email      string
	at         time.Duration // scheduled send time
	took       time.Duration
	status     int // 0: no answer
	retryAfter bool
	kind       string // for other answers
}

// soakInterval is one report interval, by send time.
type soakInterval struct {
	StartS       float64 `json:"start_s"`
	Offered      int     `json:"offered"`
	Served       int     `json:"served"`
	Shed         int     `json:"shed"`
	ShedNoRetry  int     `json:"shed_without_retry_after,omitempty"`
	Other        int     `json:"other"`
	ServedP50ms  float64 `json:"served_p50_ms"`
	ServedP99ms  float64 `json:"served_p99_ms"`
	ShedP50ms    float64 `json:"shed_p50_ms"`
	ShedP99ms    float64 `json:"shed_p99_ms"`
	RSSMiB       float64 `json:"rss_mib"`        // the server's, at the interval's end
	PeakRSSMiB   float64 `json:"peak_rss_mib"`   // the server's peak over the interval
	Backlog      int     `json:"outbox_backlog"` // pending mail at the interval's end; -1: unknown
	InFlightPeak int     `json:"in_flight_peak"` // requests awaiting an answer, at most
}

// soakChecks is what the run checked after the curve.
type soakChecks struct {
	Served          int            `json:"served"`
	Verified        int            `json:"verified"`
	NoMail          int            `json:"served_without_mail"`
	ExtraMail       int            `json:"served_with_more_than_one_mail"`
	VerifyFailed    map[string]int `json:"verify_failed,omitempty"`
	ShedMailed      int            `json:"shed_with_mail"`
	OtherMailed     int            `json:"other_with_mail"`
	Lost            int            `json:"lost"` // served, not verified
	DrainS          float64        `json:"outbox_drain_s"`
	DrainedBacklog  int            `json:"backlog_after_drain"`
	MailsTotal      int            `json:"mails_seen"`
	MailsOtherAddrs int            `json:"mails_to_other_addresses,omitempty"`
}

type soakReport struct {
	Started    time.Time      `json:"started"`
	Machine    machine        `json:"machine"`
	Server     string         `json:"server"`
	PID        int            `json:"pid,omitempty"`
	Hasher     string         `json:"hasher"` // -argon2: the ceiling's (and, for the report to mean anything, the server's)
	N          int            `json:"n"`
	D          string         `json:"duration"`
	Step       string         `json:"step"`
	Curve      string         `json:"curve"`
	LoadBefore string         `json:"loadavg_before"`
	LoadAfter  string         `json:"loadavg_after"`
	Intervals  []soakInterval `json:"intervals"`

	Offered     int            `json:"offered"`
	Served      int            `json:"served"`
	Shed        int            `json:"shed"`
	Other       int            `json:"other"`
	ShedNoRetry int            `json:"shed_without_retry_after"`
	ServedP50ms float64        `json:"served_p50_ms"`
	ServedP99ms float64        `json:"served_p99_ms"`
	ShedP50ms   float64        `json:"shed_p50_ms"`
	ShedP99ms   float64        `json:"shed_p99_ms"`
	PeakRSSMiB  float64        `json:"peak_rss_mib"`
	OtherKinds  map[string]int `json:"other_kinds,omitempty"`

	Checks soakChecks `json:"checks"`

	Ceiling *result `json:"hash_ceiling,omitempty"`
	// VsCeiling is Served / (the ceiling's rate × the run's duration);
	// VsAttainable is Served / Σ min(offered, ceiling × step) over the
	// intervals: what could have been served where fewer were offered
	// than the ceiling.
	VsCeiling    float64 `json:"served_vs_ceiling,omitempty"`
	VsAttainable float64 `json:"served_vs_attainable,omitempty"`
}

// runSoak is -soak.
func runSoak(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if cfg.AdminToken == "" || cfg.MailLog == "" {
		return errors.New("-soak needs -admin-token (to open registration and read the outbox backlog) and -maillog (to check every mail)")
	}
	progress := func(format string, a ...any) {
		if !cfg.JSON {
			fmt.Fprintf(stderr, "usersbench: "+format+"\n", a...)
		}
	}
	d, err := newHTTPDriver(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.close()
	rep := &soakReport{Started: time.Now().UTC().Truncate(time.Second), Machine: thisMachine(), Server: cfg.HTTP, PID: cfg.PID,
		Hasher: cfg.Argon2.String(), N: cfg.SoakN, D: cfg.SoakD.String(), Step: cfg.SoakStep.String(), Curve: curveDescription,
		LoadBefore: loadAvg()}
	times := launchCurve(cfg.SoakN, cfg.SoakD)
	progress("soak: %d registrations over %s (%s)", cfg.SoakN, cfg.SoakD, curveDescription)
	answers, err := d.soak(ctx, cfg, times, rep, progress)
	if err != nil {
		return err
	}
	summarizeSoak(rep, answers, cfg.SoakStep)
	progress("soak: %d served, %d shed, %d other; checking the mail", rep.Served, rep.Shed, rep.Other)
	if err := d.checkSoak(ctx, cfg, answers, rep, progress); err != nil {
		return err
	}
	if cfg.Ceiling {
		progress("hash-only ceiling: argon2id %s, c=%d, %s", cfg.Argon2, cpus(), cfg.SoakD)
		r := measure(ctx, newPeakRSS(0), "hash ceiling", cpus(), cfg.SoakD, ceilingOp(cfg))
		r.RSSOf = "usersbench"
		rep.Ceiling = &r
		if r.OpsPerSec > 0 {
			rep.VsCeiling = float64(rep.Served) / (r.OpsPerSec * cfg.SoakD.Seconds())
			attainable := 0.0
			for _, iv := range rep.Intervals {
				attainable += math.Min(float64(iv.Offered), r.OpsPerSec*cfg.SoakStep.Seconds())
			}
			if attainable > 0 {
				rep.VsAttainable = float64(rep.Served) / attainable
			}
		}
	}
	rep.LoadAfter = loadAvg()
	if cfg.Plot != "" {
		if err := plotSoak(rep, cfg.Plot); err != nil {
			return err
		}
		progress("plots written to %s", cfg.Plot)
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.write(stdout)
}

func cpus() int { return runtime.NumCPU() }

// soak sends the registrations at their times and samples the server
// every step; it returns when every registration has its answer.
func (d *httpDriver) soak(ctx context.Context, cfg config, times []time.Duration, rep *soakReport, progress func(string, ...any)) ([]soakAnswer, error) {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: 5 * time.Minute},
		Timeout:   5 * time.Minute,
	}
	defer client.CloseIdleConnections()
	answers := make([]soakAnswer, len(times))
	for i := range answers {
		answers[i] = soakAnswer{email: d.seq.next(), at: times[i]}
	}
	steps := int(math.Ceil(float64(cfg.SoakD) / float64(cfg.SoakStep)))
	rep.Intervals = make([]soakInterval, steps)
	var inFlight, peak atomic.Int64
	start := time.Now()

	// The sampler: at each step's end, the server's RSS (now and peak
	// over the step) and its outbox backlog.
	rss := newPeakRSS(cfg.PID)
	sampleDone := make(chan struct{})
	sctx, stopSampler := context.WithCancel(ctx)
	go func() {
		defer close(sampleDone)
		resettable := cfg.PID > 0 && rss.reset()
		for i := range steps {
			select {
			case <-sctx.Done():
				return
			case <-time.After(time.Until(start.Add(time.Duration(i+1) * cfg.SoakStep))):
			}
			iv := &rep.Intervals[i]
			iv.StartS = (time.Duration(i) * cfg.SoakStep).Seconds()
			iv.InFlightPeak = int(peak.Swap(inFlight.Load()))
			if cfg.PID > 0 {
				iv.RSSMiB = float64(vmRSS(cfg.PID)) / 1024
				if resettable {
					iv.PeakRSSMiB = float64(rss.read()) / 1024
					rss.reset()
				}
			}
			iv.Backlog = d.backlog(sctx)
			progress("soak %s: %d in flight (peak %d), RSS %.0f MiB (peak %.0f), backlog %d", time.Duration(i+1)*cfg.SoakStep,
				inFlight.Load(), iv.InFlightPeak, iv.RSSMiB, iv.PeakRSSMiB, iv.Backlog)
		}
	}()

	var wg sync.WaitGroup
	for i := range answers {
		if wait := time.Until(start.Add(answers[i].at)); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			defer inFlight.Add(-1)
			a := &answers[i]
			body := fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, cfg.Password)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.HTTP+"/users/register", strings.NewReader(body))
			if err != nil {
				a.kind = err.Error()
				return
			}
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			resp, err := client.Do(req)
			a.took = time.Since(t0)
			if err != nil {
				a.kind = "transport"
				return
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			a.status = resp.StatusCode
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				a.retryAfter = true
			}
			if a.status != http.StatusNoContent && a.status != http.StatusServiceUnavailable {
				a.kind = errKind(statusError(http.MethodPost, "/users/register", resp.StatusCode, b))
			}
		})
	}
	wg.Wait()
	<-sampleDone // it samples to the end of the curve's last step
	stopSampler()
	return answers, ctx.Err()
}

// vmRSS returns the resident set size (VmRSS) of a process and its
// descendants (a server's hashing children), KiB; 0: unknown.
func vmRSS(pid int) int64 {
	var sum int64
	for _, p := range processTree(strconv.Itoa(pid)) {
		b, err := os.ReadFile("/proc/" + p + "/status")
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// backlog reads the pending mail from the server's health report (an
// administrator's view); -1 when it cannot.
func (d *httpDriver) backlog(ctx context.Context) int {
	var h struct {
		Checks map[string][]struct {
			ObservedValue any `json:"observedValue"`
		} `json:"checks"`
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	status, b, err := d.send(ctx, http.MethodGet, "/server/health", nil, true)
	if err != nil || (status != http.StatusOK && status != http.StatusServiceUnavailable) || json.Unmarshal(b, &h) != nil {
		return -1
	}
	c := h.Checks["outbox:pending"]
	if len(c) == 0 {
		return -1
	}
	if v, ok := c[0].ObservedValue.(float64); ok {
		return int(v)
	}
	return 0 // omitted: zero
}

// summarizeSoak fills the intervals' answer figures and the totals.
func summarizeSoak(rep *soakReport, answers []soakAnswer, step time.Duration) {
	var served, shed []time.Duration
	perServed := make([][]time.Duration, len(rep.Intervals))
	perShed := make([][]time.Duration, len(rep.Intervals))
	for _, a := range answers {
		i := min(int(a.at/step), len(rep.Intervals)-1)
		iv := &rep.Intervals[i]
		iv.Offered++
		rep.Offered++
		switch {
		case a.status == http.StatusNoContent:
			iv.Served++
			rep.Served++
			served = append(served, a.took)
			perServed[i] = append(perServed[i], a.took)
		case a.status == http.StatusServiceUnavailable:
			iv.Shed++
			rep.Shed++
			shed = append(shed, a.took)
			perShed[i] = append(perShed[i], a.took)
			if !a.retryAfter {
				iv.ShedNoRetry++
				rep.ShedNoRetry++
			}
		default:
			iv.Other++
			rep.Other++
			if rep.OtherKinds == nil {
				rep.OtherKinds = map[string]int{}
			}
			rep.OtherKinds[a.kind]++
		}
	}
	for i := range rep.Intervals {
		iv := &rep.Intervals[i]
		iv.StartS = (time.Duration(i) * step).Seconds()
		slices.Sort(perServed[i])
		slices.Sort(perShed[i])
		iv.ServedP50ms, iv.ServedP99ms = ms(percentile(perServed[i], 50)), ms(percentile(perServed[i], 99))
		iv.ShedP50ms, iv.ShedP99ms = ms(percentile(perShed[i], 50)), ms(percentile(perShed[i], 99))
		rep.PeakRSSMiB = max(rep.PeakRSSMiB, iv.PeakRSSMiB, iv.RSSMiB)
	}
	slices.Sort(served)
	slices.Sort(shed)
	rep.ServedP50ms, rep.ServedP99ms = ms(percentile(served, 50)), ms(percentile(served, 99))
	rep.ShedP50ms, rep.ShedP99ms = ms(percentile(shed, 50)), ms(percentile(shed, 99))
}

// drainWait is how long the check waits for the outbox to empty.
const drainWait = 10 * time.Minute

// checkSoak waits for the server to send the mail it queued, then checks
// every address's mail and verifies every served one.
func (d *httpDriver) checkSoak(ctx context.Context, cfg config, answers []soakAnswer, rep *soakReport, progress func(string, ...any)) error {
	t0 := time.Now()
	ch := &rep.Checks
	for {
		b := d.backlog(ctx)
		if b == 0 || time.Since(t0) > drainWait {
			ch.DrainedBacklog = b
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	ch.DrainS = time.Since(t0).Seconds()
	// The log mailer writes a mail once it is sent; the backlog counts it
	// sent a moment before: read until the served addresses have theirs
	// or a few seconds pass.
	box := &logMailbox{path: cfg.MailLog}
	var counts map[string]int
	for wait := time.Now().Add(5 * time.Second); ; {
		if _, err := box.tokens(ctx); err != nil {
			return err
		}
		counts = box.counts
		missing := 0
		for _, a := range answers {
			if a.status == http.StatusNoContent && counts[users.NormalizeEmail(a.email)] == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(wait) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	ours := map[string]bool{}
	var toVerify []string
	for _, a := range answers {
		key := users.NormalizeEmail(a.email)
		ours[key] = true
		n := counts[key]
		switch a.status {
		case http.StatusNoContent:
			ch.Served++
			switch {
			case n == 0:
				ch.NoMail++
				continue
			case n > 1:
				ch.ExtraMail++
			}
			toVerify = append(toVerify, box.found[key])
		case http.StatusServiceUnavailable:
			if n > 0 {
				ch.ShedMailed++
			}
		default:
			if n > 0 {
				ch.OtherMailed++
			}
		}
	}
	for addr, n := range counts {
		ch.MailsTotal += n
		if !ours[addr] {
			ch.MailsOtherAddrs += n
		}
	}
	progress("soak: verifying %d addresses", len(toVerify))
	var (
		mu       sync.Mutex
		verified atomic.Int64
		next     atomic.Int64
	)
	err := parallelHTTP(ctx, cfg.C, len(toVerify), func(ctx context.Context) error {
		tok := toVerify[next.Add(1)-1]
		status, b, err := d.send(ctx, http.MethodGet, "/users/register/verify-email?token="+url.QueryEscape(tok), nil, false)
		if err == nil && (status/100 == 2 || status/100 == 3) {
			verified.Add(1)
			return nil
		}
		kind := "transport"
		if err == nil {
			kind = errKind(statusError(http.MethodGet, "/users/register/verify-email", status, b))
		}
		mu.Lock()
		if ch.VerifyFailed == nil {
			ch.VerifyFailed = map[string]int{}
		}
		ch.VerifyFailed[kind]++
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	ch.Verified = int(verified.Load())
	ch.Lost = ch.Served - ch.Verified
	return nil
}

func (r *soakReport) write(w io.Writer) error {
	fmt.Fprintf(w, "usersbench -soak  %s  %s (nproc %d)  server %s  hasher %s\n", r.Started.Format(time.RFC3339),
		r.Machine.CPU, r.Machine.NumCPU, r.Server, r.Hasher)
	fmt.Fprintf(w, "%d registrations over %s: %s\n", r.N, r.D, r.Curve)
	fmt.Fprintf(w, "load average before %s, after %s\n\n", r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "t s\toffered\tserved\tshed\tother\tserved p50/p99 ms\tshed p50/p99 ms\tRSS MiB (peak)\tbacklog\tin flight\t")
	for _, iv := range r.Intervals {
		fmt.Fprintf(tw, "%.0f\t%d\t%d\t%d\t%d\t%.0f/%.0f\t%.1f/%.1f\t%.0f (%.0f)\t%d\t%d\t\n", iv.StartS, iv.Offered, iv.Served, iv.Shed,
			iv.Other, iv.ServedP50ms, iv.ServedP99ms, iv.ShedP50ms, iv.ShedP99ms, iv.RSSMiB, iv.PeakRSSMiB, iv.Backlog, iv.InFlightPeak)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntotal: offered %d, served %d, shed %d (%d without Retry-After), other %d", r.Offered, r.Served, r.Shed, r.ShedNoRetry, r.Other)
	if len(r.OtherKinds) > 0 {
		fmt.Fprintf(w, " (%s)", errKindsString(r.OtherKinds))
	}
	fmt.Fprintln(w)
	c := r.Checks
	fmt.Fprintf(w, "mail: outbox drained in %.1f s (backlog after: %d); of %d served, %d without mail, %d with more than one; %d shed and %d other answers got mail\n",
		c.DrainS, c.DrainedBacklog, c.Served, c.NoMail, c.ExtraMail, c.ShedMailed, c.OtherMailed)
	fmt.Fprintf(w, "verified %d of %d served; lost %d", c.Verified, c.Served, c.Lost)
	if len(c.VerifyFailed) > 0 {
		fmt.Fprintf(w, " (verification failed: %s)", errKindsString(c.VerifyFailed))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	ceiling := "not measured"
	if r.Ceiling != nil {
		ceiling = fmt.Sprintf("%.2f hashes/s (c=%d, %.0f s)", r.Ceiling.OpsPerSec, r.Ceiling.C, r.Ceiling.ElapsedS)
	}
	fmt.Fprintf(w, "hash ceiling (argon2id %s alone, this machine, same run): %s\n", r.Hasher, ceiling)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tmeasured\t")
	fmt.Fprintf(tw, "served >= 0.9 × hash ceiling over the run\t%.2f × (%.2f × of what the ceiling allowed where fewer were offered)\t\n", r.VsCeiling, r.VsAttainable)
	fmt.Fprintf(tw, "served p99 < 6 s\t%.2f s\t\n", r.ServedP99ms/1000)
	fmt.Fprintf(tw, "shed p99 < 50 ms\t%.1f ms\t\n", r.ShedP99ms)
	fmt.Fprintf(tw, "server RSS < 400 MiB\t%.0f MiB\t\n", r.PeakRSSMiB)
	fmt.Fprintf(tw, "zero lost\t%d\t\n", c.Lost)
	return tw.Flush()
}
