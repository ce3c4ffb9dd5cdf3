package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// brokenStore is a memstore whose user lookups fail while broken is set.
type brokenStore struct {
	*memstore.Store
	broken atomic.Bool
}

var errDown = errors.New("store: connection refused (db.internal:5432)")

func (s *brokenStore) GetUserByEmailKey(ctx context.Context, key string) (*store.User, error) {
	if s.broken.Load() {
		return nil, errDown
	}
	return s.Store.GetUserByEmailKey(ctx, key)
}

func (s *brokenStore) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	if s.broken.Load() {
		return nil, errDown
	}
	return s.Store.ListUsers(ctx, q)
}

func TestUnexpectedErrorsAre500AndLogged(t *testing.T) {
	t.Parallel()
	var bs *brokenStore
	f := newFixtureWith(t, fixtureConfig{store: func(m *memstore.Store) store.Store {
		bs = &brokenStore{Store: m}
		return bs
	}})
	f.openRegistration(true)
	bs.broken.Store(true)

	w := f.do("POST", "/users/register", registerBody("a@example.com", password))
	wantError(t, w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "An unexpected error occurred.")
	assert.NotContains(t, w.Body.String(), "db.internal")
	w = f.admin("GET", "/users", "")
	wantError(t, w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "An unexpected error occurred.")
	w = f.do("POST", "/auth/login", registerBody("a@example.com", password))
	wantError(t, w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "An unexpected error occurred.")

	logs := f.logs.String()
	assert.Contains(t, logs, "db.internal:5432")
	assert.Contains(t, logs, "path=/users/register")
	assert.Contains(t, logs, "path=/users ")
	assert.Contains(t, logs, "client_ip=192.0.2.1")
	// The fixture's cleanup checks that neither the password nor a hash
	// was logged.
}

// gatedHasher holds Verify while gate is set, after signalling entered
// (buffered, so that a call the hash gate should have refused is seen too
// and never blocks on the signal), until release is closed.
type gatedHasher struct {
	userstest.Hasher
	gate    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (h *gatedHasher) Verify(pw, encoded string) (bool, error) {
	if h.gate.Load() {
		select {
		case h.entered <- struct{}{}:
		default:
		}
		<-h.release
	}
	return h.Hasher.Verify(pw, encoded)
}

// With the only hashing slot taken and no queue, a login and a
// registration are refused at once: 503 with Retry-After. Each wait has
// its own deadline: with the hash gate gone (or queueing without bound)
// the second login would wait on the held hasher for ever.
func TestBusyIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	h := &gatedHasher{entered: make(chan struct{}, 8), release: make(chan struct{})}
	f := newFixtureWith(t, fixtureConfig{manager: []users.Option{
		users.WithHasher(h), limits(func(l *users.Limits) { l.HashConcurrency, l.HashQueue = 1, 0 }),
	}})
	f.create(users.CreateUserInput{Email: "ada@example.com", Password: password})
	f.openRegistration(true)
	h.gate.Store(true)
	var once sync.Once
	release := func() { once.Do(func() { h.gate.Store(false); close(h.release) }) }
	t.Cleanup(release) // frees whatever is still held when the test fails

	first := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, request("POST", "/auth/login", registerBody("ada@example.com", password)))
		first <- w
	}()
	testenv.Receive(t, h.entered, testenv.WaitLimit, "the first login never reached the hasher")

	var w, reg *httptest.ResponseRecorder
	testenv.Within(t, testenv.WaitLimit, "a login while the only hashing slot is taken was not refused at once: the hash gate let it wait or hash", func() {
		w = f.do("POST", "/auth/login", registerBody("ada@example.com", password))
	})
	wantError(t, w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", `Service "users" is unavailable. Too many requests in progress, try again later.`)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	testenv.Within(t, testenv.WaitLimit, "a registration while the only hashing slot is taken was not refused at once: the hash gate let it wait or hash", func() {
		reg = f.do("POST", "/users/register", registerBody("ada@example.com", password))
	})
	wantError(t, reg, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "")

	release()
	fw := testenv.Receive(t, first, testenv.WaitLimit, "the first login did not finish once the hasher was released")
	require.Equal(t, http.StatusOK, fw.Code, fw.Body.String())
}
