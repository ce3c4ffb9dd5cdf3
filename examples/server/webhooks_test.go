package main

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The signature reproduces the test vector the Standard Webhooks
// specification publishes: a receiver's library accepts what we send.
func TestWebhookSignatureTestVector(t *testing.T) {
	t.Parallel()
	key, err := webhookKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	assert.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		signWebhook(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`)))
	// Any change to id, time or body changes it.
	assert.NotEqual(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		signWebhook(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, []byte(`{"test": 2432232314}`)))
}

func TestWebhookConfig(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	for name, tc := range map[string]struct {
		env  map[string]string
		want string // "" : accepted
	}{
		"https elsewhere":      {map[string]string{"WEBHOOK_URLS": "https://hooks.example.net/in", "WEBHOOK_SECRET": secret}, ""},
		"http on loopback":     {map[string]string{"WEBHOOK_URLS": "http://127.0.0.1:9000/in", "WEBHOOK_SECRET": secret}, ""},
		"http on own host":     {map[string]string{"PUBLIC_URL": "https://users.example.com", "WEBHOOK_URLS": "http://users.example.com:9000/in", "WEBHOOK_SECRET": secret}, ""},
		"http elsewhere":       {map[string]string{"WEBHOOK_URLS": "http://hooks.example.net/in", "WEBHOOK_SECRET": secret}, "WEBHOOK_ALLOW_HTTP"},
		"http elsewhere, told": {map[string]string{"WEBHOOK_URLS": "http://hooks.example.net/in", "WEBHOOK_SECRET": secret, "WEBHOOK_ALLOW_HTTP": "true"}, ""},
		"no secret":            {map[string]string{"WEBHOOK_URLS": "https://hooks.example.net/in"}, "WEBHOOK_SECRET is required"},
		"not whsec":            {map[string]string{"WEBHOOK_URLS": "https://hooks.example.net/in", "WEBHOOK_SECRET": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "WEBHOOK_SECRET"},
		"short secret":         {map[string]string{"WEBHOOK_URLS": "https://hooks.example.net/in", "WEBHOOK_SECRET": "whsec_c2hvcnQ="}, "24 to 64 bytes"},
		"not a URL":            {map[string]string{"WEBHOOK_URLS": "ftp://x/y", "WEBHOOK_SECRET": secret}, "WEBHOOK_URLS"},
		"retention":            {map[string]string{"RETENTION_ENABLED": "true", "ACTIVITY_RETENTION": "soon"}, "ACTIVITY_RETENTION"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(env(tc.env))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "the secret is never echoed")
		})
	}
	c, err := loadConfig(env(map[string]string{"RETENTION_ENABLED": "true"}))
	require.NoError(t, err)
	assert.Equal(t, 90*24*time.Hour, c.ActivityRetention, "Directus's default, 90d")
}

// A running server POSTs every event, signed, to the web hook; a failing
// endpoint gets the same event again (same webhook-id, new signature).
func TestWebhooksDelivered(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, err := webhookKey(secret)
	require.NoError(t, err)
	type hit struct {
		id, ts, sig string
		body        []byte
	}
	var (
		mu   sync.Mutex
		hits []hit
		fail = 1 // the first delivery fails
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		hits = append(hits, hit{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body})
		if fail > 0 {
			fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	s := startServer(t, map[string]string{
		"WEBHOOK_URLS": hook.URL + "/in", "WEBHOOK_SECRET": secret,
		"MAIL_RETRY_BACKOFF": "200ms", "MAIL_POLL_INTERVAL": "100ms",
	})
	s.ok("POST", "/users", map[string]any{"email": "hooked@example.com"}, true)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hits) >= 2
	}, 30*time.Second, 50*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	first, second := hits[0], hits[1]
	assert.Equal(t, first.id, second.id, "a retry keeps the webhook-id")
	assert.True(t, strings.HasPrefix(first.id, "evt_"), first.id)
	assert.Equal(t, first.body, second.body)
	for _, h := range hits {
		ts, err := strconv.ParseInt(h.ts, 10, 64)
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), time.Unix(ts, 0), time.Minute)
		want := signWebhook(key, h.id, ts, h.body)
		assert.True(t, hmac.Equal([]byte(want), []byte(h.sig)), "signature %s, want %s", h.sig, want)
	}
	var payload struct {
		Type string `json:"type"`
		Data struct {
			Flow  string `json:"flow"`
			Email string `json:"email"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(second.body, &payload))
	assert.Equal(t, "user.created", payload.Type)
	assert.Equal(t, "hooked@example.com", payload.Data.Email)
}
