package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
	"github.com/gousers/users/userstest"
	"github.com/gousers/users/webui"
)

// benchStores are the stores the page benchmarks run on.
var benchStores = map[string]func(b *testing.B) store.Store{
	"memstore": func(*testing.B) store.Store { return newStore() },
	"sqlite": func(b *testing.B) store.Store {
		s, db, err := sqlitestore.Open(filepath.Join(b.TempDir(), "users.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close(); _ = db.Close() })
		return s
	},
}

// BenchmarkPages exists to show that the busiest admin pages stay fast with
// 10,000 users: the users list (first and a deep page, searched) and a role
// page of 5,000 users render in well under 5 ms at the median, because the
// store pages, filters and counts (ListUsers with Limit/Offset, CountUsers)
// instead of the console loading every user. ms-median is the median of the
// iterations.
func BenchmarkPages(b *testing.B) {
	for name, open := range benchStores {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			m, err := users.New(open(b), memmailer.New(), users.WithHasher(userstest.Hasher{}), limits(func(l *users.Limits) { l.Mail = nil }))
			if err != nil {
				b.Fatal(err)
			}
			role, err := m.CreateRole(ctx, users.Role{Name: "Editors"})
			if err != nil {
				b.Fatal(err)
			}
			for i := range 10_000 {
				in := users.CreateUserInput{Email: fmt.Sprintf("user%05d@example.com", i), FirstName: "User", LastName: fmt.Sprint(i)}
				if i%2 == 0 {
					in.Role = &role.ID
				}
				if _, err := m.CreateUser(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			h := webui.New(m, webui.WithAuthorizer(func(*http.Request) bool { return true }))
			for _, page := range []struct{ name, path string }{
				{"users", "/admin/users"},
				{"users-page-150", "/admin/users?page=150"},
				{"users-search", "/admin/users?q=user0999&status=active"},
				{"role", "/admin/roles/" + role.ID},
				{"role-add-existing", "/admin/roles/" + role.ID + "?panel=add&q=user"},
			} {
				b.Run(page.name, func(b *testing.B) {
					b.ReportAllocs()
					var took []time.Duration
					for b.Loop() {
						start := time.Now()
						w := httptest.NewRecorder()
						h.ServeHTTP(w, httptest.NewRequest("GET", page.path, nil))
						took = append(took, time.Since(start))
						if w.Code != http.StatusOK {
							b.Fatalf("%s: %d", page.path, w.Code)
						}
					}
					slices.Sort(took)
					b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "ms-median")
				})
			}
		})
	}
}
