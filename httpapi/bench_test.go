package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/userstest"
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

// BenchmarkMiddleware is what Authenticate adds to a request that carries
// a session cookie, on SQLite: the JWT check and the resolution of the
// session, its user and what the user's role grants it (admin access,
// enforced two-factor sign-in: the role has neither, so it is looked at),
// then RequireUser. reads/op counts the Store calls; cpu-µs/op is the
// CPU time the process spent per request (user and system, every thread:
// SQLite's work included), steadier than ns/op on a busy machine.
func BenchmarkMiddleware(b *testing.B) {
	ctx := context.Background()
	s, db, err := sqlitestore.Open(filepath.Join(b.TempDir(), "users.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close(); _ = db.Close() })
	cs := newCountingStore(s)
	m, err := users.New(cs, memmailer.New(), users.WithHasher(userstest.Hasher{}))
	if err != nil {
		b.Fatal(err)
	}
	role, err := m.CreateRole(ctx, users.Role{Name: "Member"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.CreateUser(ctx, users.CreateUserInput{Email: "ada@example.com", Password: "pw-pw-pw-pw", Role: &role.ID}); err != nil {
		b.Fatal(err)
	}
	sess, err := m.Login(ctx, users.LoginInput{Email: "ada@example.com", Password: "pw-pw-pw-pw", SessionCookie: true})
	if err != nil {
		b.Fatal(err)
	}
	h := httpapi.Authenticate(m)(httpapi.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpapi.PrincipalFrom(r.Context()) == nil {
			b.Fatal("no principal")
		}
	})))
	r := httptest.NewRequest("GET", "/team", nil)
	r.AddCookie(&http.Cookie{Name: httpapi.DefaultSessionCookieName, Value: sess.AccessToken})
	w := httptest.NewRecorder()
	b.ReportAllocs()
	cs.take()
	cpu0 := cpuTime()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e3, "cpu-µs/op")
	if w.Code != http.StatusOK {
		b.Fatalf("status %d", w.Code)
	}
	b.ReportMetric(float64(cs.total.Load())/float64(b.N), "reads/op")
}
