package memstore_test

import (
	"testing"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// Times are kept to the microsecond, in UTC, like a PostgreSQL timestamptz.
func TestTimesTruncatedToMicrosecond(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memstore.New()
	at := time.Date(2026, 1, 2, 8, 34, 5, 123456789, time.FixedZone("x", 5*3600+1800))
	u := &store.User{ID: "8f0c3c9e-5f7a-4e55-9a52-000000000003", Status: store.StatusActive, CreatedAt: at, UpdatedAt: at}
	if err := s.CreateUser(ctx, u, store.Effects{}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	if got.CreatedAt != want {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want)
	}
}
