package memstore_test

import (
	"testing"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// Metadata is stored as JSON stores it: a value JSON cannot encode is
// refused at once, and numbers come back as float64, as from the SQL
// stores.
func TestMetadataIsJSON(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memstore.New()
	u := &store.User{ID: "8f0c3c9e-5f7a-4e55-9a52-000000000001", Status: store.StatusActive,
		Metadata: map[string]any{"seats": 3, "names": []string{"a"}}}
	if err := s.CreateUser(ctx, u, store.Effects{}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if v, ok := got.Metadata["seats"].(float64); !ok || v != 3 {
		t.Errorf("seats = %#v, want float64(3)", got.Metadata["seats"])
	}
	if v, ok := got.Metadata["names"].([]any); !ok || len(v) != 1 || v[0] != "a" {
		t.Errorf("names = %#v, want []any{\"a\"}", got.Metadata["names"])
	}

	bad := &store.User{ID: "8f0c3c9e-5f7a-4e55-9a52-000000000002", Status: store.StatusActive,
		Metadata: map[string]any{"f": func() {}}}
	if err := s.CreateUser(ctx, bad, store.Effects{}); err == nil {
		t.Error("CreateUser with metadata JSON cannot encode succeeded")
	}
	if _, err := s.GetUser(ctx, bad.ID); err == nil {
		t.Error("the refused user was stored")
	}
}

// UpdateUsers refuses an email change: one key cannot go to many users.
func TestUpdateUsersRefusesEmail(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memstore.New()
	u := &store.User{ID: "8f0c3c9e-5f7a-4e55-9a52-000000000004", Email: "a@example.com", Status: store.StatusActive, EmailKey: "a@example.com"}
	if err := s.CreateUser(ctx, u, store.Effects{}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	email := "b@example.com"
	if err := s.UpdateUsers(ctx, []string{u.ID}, store.Condition{}, store.UserChange{Email: &email, EmailKey: &email}); err == nil {
		t.Error("UpdateUsers changing the email succeeded")
	}
	if got, err := s.GetUser(ctx, u.ID); err != nil || got.Email != "a@example.com" {
		t.Errorf("GetUser after it = %+v, %v; want the email unchanged", got, err)
	}
}
