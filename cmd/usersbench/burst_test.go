package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// slowHasher is the test hasher, taking d per hash: a stand-in for argon2id
// whose duration the hashing gate measures.
type slowHasher struct {
	userstest.Hasher
	d time.Duration
}

func (h slowHasher) Hash(pw string) (string, error) {
	time.Sleep(h.d)
	return h.Hasher.Hash(pw)
}

func (h slowHasher) Verify(pw, enc string) (bool, error) {
	time.Sleep(h.d)
	return h.Hasher.Verify(pw, enc)
}

// A burst against the real handler, whose hashing gate holds one 20 ms
// hash at a time and admits waits up to 100 ms: some registrations are
// served, the rest shed with 503 and a Retry-After, and nothing else.
func TestBurstAgainstTheHandler(t *testing.T) {
	t.Parallel()
	lim := users.DefaultLimits()
	lim.HashConcurrency, lim.HashQueue, lim.HashWaitBudget = 1, 1024, 100*time.Millisecond
	lim.Mail = nil
	m, err := users.New(memstore.New(), memmailer.New(), users.WithHasher(slowHasher{d: 20 * time.Millisecond}),
		lim, users.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	srv := httptest.NewServer(httpapi.New(m, httpapi.WithAuthorizer(httpapi.BearerToken("admin-token-0123456789"))))
	t.Cleanup(srv.Close)

	cfg, err := parseArgs([]string{"-http", srv.URL, "-admin-token", "admin-token-0123456789",
		"-burst", "40", "-bursts", "2", "-c", "1", "-d", "50ms", "-argon2", "8,1,1", "-json"}, io.Discard)
	require.NoError(t, err)
	assert.Empty(t, cfg.Ops, "without -ops the burst is all the run does")
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))

	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.NotNil(t, rep.Ceiling)
	require.Len(t, rep.Bursts, 2)
	for _, b := range rep.Bursts {
		assert.Equal(t, 40, b.N)
		assert.Zero(t, b.Other, "%v", b.OtherKinds)
		assert.Equal(t, 40, b.Served+b.Shed)
		assert.Positive(t, b.Served)
		assert.Positive(t, b.Shed, "the gate sheds what it cannot serve within its budget")
		assert.Zero(t, b.NoRetryAfter, "every shed answer says when to come back")
		assert.GreaterOrEqual(t, b.RetryAfterMin, 1)
		assert.Positive(t, b.Target)
		assert.GreaterOrEqual(t, b.ServedMaxMs, b.ServedP50ms)
	}

	var table bytes.Buffer
	require.NoError(t, rep.writeTable(&table))
	assert.Contains(t, table.String(), "Retry-After s")
}

func TestSummarizeBurst(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	r := summarizeBurst([]burstAnswer{
		{status: http.StatusNoContent, took: 100 * ms},
		{status: http.StatusNoContent, took: 300 * ms},
		{status: http.StatusServiceUnavailable, took: 2 * ms, retryAfter: 5},
		{status: http.StatusServiceUnavailable, took: 4 * ms, retryAfter: 3},
		{status: http.StatusServiceUnavailable, took: 1 * ms, retryAfter: -1},
		{status: http.StatusBadRequest, kind: "HTTP 400 INVALID_PAYLOAD"},
	}, time.Second)
	assert.Equal(t, 6, r.N)
	assert.Equal(t, 2, r.Served)
	assert.Equal(t, 3, r.Shed)
	assert.Equal(t, 1, r.Other)
	assert.Equal(t, map[string]int{"HTTP 400 INVALID_PAYLOAD": 1}, r.OtherKinds)
	assert.Equal(t, 300.0, r.ServedP99ms)
	assert.Equal(t, 100.0, r.ServedP50ms)
	assert.Equal(t, 4.0, r.ShedMaxMs)
	assert.Equal(t, [2]int{3, 5}, [2]int{r.RetryAfterMin, r.RetryAfterMax})
	assert.Equal(t, 1, r.NoRetryAfter)
}
