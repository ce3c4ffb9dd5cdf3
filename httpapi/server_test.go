package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// raw serves r without the JSON checks of fixture.serve.
func (f *fixture) raw(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func TestPing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, method := range []string{"GET", "HEAD"} {
		w := f.raw(request(method, "/server/ping", ""))
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
		if method == "GET" {
			assert.Equal(t, "pong", w.Body.String())
		}
	}
	wantError(t, f.do("POST", "/server/ping", ""), http.StatusNotFound, "ROUTE_NOT_FOUND", "")
}

// failingStats makes MailStats fail while down is set.
type failingStats struct {
	store.Store
	mu   sync.Mutex
	down bool
}

func (s *failingStats) set(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *failingStats) MailStats(ctx context.Context) (store.MailStats, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return store.MailStats{}, errors.New("connection refused")
	}
	return s.Store.MailStats(ctx)
}

func TestHealth(t *testing.T) {
	t.Parallel()
	var st *failingStats
	f := newFixtureWith(t, fixtureConfig{
		store:   func(m *memstore.Store) store.Store { st = &failingStats{Store: m}; return st },
		handler: []httpapi.Option{httpapi.WithServiceID("svc-1")},
	})
	get := func(admin bool) (*httptest.ResponseRecorder, map[string]any) {
		r := request("GET", "/server/health", "")
		if admin {
			r.Header.Set("Authorization", "Bearer "+adminToken)
		}
		w := f.raw(r)
		assert.Equal(t, "application/health+json; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
		var body map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
		return w, body
	}

	w, body := get(false)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, map[string]any{"status": "ok"}, body, "anonymous callers get the status alone")

	w, body = get(true)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "ok", body["status"])
	assert.Equal(t, "svc-1", body["serviceId"])
	checks, ok := body["checks"].(map[string]any)
	require.True(t, ok, w.Body.String())
	for _, name := range []string{"database:responseTime", "outbox:pending", "outbox:oldestPendingAge", "email:lastDelivery", "hashing:running", "hashing:waiting"} {
		c, ok := checks[name].([]any)
		require.True(t, ok, name)
		require.Len(t, c, 1)
		assert.Equal(t, "ok", c[0].(map[string]any)["status"], name)
	}

	// An administrator's access token sees the checks too; another user's
	// does not.
	f.adminUser("root@example.com")
	f.create(users.CreateUserInput{Email: "member@example.com", Password: password})
	for email, admin := range map[string]bool{"root@example.com": true, "member@example.com": false} {
		s, err := f.m.Login(f.ctx, users.LoginInput{Email: email, Password: password})
		require.NoError(t, err)
		r := request("GET", "/server/health", "")
		r.Header.Set("Authorization", "Bearer "+s.AccessToken)
		w := f.raw(r)
		assert.Equal(t, admin, strings.Contains(w.Body.String(), `"checks"`), email)
	}

	// A pending mail stuck past the threshold: warn, still 200.
	_, err := f.m.Invite(f.ctx, users.InviteInput{Emails: []string{"a@example.com"}, Role: f.role.ID})
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	w, body = get(false)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, map[string]any{"status": "warn"}, body)

	st.set(true)
	w, body = get(false)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, map[string]any{"status": "error"}, body)
	w, body = get(true)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotContains(t, w.Body.String(), "connection refused", "the store's error is logged, not shown")
	assert.Equal(t, "error", body["checks"].(map[string]any)["database:responseTime"].([]any)[0].(map[string]any)["status"])
}

// Monitors poll the server routes: the per-IP limit of the public routes
// does not apply to them.
func TestServerRoutesAreNotRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t, httpapi.WithRateLimiter(&users.MemoryLimiter{Points: 1, Window: time.Hour}))
	for range 5 {
		assert.Equal(t, http.StatusOK, f.raw(request("GET", "/server/ping", "")).Code)
		assert.Equal(t, http.StatusOK, f.raw(request("GET", "/server/health", "")).Code)
	}
}
