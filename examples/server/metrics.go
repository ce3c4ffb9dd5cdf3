package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
)

// metrics adapts the library's observations (users.Observer), the
// requests withAccessLog sees, and the outbox and hashing state its health
// report gives at scrape time, to Prometheus
// (github.com/prometheus/client_golang), on a registry of its own. The
// library itself imports no metrics package: it reports through
// users.Observer and Manager.Health, and this is the adapter.
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	flows       *prometheus.CounterVec
	mailSent    *prometheus.CounterVec
	mailFailed  *prometheus.CounterVec
	mailLatency *prometheus.HistogramVec
	hashWait    prometheus.Histogram
	hashShed    prometheus.Counter
	rateLimited *prometheus.CounterVec
}

func newMetrics() *metrics {
	x := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "users_http_requests_total", Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "users_http_request_duration_seconds", Help: "Time to answer an HTTP request, by method and route pattern.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		flows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "users_flow_total", Help: "Flows ended, by flow (register, verify_email, invite, accept_invite, create_user, login…), outcome and, when refused, reason.",
		}, []string{"flow", "outcome", "reason"}),
		mailSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "users_mail_sent_total", Help: "Mails delivered to the relay, by kind.",
		}, []string{"kind"}),
		mailFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "users_mail_failed_total", Help: "Failed delivery attempts, by kind; final=true when the mail was given up.",
		}, []string{"kind", "final"}),
		mailLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "users_mail_delivery_latency_seconds", Help: "Time from queueing a mail to its delivery, retries included, by kind.",
			Buckets: []float64{.1, .5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600},
		}, []string{"kind"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "users_hash_wait_seconds", Help: "Time a password hash or verification waited for a hashing slot.",
			Buckets: []float64{.001, .01, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		hashShed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "users_hash_shed_total", Help: "Requests refused at once because the hashing queue was full (503).",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "users_rate_limited_total", Help: "Rate-limit refusals, by limiter (register, mail, admin_mail, login, login_ip, login_device).",
		}, []string{"limiter"}),
	}
	x.reg.MustRegister(x.requests, x.duration, x.flows, x.mailSent, x.mailFailed, x.mailLatency,
		x.hashWait, x.hashShed, x.rateLimited,
		// With the scheduler's figures: go_sched_latencies_seconds (how
		// long runnable goroutines waited for a processor) and the
		// stop-the-world pauses, what a flood of hashes in the server's
		// process (HASH_PROCESSES off) shows first.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return x
}

// observe is the users.Observer.
func (x *metrics) observe(o users.Observation) {
	switch o.Kind {
	case users.KindFlow:
		x.flows.WithLabelValues(o.Flow, o.Outcome, o.Reason).Inc()
	case users.KindMailSent:
		x.mailSent.WithLabelValues(o.Mail).Inc()
		x.mailLatency.WithLabelValues(o.Mail).Observe(o.Duration.Seconds())
	case users.KindMailFailed:
		x.mailFailed.WithLabelValues(o.Mail, strconv.FormatBool(o.Final)).Inc()
	case users.KindHashWait:
		x.hashWait.Observe(o.Duration.Seconds())
	case users.KindHashShed:
		x.hashShed.Inc()
	case users.KindRateLimited:
		x.rateLimited.WithLabelValues(o.Limiter).Inc()
	}
}

// watch registers the gauges read from m's health report at scrape time.
func (x *metrics) watch(m *users.Manager) {
	x.reg.MustRegister(healthCollector{m})
}

// request counts one answered request (withAccessLog). A nil metrics
// counts nothing.
func (x *metrics) request(method, route string, status int, took time.Duration) {
	if x == nil {
		return
	}
	method = methodLabel(method)
	x.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	x.duration.WithLabelValues(method, route).Observe(took.Seconds())
}

// methodLabel is a request's method as a metric label: one of HTTP's own
// methods, else "other". A client may send any token as its method; a
// label taken from it would add series without bound.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// countRefusals wraps l (which may be nil) to count its refusals as
// limiter name: the registration limit lives in httpapi, which reports to
// no Observer.
func (x *metrics) countRefusals(l users.Limiter, name string) users.Limiter {
	if l == nil {
		return nil
	}
	return countingLimiter{l, func() { x.rateLimited.WithLabelValues(name).Inc() }}
}

type countingLimiter struct {
	users.Limiter
	refused func()
}

