package httpapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// userView is the reference for appendUser: a user on the wire as
// encoding/json writes it, Directus's directus_users fields, empty
// strings as null, the password masked.
type userView struct {
	ID        string         `json:"id"`
	Email     *string        `json:"email"`
	Password  *string        `json:"password"`
	TFASecret *string        `json:"tfa_secret"` // masked when set, as Directus shows it
	FirstName *string        `json:"first_name"`
	LastName  *string        `json:"last_name"`
	Status    users.Status   `json:"status"`
	Role      *string        `json:"role"`
	Policies  []string       `json:"policies"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	// LastAccess is Directus's last_access: the last sign-in or refresh.
	LastAccess *time.Time `json:"last_access"`
}

func viewUser(u *users.User) userView {
	orNull := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	v := userView{
		ID: u.ID, Email: orNull(u.Email), FirstName: orNull(u.FirstName), LastName: orNull(u.LastName),
		Status: u.Status, Role: u.Role, Policies: u.Policies, Metadata: u.Metadata,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastAccess: u.LastAccess,
	}
	if u.HasPassword {
		v.Password = orNull(maskedPassword)
	}
	if u.TwoFactor {
		v.TFASecret = orNull(maskedPassword)
	}
	if v.Policies == nil {
		v.Policies = []string{}
	}
	return v
}

// selectFields is the reference for a selection of fields: the user with
// only the given fields, in the wire order; nil fields is the whole user.
func selectFields(v userView, fields []string) any {
	if fields == nil {
		return v
	}
	out := make(orderedObject, 0, len(fields))
	for _, f := range viewFields {
		if !slices.Contains(fields, f) {
			continue
		}
		var val any
		switch f {
		case "id":
			val = v.ID
		case "email":
			val = v.Email
		case "password":
			val = v.Password
		case "tfa_secret":
			val = v.TFASecret
		case "first_name":
			val = v.FirstName
		case "last_name":
			val = v.LastName
		case "status":
			val = v.Status
		case "role":
			val = v.Role
		case "policies":
			val = v.Policies
		case "metadata":
			val = v.Metadata
		case "created_at":
			val = v.CreatedAt
		case "updated_at":
			val = v.UpdatedAt
		case "last_access":
			val = v.LastAccess
		}
		out = append(out, orderedField{f, val})
	}
	return out
}

// TestAppendUserAsEncodingJSON holds appendUser to the bytes encoding/json
// writes for the same user (the reference types above), for several field
// selections of users whose strings need each kind of escaping, whose times
// have nanoseconds, an offset or neither, and whose optional fields are
// set, empty and absent.
func TestAppendUserAsEncodingJSON(t *testing.T) {
	t.Parallel()
	role, emptyRole := "8c1a0b5e-9d5e-4a59-9f43-2b0b4c3e7a11", ""
	last := time.Date(2026, 12, 8, 1, 2, 3, 456789000, time.UTC)
	east := time.FixedZone("east", 5*3600+30*60)
	strs := []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\x01",
		"ünïcødé ✓", "line\u2028sep\u2029", "bad \xff utf-8", "Ada Lovelace", "a<b", "x>y", "m&n"}
	var us []*users.User
	for i, s := range strs {
		u := &users.User{
			ID: fmt.Sprintf("id-%d", i), Email: s, FirstName: strs[(i+1)%len(strs)], LastName: strs[(i+2)%len(strs)],
			Status: users.Status(strs[(i+3)%len(strs)]), HasPassword: i%2 == 0, TwoFactor: i%3 == 0,
			CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, i*1000, time.UTC), UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, east),
		}
		switch i % 4 {
		case 0:
			u.Role, u.Policies, u.LastAccess = &role, []string{"p1", s}, &last
		case 1:
			u.Role, u.Policies, u.Metadata = &emptyRole, []string{}, map[string]any{}
		case 2:
			u.Metadata = map[string]any{"b": s, "a": []any{1.5, true, nil}, "<k>": map[string]any{"x": "&"}}
		}
		us = append(us, u)
	}
	selections := [][]string{nil, {}, {"id"}, {"metadata"}, {"email", "password", "tfa_secret"},
		{"last_access", "role", "policies", "metadata", "created_at", "updated_at", "status", "first_name", "last_name"},
		slices.Clone(viewFields)}
	for _, u := range us {
		for _, fields := range selections {
			want, err := json.Marshal(selectFields(viewUser(u), fields))
			require.NoError(t, err)
			got, err := json.Marshal(userJSON{u, fields})
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "user %s, fields %v", u.ID, fields)
			appended, err := appendUser([]byte("prefix"), u, fields)
			require.NoError(t, err)
			assert.Equal(t, "prefix"+string(want), string(appended), "appended after what b holds")
		}
	}
	for _, fields := range selections {
		want, err := json.Marshal(dataBody{Data: refUsers(us, fields)})
		require.NoError(t, err)
		got, err := orderedObject{{"data", usersJSON{us, fields}}}.appendJSON(nil)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "fields %v", fields)
	}
	got, err := orderedObject{{"data", usersJSON{nil, nil}}}.appendJSON(nil)
	require.NoError(t, err)
	assert.Equal(t, `{"data":[]}`, string(got), "no user is an empty list, not null")
}

// TestAppendUserTimeErrors: a time RFC 3339 cannot write fails as
// time.Time.MarshalJSON fails, rather than being written some other way.
func TestAppendUserTimeErrors(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600)),
	} {
		_, want := json.Marshal(viewUser(&users.User{CreatedAt: tm}))
		require.Error(t, want)
		_, err := json.Marshal(userJSON{&users.User{CreatedAt: tm}, nil})
		require.Error(t, err, "%v", tm)
		assert.True(t, strings.Contains(err.Error(), "Time.MarshalJSON"), err.Error())
	}
	b, err := appendTime(nil, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("near", 23*3600+59*60)))
	require.NoError(t, err)
	assert.Equal(t, `"9999-12-31T23:59:59.999999999+23:59"`, string(b))
}

func refUsers(us []*users.User, fields []string) []any {
	out := make([]any, len(us))
	for i, u := range us {
		out[i] = selectFields(viewUser(u), fields)
	}
	return out
}
