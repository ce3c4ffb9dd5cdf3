package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/userstest"
)

// sleepHasher is the test hasher taking d per hash: slow as a real one,
// without its CPU.
type sleepHasher struct {
	userstest.Hasher
	d time.Duration
}

func (h sleepHasher) Hash(pw string) (string, error) {
	time.Sleep(h.d)
	return h.Hasher.Hash(pw)
}

func (h sleepHasher) Verify(pw, enc string) (bool, error) {
	time.Sleep(h.d)
	return h.Hasher.Verify(pw, enc)
}

// POST /auth/login from one client spraying ever-new addresses over 128
// connections, each request with a forged X-Forwarded-For naming a new
// address, denies the owner neither its login with its device cookie nor
// its password login from its own IP (each within 2 s, 3 runs): the
// hashing gate's client is the IP ClientIP finds, so straight to the
// server (no trusted proxy) the forged header is ignored, and behind a
// trusted proxy only the address the proxy appended counts. The per-IP
// limit over all addresses is off: this is the gate's fair share.
//
// Checked against ClientIP believing X-Forwarded-For from any peer: each
// spray request was a client of its own, the owner's password login
// waited its turn among them, and the test failed.
func TestLoginSprayWithForgedForwardedFor(t *testing.T) {
	t.Parallel()
	const (
		sprayIP = "203.0.113.66"
		ownerIP = "192.0.2.10"
		proxyIP = "10.0.0.1"
	)
	for _, viaProxy := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "behind a trusted proxy"}[viaProxy], func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, fixtureConfig{
				manager: []users.Option{users.WithHasher(sleepHasher{d: 40 * time.Millisecond}), func() users.Limits {
					l := users.DefaultLimits()
					l.HashConcurrency = 2
					l.LoginIPTotal = nil
					return l
				}()},
				handler: []httpapi.Option{httpapi.WithTrustedProxies(netip.MustParsePrefix(proxyIP + "/32"))},
			})
			f.owner(nil)
			// from builds a login request from client ip, its own forged
			// X-Forwarded-For entry first.
			from := func(ip, forged, body string) *http.Request {
				r := request("POST", "/auth/login", body)
				if viaProxy {
					r.RemoteAddr = proxyIP + ":4000"
					r.Header.Set("X-Forwarded-For", forged+", "+ip)
				} else {
					r.RemoteAddr = ip + ":4000"
					r.Header.Set("X-Forwarded-For", forged)
				}
				return r
			}
			w := f.serve(from(ownerIP, "192.0.2.99", loginBody(ownerEmail, password, "")))
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			device := cookie(t, w, httpapi.DefaultDeviceCookieName)

			for run := range 3 {
				ctx, stop := context.WithCancel(f.ctx)
				var wg sync.WaitGroup
				var attempts atomic.Int64
				for i := range 128 {
					wg.Go(func() {
						for n := 0; ctx.Err() == nil; n++ {
							forged := fmt.Sprintf("198.51.%d.%d", i, n%250+1)
							r := from(sprayIP, forged, loginBody(fmt.Sprintf("s-%d-%d-%d@example.com", run, i, n), "a guess", ""))
							rw := httptest.NewRecorder()
							f.h.ServeHTTP(rw, r.WithContext(ctx))
							attempts.Add(1)
							if rw.Code == http.StatusServiceUnavailable {
								time.Sleep(5 * time.Millisecond)
							}
						}
					})
				}
				deadline := time.Now().Add(5 * time.Second)
				for {
					running, waiting := gateLoad(t, f.m)
					if running == 2 && waiting >= 64 {
						break
					}
					require.True(t, time.Now().Before(deadline), "run %d: the spray did not fill the gate", run)
					time.Sleep(5 * time.Millisecond)
				}
				withDevice := from(ownerIP, "203.0.113.66", loginBody(ownerEmail, password, ""))
				withDevice.AddCookie(&http.Cookie{Name: device.Name, Value: device.Value})
				legit := map[string]*http.Request{
					"device cookie": withDevice,
					"password":      from(ownerIP, "203.0.113.67", loginBody(ownerEmail, password, "")),
				}
				type result struct {
					name string
					code int
					took time.Duration
				}
				results := make(chan result, len(legit))
				for name, r := range legit {
					go func() {
						t0 := time.Now()
						rw := httptest.NewRecorder()
						f.h.ServeHTTP(rw, r)
						results <- result{name, rw.Code, time.Since(t0)}
					}()
				}
				for range legit {
					r := <-results
					assert.Equal(t, http.StatusOK, r.code, "run %d: %s", run, r.name)
					assert.Less(t, r.took, 2*time.Second, "run %d: %s", run, r.name)
					t.Logf("run %d: %s login answered %d after %v", run, r.name, r.code, r.took)
				}
				stop()
				wg.Wait()
				t.Logf("run %d: the spray made %d attempts", run, attempts.Load())
			}
		})
	}
}

// gateLoad reads how many calls hold a hashing slot and how many wait
// from the Manager's health report.
func gateLoad(t *testing.T, m *users.Manager) (running, waiting int) {
	t.Helper()
	h, err := m.Health(context.Background())
	require.NoError(t, err)
	value := func(name string) int {
		require.NotEmpty(t, h.Checks[name], name)
		n, ok := h.Checks[name][0].ObservedValue.(int)
		require.True(t, ok, "%s: %T", name, h.Checks[name][0].ObservedValue)
		return n
	}
	return value("hashing:running"), value("hashing:waiting")
}
