package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gousers/users/store"
)

// Mails come oldest first; mails created at the same instant, by ID.
func TestCompareMail(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := []*store.Mail{
		{ID: "b", CreatedAt: t0},
		{ID: "c", CreatedAt: t0.Add(-time.Second)},
		{ID: "a", CreatedAt: t0.In(time.FixedZone("X", 3600))}, // the same instant
		{ID: "a0", CreatedAt: t0.Add(time.Microsecond)},
	}
	slices.SortFunc(ms, store.CompareMail)
	var got []string
	for _, m := range ms {
		got = append(got, m.ID)
	}
	if want := []string{"c", "a", "b", "a0"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if c := store.CompareMail(ms[0], ms[0]); c != 0 {
		t.Errorf("a mail compared with itself: %d, want 0", c)
	}
}
