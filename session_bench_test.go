package users_test

import (
	"context"
	"testing"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/userstest"
)

// BenchmarkResolveAccessToken is the cost every authenticated request
// pays for immediate revocation: the JWT check plus reading the session,
// the user and its role from the store. On SQLite it shows what a
// stateless verifier would save.
func BenchmarkResolveAccessToken(b *testing.B) {
	for _, kind := range benchStores {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			m, err := users.New(benchOpenStore(b, kind), memmailer.New(), users.WithHasher(userstest.Hasher{}))
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
			s, err := m.Login(ctx, users.LoginInput{Email: "ada@example.com", Password: "pw-pw-pw-pw"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.ResolveAccessToken(ctx, s.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefresh is one rotation: a new refresh token stored (the old
// one kept for reuse detection) and an access token signed.
func BenchmarkRefresh(b *testing.B) {
	for _, kind := range benchStores {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			m, err := users.New(benchOpenStore(b, kind), memmailer.New(), users.WithHasher(userstest.Hasher{}))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.CreateUser(ctx, users.CreateUserInput{Email: "ada@example.com", Password: "pw-pw-pw-pw"}); err != nil {
				b.Fatal(err)
			}
			s, err := m.Login(ctx, users.LoginInput{Email: "ada@example.com", Password: "pw-pw-pw-pw"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if s, err = m.Refresh(ctx, s.RefreshToken); err != nil {
					b.Fatal(err)
				}
				if n++; n%1000 == 0 { // a session keeps every rotated hash: start a fresh one now and then
					b.StopTimer()
					if s, err = m.Login(ctx, users.LoginInput{Email: "ada@example.com", Password: "pw-pw-pw-pw"}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
		})
	}
}
