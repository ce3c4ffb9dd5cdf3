package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// burstResult is one burst: N registrations sent at the same instant, each
// with a fresh address, over HTTP. A registration is served (204), shed
// (503 with Retry-After: the hashing queue would make it wait past the
// server's budget) or something else.
type burstResult struct {
	N        int     `json:"n"`
	ElapsedS float64 `json:"elapsed_s"` // until the last answer

	Served int `json:"served"`
	Shed   int `json:"shed"`
	Other  int `json:"other"`
	// OtherKinds counts the other answers by status and code.
	OtherKinds map[string]int `json:"other_kinds,omitempty"`

	ServedP50ms float64 `json:"served_p50_ms"`
	ServedP99ms float64 `json:"served_p99_ms"`
	ServedMaxMs float64 `json:"served_max_ms"`
	ShedP50ms   float64 `json:"shed_p50_ms"`
	ShedP99ms   float64 `json:"shed_p99_ms"`
	ShedMaxMs   float64 `json:"shed_max_ms"`
	// RetryAfter is the range of the shed answers' Retry-After, seconds.
	RetryAfterMin int `json:"retry_after_min_s"`
	RetryAfterMax int `json:"retry_after_max_s"`
	// NoRetryAfter counts shed answers without a usable Retry-After.
	NoRetryAfter int `json:"shed_without_retry_after,omitempty"`

	PeakRSS int64 `json:"peak_rss_kib,omitempty"` // the server's, KiB; 0: unknown
	// Target is 0.8 × the same run's hash ceiling (ops/s) × 5 s: how
	// many of the burst a server should serve.
	Target float64 `json:"target_served,omitempty"`
}

// burstAnswer is what one request of a burst got.
type burstAnswer struct {
	status     int
	kind       string // status and Directus code, for other answers
	took       time.Duration
	retryAfter int // seconds; -1 if absent or not a number
}

// burst sends n registrations at once and waits for every answer. The
// connections are opened (and kept) before the start, so that the burst
// measures the server, not TCP handshakes.
func (d *httpDriver) burst(ctx context.Context, n int) (burstResult, error) {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: 5 * time.Minute},
		Timeout:   5 * time.Minute,
	}
	defer client.CloseIdleConnections()
	// Warm n connections with cheap requests, all in flight at once so
	// that each takes its own connection.
	var warm sync.WaitGroup
	for range n {
		warm.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.cfg.HTTP+"/users/register/verify-email?token=warm", nil)
			if err != nil {
				return
			}
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	warm.Wait()

	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"email":%q,"password":%q}`, d.seq.next(), d.cfg.Password)
	}
	answers := make([]burstAnswer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.HTTP+"/users/register", strings.NewReader(bodies[i]))
			if err != nil {
				answers[i] = burstAnswer{kind: err.Error()}
				return
			}
			req.Header.Set("Content-Type", "application/json")
			<-start
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				answers[i] = burstAnswer{kind: "transport", took: time.Since(t0)}
				return
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			a := burstAnswer{status: resp.StatusCode, took: time.Since(t0), retryAfter: -1}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				a.retryAfter = s
			}
			if a.status != http.StatusNoContent && a.status != http.StatusServiceUnavailable {
				a.kind = errKind(statusError(http.MethodPost, "/users/register", resp.StatusCode, b))
			}
			answers[i] = a
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	return summarizeBurst(answers, elapsed), ctx.Err()
}

func summarizeBurst(answers []burstAnswer, elapsed time.Duration) burstResult {
	r := burstResult{N: len(answers), ElapsedS: math.Round(elapsed.Seconds()*1000) / 1000, RetryAfterMin: -1}
	var served, shed []time.Duration
	for _, a := range answers {
		switch a.status {
		case http.StatusNoContent:
			r.Served++
			served = append(served, a.took)
		case http.StatusServiceUnavailable:
			r.Shed++
			shed = append(shed, a.took)
			if a.retryAfter < 1 {
				r.NoRetryAfter++
				continue
			}
			if r.RetryAfterMin < 0 || a.retryAfter < r.RetryAfterMin {
				r.RetryAfterMin = a.retryAfter
			}
			r.RetryAfterMax = max(r.RetryAfterMax, a.retryAfter)
		default:
			r.Other++
			if r.OtherKinds == nil {
				r.OtherKinds = map[string]int{}
			}
			r.OtherKinds[a.kind]++
		}
	}
	if r.RetryAfterMin < 0 {
		r.RetryAfterMin = 0
	}
	slices.Sort(served)
	slices.Sort(shed)
	if len(served) > 0 {
		r.ServedP50ms, r.ServedP99ms = ms(percentile(served, 50)), ms(percentile(served, 99))
		r.ServedMaxMs = ms(served[len(served)-1])
	}
	if len(shed) > 0 {
		r.ShedP50ms, r.ShedP99ms = ms(percentile(shed, 50)), ms(percentile(shed, 99))
		r.ShedMaxMs = ms(shed[len(shed)-1])
	}
	return r
}

// writeBurst prints the bursts of a run.
func writeBurst(w io.Writer, bursts []burstResult) error {
	if len(bursts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "burst\tserved\ttarget\tshed\tother\tserved p50/p99/max ms\tshed p50/p99/max ms\tRetry-After s\tpeak RSS MiB\telapsed s\t")
	for _, b := range bursts {
		target, rss := "-", "-"
		if b.Target > 0 {
			target = fmt.Sprintf("%.1f", b.Target)
		}
		if b.PeakRSS > 0 {
			rss = fmt.Sprintf("%.0f (server)", float64(b.PeakRSS)/1024)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t%.0f/%.0f/%.0f\t%.1f/%.1f/%.1f\t%d-%d\t%s\t%.1f\t\n",
			b.N, b.Served, target, b.Shed, b.Other, b.ServedP50ms, b.ServedP99ms, b.ServedMaxMs,
			b.ShedP50ms, b.ShedP99ms, b.ShedMaxMs, b.RetryAfterMin, b.RetryAfterMax, rss, b.ElapsedS)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, b := range bursts {
		if b.Other > 0 {
			fmt.Fprintf(w, "  burst %d: other answers: %s\n", b.N, errKindsString(b.OtherKinds))
		}
		if b.NoRetryAfter > 0 {
			fmt.Fprintf(w, "  burst %d: %d shed answers without Retry-After\n", b.N, b.NoRetryAfter)
		}
	}
	return nil
}
