package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/cors"
)

// This file holds what wraps every request: the request id, the access
// log and request metrics (withAccessLog), and CORS (withCORS).

// maxRequestIDLen bounds an X-Request-Id taken from a client.
const maxRequestIDLen = 128

// validRequestID reports whether a client's X-Request-Id may be echoed
// and logged: 1 to maxRequestIDLen characters from A-Z a-z 0-9 and
// ".-_:", enough for UUIDs and the ids of common proxies, nothing that
// could forge a log line or a header.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

type requestIDKey struct{}

// requestID returns the request id withAccessLog put in ctx, if any.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID makes a log handler add the request id to every record
// logged with a request's context, so that the API's and the library's
// log lines about a request carry the id its access log line does.
func withRequestID(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// statusWriter records the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withAccessLog gives every request an id — the client's X-Request-Id
// when it is valid (see validRequestID), else a new UUID — echoed in the
// answer's X-Request-Id and put in the request's context; then, once the
// answer is written, logs one line (method, route pattern, status,
// duration, request id) and counts the request in metrics (which may be
// nil). It logs the route pattern, never the path or the query, where a
// token may travel.
func withAccessLog(log *slog.Logger, metrics *metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		r = r.WithContext(ctx)
		// The handlers record the same id in the activity log.
		r.Header.Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		took := time.Since(start)
		route := routeOf(r)
		log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", sw.status),
			slog.Float64("duration_ms", float64(took.Microseconds())/1000))
		metrics.request(r.Method, route, sw.status, took)
	})
}

// routeOf is the pattern that served r, without its method ("/users/{id}"),
// or a fixed word when none did: "preflight" for a CORS preflight, which
// withCORS answers itself, "unmatched" otherwise. Only patterns and these
// words reach logs and metric labels, so neither grows with what clients
// send (the method label is bounded too: see methodLabel).
func routeOf(r *http.Request) string {
	p := r.Pattern
	if _, path, ok := strings.Cut(p, " "); ok {
		p = path
	}
	switch {
	case p != "":
		return p
	case r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "":
		return "preflight"
	}
	return "unmatched"
}

// withCORS answers cross-origin requests as Directus's CORS_* variables
// say (github.com/rs/cors), when CORS_ENABLED is true.
//
// One difference from Directus: when CORS_ORIGIN allows any origin (true
// or *), credentials are not allowed (the answer is
// Access-Control-Allow-Origin: *), whatever CORS_CREDENTIALS says —
// Directus reflects any origin with credentials, which lets every web
// site act with a visitor's cookies.
//
// The admin console (consolePrefix) is never shared: it is pages for
// people, not an API, and its session cookie would otherwise let a script
// on a listed origin read it.
func withCORS(cfg config, next http.Handler) http.Handler {
	if !cfg.CORSEnabled || len(cfg.CORSOrigins) == 0 {
		return next // rs/cors would read an empty list as "any origin"
	}
	opts := cors.Options{
		AllowedMethods:   cfg.CORSMethods,
		AllowedHeaders:   cfg.CORSAllowedHeaders,
		ExposedHeaders:   cfg.CORSExposedHeaders,
		AllowCredentials: cfg.CORSCredentials && !cfg.anyOrigin(),
		MaxAge:           cfg.CORSMaxAge,
	}
	if cfg.anyOrigin() {
		opts.AllowedOrigins = []string{"*"}
	} else {
		// Our own matching (origin.go), not rs/cors's, which reads a '*'
		// anywhere as "any text": "https://*example.com" would allow
		// https://evilexample.com.
		var patterns []originPattern
		for _, o := range cfg.CORSOrigins {
			if p, err := parseOriginPattern(o); err == nil { // loadConfig refused the others
				patterns = append(patterns, p)
			}
		}
		opts.AllowOriginFunc = func(origin string) bool { return originAllowed(patterns, origin) }
	}
	c := cors.New(opts)
	api := c.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == consolePrefix || strings.HasPrefix(p, consolePrefix+"/") {
			next.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// warnCORS says at start-up that an explicit CORS_CREDENTIALS=true is
// ignored with any origin (see withCORS).
func warnCORS(cfg config, log *slog.Logger) {
	if cfg.CORSEnabled && cfg.anyOrigin() && cfg.CORSCredentials && cfg.set["CORS_CREDENTIALS"] {
		log.Warn("CORS_CREDENTIALS=true is ignored with CORS_ORIGIN allowing any origin: credentials are allowed only for listed origins (Directus allows them for any)")
	}
}
