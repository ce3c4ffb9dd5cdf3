package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// BenchmarkRequestPath is what the handler adds to a request around the
// Manager: the headers, the request's facts for the events, routing,
// decoding the body and encoding the answer (an error envelope, or 204).
// The store is a memstore and the hasher the fast test one, so that the
// handler's own share is what varies. The refusals (a token never issued,
// a body that is not JSON, an admin route without credentials, an unknown
// route) touch no store at all; verify, accept and invite are the flows
// over HTTP, each on a fresh token or address. Compare allocs/op and
// ns/op with the same flows called on the Manager directly.
func BenchmarkRequestPath(b *testing.B) {
	ctx := context.Background()
	mail := memmailer.New()
	m, err := users.New(memstore.New(), mail, users.WithHasher(userstest.Hasher{}),
		users.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	role, err := m.CreateRole(ctx, users.Role{Name: "Member"})
	if err != nil {
		b.Fatal(err)
	}
	s := users.DefaultSettings()
	s.PublicRegistration, s.PublicRegistrationRole = true, &role.ID
	if _, err := m.UpdateSettings(ctx, s); err != nil {
		b.Fatal(err)
	}
	h := httpapi.New(m, httpapi.WithAuthorizer(httpapi.BearerToken(adminToken)),
		httpapi.WithLogger(slog.New(slog.DiscardHandler)))
	const garbage = "J0sQm0dM4y1b6Pz3nN1D8fW6kqUuJ2Qm9xV2cL7bE4a"

	serve := func(b *testing.B, method, target, body string, bearer bool) int {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, target, rd)
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("User-Agent", "bench")
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if bearer {
			r.Header.Set("Authorization", "Bearer "+adminToken)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	fixed := []struct {
		name, method, target, body string
		status                     int
	}{
		{"ping", "GET", "/server/ping", "", 200},
		{"not-found", "GET", "/nowhere", "", 404},
		{"no-auth", "GET", "/users?limit=1", "", 403},
		{"verify-garbage", "GET", "/users/register/verify-email?token=" + garbage, "", 403},
		{"accept-garbage", "POST", "/users/invite/accept", `{"token":"` + garbage + `","password":"correct-Horse-battery-9-staple!"}`, 403},
		{"malformed-json", "POST", "/auth/password/request", `{"email": "a@example.com", "reset_url": `, 400},
	}
	for _, f := range fixed {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := serve(b, f.method, f.target, f.body, false); got != f.status {
					b.Fatalf("status %d, want %d", got, f.status)
				}
			}
		})
	}

	// tokens registers (or invites) n addresses and returns the tokens
	// mailed to them.
	seq := 0
	tokens := func(b *testing.B, n int, invite bool) []string {
		emails := make([]string, n)
		for i := range emails {
			seq++
			emails[i] = "u" + strings.Repeat("x", 3) + itoa(seq) + "@example.com"
			if invite {
				if _, err := m.Invite(ctx, users.InviteInput{Emails: emails[i : i+1], Role: role.ID}); err != nil {
					b.Fatal(err)
				}
			} else if err := m.Register(ctx, users.RegisterInput{Email: emails[i], Password: "correct-Horse-battery-9"}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := m.DeliverPending(ctx); err != nil {
			b.Fatal(err)
		}
		toks := make([]string, n)
		for i, e := range emails {
			if ms := mail.To(e); len(ms) > 0 {
				toks[i] = memmailer.Token(ms[len(ms)-1])
			}
			if toks[i] == "" {
				b.Fatalf("no token mailed to %s", e)
			}
		}
		return toks
	}
	b.Run("verify", func(b *testing.B) {
		toks := tokens(b, b.N, false)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if got := serve(b, "GET", "/users/register/verify-email?token="+toks[i], "", false); got != 204 {
				b.Fatalf("status %d", got)
			}
		}
	})
	b.Run("accept", func(b *testing.B) {
		toks := tokens(b, b.N, true)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if got := serve(b, "POST", "/users/invite/accept", `{"token":"`+toks[i]+`","password":"correct-Horse-battery-9-staple!"}`, false); got != 204 {
				b.Fatalf("status %d", got)
			}
		}
	})
	b.Run("invite", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			seq++
			if got := serve(b, "POST", "/users/invite", `{"email":"i`+itoa(seq)+`@example.com","role":"`+role.ID+`"}`, true); got != 204 {
				b.Fatalf("status %d", got)
			}
		}
	})
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