func (c countingLimiter) Allow(ctx context.Context, key string) (time.Duration, error) {
	d, err := c.Limiter.Allow(ctx, key)
	if errors.Is(err, users.ErrRateLimited) {
		c.refused()
	}
	return d, err
}

// healthCollector reports, at scrape time, what the Manager's health
// report measures: the outbox (its backlog, the mails given up, the age of
// the oldest pending one) and the hashing limit (calls hashing and waiting,
// and the slots). One scrape asks for one report.
type healthCollector struct{ m *users.Manager }

var (
	outboxPendingDesc = prometheus.NewDesc("users_outbox_pending", "Mails waiting in the outbox.", nil, nil)
	outboxFailedDesc  = prometheus.NewDesc("users_outbox_failed", "Mails given up (kept in the outbox as a record).", nil, nil)
	outboxAgeDesc     = prometheus.NewDesc("users_outbox_oldest_pending_age_seconds", "Age of the oldest pending mail (0 when none).", nil, nil)
	hashRunningDesc   = prometheus.NewDesc("users_hash_running", "Password hashes running now.", nil, nil)
	hashWaitingDesc   = prometheus.NewDesc("users_hash_waiting", "Requests waiting for a hashing slot now.", nil, nil)
	hashLimitDesc     = prometheus.NewDesc("users_hash_limit", "Hashing slots (HASH_CONCURRENCY).", nil, nil)
)

func (healthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{outboxPendingDesc, outboxFailedDesc, outboxAgeDesc, hashRunningDesc, hashWaitingDesc, hashLimitDesc} {
		ch <- d
	}
}

func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := c.m.Health(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxPendingDesc, err)
		return
	}
	gauge := func(d *prometheus.Desc, check string, value func(users.HealthCheck) any) {
		cs := h.Checks[check]
		if len(cs) == 0 {
			// The outbox checks are missing when the store did not answer.
			ch <- prometheus.NewInvalidMetric(d, errors.New(check+": not measured (the store did not answer)"))
			return
		}
		v, ok := number(value(cs[0]))
		if !ok {
			ch <- prometheus.NewInvalidMetric(d, errors.New(check+": not a number"))
			return
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	observed := func(c users.HealthCheck) any { return c.ObservedValue }
	gauge(outboxPendingDesc, "outbox:pending", observed)
	gauge(outboxFailedDesc, "outbox:failed", observed)
	gauge(outboxAgeDesc, "outbox:oldestPendingAge", observed)
	gauge(hashRunningDesc, "hashing:running", observed)
	gauge(hashWaitingDesc, "hashing:waiting", observed)
	gauge(hashLimitDesc, "hashing:running", func(c users.HealthCheck) any { return c.Threshold })
}

// number reads a health check's value: an int or a float64.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// mount serves GET /metrics before next, to administrators (ADMIN_TOKEN,
// or an administrator's access token) and to scrapers that send
// "Authorization: Metrics <token>" with one of METRICS_TOKENS, as Directus
// does; anyone else gets 403 FORBIDDEN. A nil metrics serves next alone.
func (x *metrics) mount(next http.Handler, m *users.Manager, cfg config) http.Handler {
	if x == nil {
		return next
	}
	admin := httpapi.BearerToken(cfg.AdminToken)
	var tokens [][32]byte
	for _, t := range cfg.MetricsTokens {
		tokens = append(tokens, sha256.Sum256([]byte(t)))
	}
	allowed := func(r *http.Request) bool {
		if admin(r) {
			return true
		}
		scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		switch {
		case strings.EqualFold(scheme, "Metrics") && cred != "":
			sum := sha256.Sum256([]byte(cred))
			ok := 0
			for _, t := range tokens {
				ok |= subtle.ConstantTimeCompare(sum[:], t[:])
			}
			return ok == 1
		case strings.EqualFold(scheme, "Bearer") && strings.Count(cred, ".") == 2:
			p, err := m.ResolveAccessToken(r.Context(), cred)
			return err == nil && p.Admin
		}
		return false
	}
	serve := promhttp.HandlerFor(x.reg, promhttp.HandlerOpts{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if !allowed(r) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":[{"message":"You don't have permission to access this.","extensions":{"code":"FORBIDDEN"}}]}`))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		serve.ServeHTTP(w, r)
	})
	mux.Handle("/", next)
	return mux
}
