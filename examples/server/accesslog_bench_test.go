package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far: on a busy
// machine it measures the work of a request better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAccessLog is what withAccessLog adds to a request: the request
// id, the context, the status recorder and the log line (to nothing, to
// a file as a server's stderr often is, and to a file through the
// logBuffer the server writes its log through).
func BenchmarkAccessLog(b *testing.B) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, out := range []struct {
		name string
		w    io.Writer
	}{{"none", nil}, {"discard", io.Discard}, {"file", f}, {"buffered-file", newLogBuffer(f)}} {
		b.Run(out.name, func(b *testing.B) {
			var h http.Handler = inner
			if out.w != nil {
				log := slog.New(withRequestID(slog.NewTextHandler(out.w, nil)))
				h = withAccessLog(log, nil, inner)
			}
			mux := http.NewServeMux()
			mux.Handle("GET /users/register/verify-email", h)
			r := httptest.NewRequest("GET", "/users/register/verify-email?token=x", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				r.Header.Del("X-Request-Id") // a client's request has none
				mux.ServeHTTP(w, r)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}
