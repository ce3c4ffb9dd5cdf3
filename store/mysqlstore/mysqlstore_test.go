package mysqlstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store/mysqlstore"
)

// t0 is the tests' fixed clock, in a zone other than UTC so that the UTC
// conversion is checked.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.FixedZone("CET", 3600))

func ptr[T any](v T) *T { return &v }

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func user(id, email string) *users.UserRecord {
	u := &users.UserRecord{
		User: users.User{
			ID: id, Email: email, Status: users.StatusActive,
			CreatedAt: t0, UpdatedAt: t0,
		},
	}
	if email != "" {
		u.EmailKey = lower(email)
	}
	return u
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func mail(id, userID, to string, created time.Time) *users.Mail {
	return &users.Mail{
		ID: id, Kind: users.MailVerifyEmail, UserID: userID, To: to,
		Subject: "Verify your email address", Text: "text " + id, HTML: "<p>" + id + "</p>",
		Status: users.MailPending, CreatedAt: created, NextAttemptAt: created,
	}
}

func TestCreateAndGetUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreateRole(ctx, &users.Role{ID: "r1", Name: "Editors", Description: "edit"}))
	require.NoError(t, s.CreatePolicy(ctx, &users.Policy{ID: "p1", Name: "P1"}))
	require.NoError(t, s.CreatePolicy(ctx, &users.Policy{ID: "p2", Name: "P2", AdminAccess: true}))

	u := user("u1", "Ann@Example.com")
	u.PasswordHash = "$argon2id$x"
	u.FirstName, u.LastName = "Ann", "Lee"
	u.Role = ptr("r1")
	u.Policies = []string{"p2", "p1"}
	u.Metadata = map[string]any{"team": "blue", "n": 2.0, "tags": []any{"a"}}
	tok := &users.TokenRecord{Hash: hashOf("t1"), Purpose: users.PurposeVerifyEmail, UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	require.NoError(t, s.CreateUser(ctx, u, users.Effects{Token: tok, Mail: mail("m1", "u1", u.Email, t0)}))

	got, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, "Ann@Example.com", got.Email)
	assert.Equal(t, "ann@example.com", got.EmailKey)
	assert.Equal(t, "$argon2id$x", got.PasswordHash)
	assert.True(t, got.HasPassword)
	assert.Equal(t, []string{"p2", "p1"}, got.Policies, "policies keep their order")
	assert.Equal(t, u.Metadata, got.Metadata)
	assert.Equal(t, ptr("r1"), got.Role)
	assert.Equal(t, time.UTC, got.CreatedAt.Location())
	assert.True(t, got.CreatedAt.Equal(t0.Truncate(time.Microsecond)), "%v", got.CreatedAt)

	byKey, err := s.GetUserByEmailKey(ctx, "ann@example.com")
	require.NoError(t, err)
	assert.Equal(t, got, byKey)

	tr, err := s.GetToken(ctx, hashOf("t1"))
	require.NoError(t, err)
	assert.Equal(t, users.PurposeVerifyEmail, tr.Purpose)
	assert.Equal(t, "u1", tr.UserID)
	assert.Nil(t, tr.ConsumedAt)

	ms, err := s.ListMail(ctx, users.MailQuery{To: "Ann@Example.com"})
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, "text m1", ms[0].Text)

	// Copies: changing what was returned changes nothing stored.
	got.Policies[0] = "zz"
	again, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, "p2", again.Policies[0])

	_, err = s.GetUser(ctx, "nobody")
	assert.ErrorIs(t, err, users.ErrNotFound)
	_, err = s.GetUserByEmailKey(ctx, "")
	assert.ErrorIs(t, err, users.ErrNotFound)
	_, err = s.GetToken(ctx, hashOf("nope"))
	assert.ErrorIs(t, err, users.ErrNotFound)
}

func TestCreateUserErrorsWriteNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreatePolicy(ctx, &users.Policy{ID: "p1", Name: "P1"}))
	require.NoError(t, s.CreateUser(ctx, user("u1", "a@example.com"), users.Effects{}))

	fx := func(id string) users.Effects {
		return users.Effects{
			Token: &users.TokenRecord{Hash: hashOf(id), Purpose: users.PurposeInvite, UserID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			Mail:  mail("m-"+id, id, id+"@example.com", t0),
		}
	}
	err := s.CreateUser(ctx, user("u2", "A@EXAMPLE.COM"), fx("u2"))
	assert.ErrorIs(t, err, users.ErrDuplicateEmail)

	noRole := user("u3", "c@example.com")
	noRole.Role = ptr("missing")
	assert.ErrorIs(t, s.CreateUser(ctx, noRole, fx("u3")), users.ErrRoleNotFound)

	noPolicy := user("u4", "d@example.com")
	noPolicy.Policies = []string{"p1", "missing"}
	assert.ErrorIs(t, s.CreateUser(ctx, noPolicy, fx("u4")), users.ErrPolicyNotFound)

	for _, id := range []string{"u2", "u3", "u4"} {
		_, err := s.GetUser(ctx, id)
		assert.ErrorIs(t, err, users.ErrNotFound, id)
		_, err = s.GetToken(ctx, hashOf(id))
		assert.ErrorIs(t, err, users.ErrNotFound, id)
	}
	ms, err := s.ListMail(ctx, users.MailQuery{})
	require.NoError(t, err)
	assert.Empty(t, ms)

	// Users without email do not collide.
	require.NoError(t, s.CreateUser(ctx, user("e1", ""), users.Effects{}))
	require.NoError(t, s.CreateUser(ctx, user("e2", ""), users.Effects{}))
	// A role id that exists is an error.
	require.NoError(t, s.CreateRole(ctx, &users.Role{ID: "r", Name: "R"}))
	assert.ErrorIs(t, s.CreateRole(ctx, &users.Role{ID: "r", Name: "R"}), users.ErrDuplicateID)
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreateRole(ctx, &users.Role{ID: "r1", Name: "R1"}))
	require.NoError(t, s.CreatePolicy(ctx, &users.Policy{ID: "p1", Name: "P1"}))
	u := user("u1", "a@example.com")
	u.Status = users.StatusUnverified
	u.Role = ptr("r1")
	u.Metadata = map[string]any{"k": "v"}
	require.NoError(t, s.CreateUser(ctx, u, users.Effects{}))
	require.NoError(t, s.CreateUser(ctx, user("u2", "b@example.com"), users.Effects{}))

	t1 := t0.Add(time.Minute)
	_, err := s.UpdateUser(ctx, "u1", users.Condition{Status: users.StatusInvited}, users.UserChange{FirstName: ptr("X"), UpdatedAt: t1}, users.Effects{Mail: mail("m1", "u1", "a@example.com", t1)})
	assert.ErrorIs(t, err, users.ErrConflict)
	_, err = s.UpdateUser(ctx, "u1", users.Condition{Contested: ptr(true)}, users.UserChange{UpdatedAt: t1}, users.Effects{})
	assert.ErrorIs(t, err, users.ErrConflict)
	_, err = s.UpdateUser(ctx, "nobody", users.Condition{}, users.UserChange{UpdatedAt: t1}, users.Effects{})
	assert.ErrorIs(t, err, users.ErrNotFound)
	_, err = s.UpdateUser(ctx, "u2", users.Condition{}, users.UserChange{Email: ptr("A@example.com"), EmailKey: ptr("a@example.com"), UpdatedAt: t1}, users.Effects{})
	assert.ErrorIs(t, err, users.ErrDuplicateEmail)
	_, err = s.UpdateUser(ctx, "u2", users.Condition{}, users.UserChange{SetPolicies: true, Policies: []string{"nope"}, UpdatedAt: t1}, users.Effects{})
	assert.ErrorIs(t, err, users.ErrPolicyNotFound)
	_, err = s.UpdateUser(ctx, "u2", users.Condition{}, users.UserChange{SetRole: true, Role: ptr("nope"), UpdatedAt: t1}, users.Effects{})
	assert.ErrorIs(t, err, users.ErrRoleNotFound)
	ms, err := s.ListMail(ctx, users.MailQuery{})
	require.NoError(t, err)
	assert.Empty(t, ms, "a failed update writes no effect")

	tok := &users.TokenRecord{Hash: hashOf("t2"), Purpose: users.PurposeVerifyEmail, UserID: "u1", CreatedAt: t1, ExpiresAt: t1.Add(time.Hour)}
	got, err := s.UpdateUser(ctx, "u1", users.Condition{Status: users.StatusUnverified, Contested: ptr(false)}, users.UserChange{
		FirstName: ptr("Ann"), Status: ptr(users.StatusActive), SetRole: true, Role: nil,
		SetPolicies: true, Policies: []string{"p1"}, Contested: ptr(true), PasswordHash: ptr("h"),
		UpdatedAt: t1,
	}, users.Effects{Token: tok, Mail: mail("m2", "u1", "a@example.com", t1)})
	require.NoError(t, err)
	assert.Equal(t, "Ann", got.FirstName)
	assert.Equal(t, users.StatusActive, got.Status)
	assert.Nil(t, got.Role)
	assert.Equal(t, []string{"p1"}, got.Policies)
	assert.True(t, got.Contested)
	assert.True(t, got.HasPassword)
	assert.Equal(t, map[string]any{"k": "v"}, got.Metadata, "nil metadata leaves it alone")
	assert.Equal(t, "a@example.com", got.Email)
	assert.True(t, got.UpdatedAt.Equal(t1))
	again, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, got, again)

	// Re-issuing a token revokes the live ones.
	tok3 := &users.TokenRecord{Hash: hashOf("t3"), Purpose: users.PurposeVerifyEmail, UserID: "u1", CreatedAt: t1, ExpiresAt: t1.Add(time.Hour)}
	_, err = s.UpdateUser(ctx, "u1", users.Condition{}, users.UserChange{UpdatedAt: t1, PasswordHash: ptr("")}, users.Effects{Token: tok3})
	require.NoError(t, err)
	_, err = s.GetToken(ctx, hashOf("t2"))
	assert.ErrorIs(t, err, users.ErrNotFound)
	_, err = s.GetToken(ctx, hashOf("t3"))
	assert.NoError(t, err)
	got, err = s.GetUser(ctx, "u1")
	require.NoError(t, err)
	assert.False(t, got.HasPassword)
}

func TestUpdateUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreateRole(ctx, &users.Role{ID: "r1", Name: "R1"}))
	require.NoError(t, s.CreatePolicy(ctx, &users.Policy{ID: "p1", Name: "P1"}))
	for i := range 3 {
		require.NoError(t, s.CreateUser(ctx, user(fmt.Sprint("u", i), fmt.Sprintf("u%d@example.com", i)), users.Effects{}))
	}
	t1 := t0.Add(time.Hour)
	err := s.UpdateUsers(ctx, []string{"u0", "nobody"}, users.Condition{}, users.UserChange{SetRole: true, Role: ptr("r1"), UpdatedAt: t1})
	assert.ErrorIs(t, err, users.ErrNotFound)
	err = s.UpdateUsers(ctx, []string{"u0", "u1"}, users.Condition{}, users.UserChange{SetRole: true, Role: ptr("nope"), UpdatedAt: t1})
	assert.ErrorIs(t, err, users.ErrRoleNotFound)
	err = s.UpdateUsers(ctx, []string{"u0", "u1"}, users.Condition{}, users.UserChange{SetPolicies: true, Policies: []string{"p1", "nope"}, UpdatedAt: t1})
	assert.ErrorIs(t, err, users.ErrPolicyNotFound)
	list, err := s.ListUsers(ctx, users.UserQuery{Role: ptr("r1")})
	require.NoError(t, err)
	assert.Empty(t, list)

	require.NoError(t, s.UpdateUsers(ctx, []string{"u1", "u0", "u1"}, users.Condition{}, users.UserChange{SetRole: true, Role: ptr("r1"), SetPolicies: true, Policies: []string{"p1"}, UpdatedAt: t1}))
	list, err = s.ListUsers(ctx, users.UserQuery{Role: ptr("r1")})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "u0", list[0].ID)
	assert.Equal(t, []string{"p1"}, list[1].Policies)
	list, err = s.ListUsers(ctx, users.UserQuery{NoRole: true, Role: ptr("r1")})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "u2", list[0].ID)
	list, err = s.ListUsers(ctx, users.UserQuery{IDs: []string{"u2", "u1"}, Limit: 1, Offset: 1})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "u2", list[0].ID)
}

func TestConsumeToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	u := user("u1", "a@example.com")
	u.Status = users.StatusUnverified
	require.NoError(t, s.CreateUser(ctx, u, users.Effects{}))
	issue := func(name string, p users.TokenPurpose, exp time.Time) {
		tok := &users.TokenRecord{Hash: hashOf(name), Purpose: p, UserID: "u1", CreatedAt: t0, ExpiresAt: exp}
		_, err := s.UpdateUser(ctx, "u1", users.Condition{}, users.UserChange{UpdatedAt: t0}, users.Effects{Token: tok})
		require.NoError(t, err)
	}
	activate := users.UserChange{Status: ptr(users.StatusActive), UpdatedAt: t0.Add(time.Minute)}
	cond := users.Condition{Status: users.StatusUnverified}

	issue("old", users.PurposeInvite, t0.Add(time.Hour))
	issue("expired", users.PurposeInvite, t0) // revokes "old"
	_, err := s.ConsumeToken(ctx, hashOf("old"), users.PurposeInvite, t0, cond, activate, users.Effects{})
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = s.ConsumeToken(ctx, hashOf("expired"), users.PurposeInvite, t0, cond, activate, users.Effects{})
	assert.ErrorIs(t, err, users.ErrTokenExpired)

	issue("v", users.PurposeVerifyEmail, t0.Add(time.Hour))
	_, err = s.ConsumeToken(ctx, hashOf("v"), users.PurposeInvite, t0, cond, activate, users.Effects{})
	assert.ErrorIs(t, err, users.ErrInvalidToken, "another purpose looks unknown")
	assert.NotErrorIs(t, err, users.ErrTokenExpired)
	_, err = s.ConsumeToken(ctx, hashOf("v"), users.PurposeVerifyEmail, t0, users.Condition{Status: users.StatusInvited}, activate, users.Effects{})
	assert.ErrorIs(t, err, users.ErrConflict)
	tr, err := s.GetToken(ctx, hashOf("v"))
	require.NoError(t, err)
	assert.Nil(t, tr.ConsumedAt, "a failed consume writes nothing")

	got, err := s.ConsumeToken(ctx, hashOf("v"), users.PurposeVerifyEmail, t0, cond, activate, users.Effects{Mail: mail("m1", "u1", "a@example.com", t0)})
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, got.Status)
	tr, err = s.GetToken(ctx, hashOf("v"))
	require.NoError(t, err)
	require.NotNil(t, tr.ConsumedAt)
	assert.True(t, tr.ConsumedAt.Equal(t0))
	_, err = s.ConsumeToken(ctx, hashOf("v"), users.PurposeVerifyEmail, t0, users.Condition{}, activate, users.Effects{})
	assert.ErrorIs(t, err, users.ErrTokenUsed)
	ms, err := s.ListMail(ctx, users.MailQuery{Status: users.MailPending})
	require.NoError(t, err)
	assert.Len(t, ms, 1)
}

func TestMailOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreateUser(ctx, user("u1", "a@example.com"), users.Effects{Mail: mail("b", "u1", "a@example.com", t0)}))
	require.NoError(t, s.CreateUser(ctx, user("u2", "b@example.com"), users.Effects{Mail: mail("a", "u2", "b@example.com", t0)}))
	later := mail("c", "u3", "c@example.com", t0.Add(-time.Minute))
	later.NextAttemptAt = t0.Add(time.Hour)
	require.NoError(t, s.CreateUser(ctx, user("u3", "c@example.com"), users.Effects{Mail: later}))

	lease := t0.Add(time.Minute)
	got, err := s.ClaimMail(ctx, t0, lease, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "a", got[0].ID, "oldest first, then by id")
	assert.Equal(t, "b", got[1].ID)
	require.NotNil(t, got[0].LeaseUntil)
	assert.True(t, got[0].LeaseUntil.Equal(lease))
	assert.Equal(t, time.UTC, got[0].LeaseUntil.Location())

	again, err := s.ClaimMail(ctx, t0.Add(30*time.Second), lease.Add(time.Minute), 10)
	require.NoError(t, err)
	assert.Empty(t, again, "leased mails are not claimed again")

	sent := t0.Add(time.Second)
	require.NoError(t, s.UpdateMail(ctx, "a", users.MailUpdate{Status: users.MailSent, Attempts: 1, NextAttemptAt: sent, SentAt: &sent, ClearBody: true}))
	require.NoError(t, s.UpdateMail(ctx, "b", users.MailUpdate{Status: users.MailPending, Attempts: 1, LastError: "421", NextAttemptAt: t0.Add(10 * time.Second)}))
	assert.ErrorIs(t, s.UpdateMail(ctx, "nope", users.MailUpdate{Status: users.MailSent}), users.ErrNotFound)

	all, err := s.ListMail(ctx, users.MailQuery{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, []string{"c", "a", "b"}, []string{all[0].ID, all[1].ID, all[2].ID})
	a := all[1]
	assert.Equal(t, users.MailSent, a.Status)
	assert.Empty(t, a.Text)
	assert.Empty(t, a.HTML)
	assert.Nil(t, a.LeaseUntil)
	require.NotNil(t, a.SentAt)
	assert.True(t, a.SentAt.Equal(sent))
	assert.Equal(t, "421", all[2].LastError)
	assert.Equal(t, "text b", all[2].Text)

	pending, err := s.ListMail(ctx, users.MailQuery{Status: users.MailPending, Limit: 1})
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, "c", pending[0].ID)

	// The lease was cleared by UpdateMail: b is due again at t0+10s.
	got, err = s.ClaimMail(ctx, t0.Add(10*time.Second), lease, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "b", got[0].ID)
}

func TestSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	doc, err := s.Settings(ctx)
	require.NoError(t, err)
	assert.Nil(t, doc)
	require.NoError(t, s.SaveSettings(ctx, []byte(`{"b":1,  "a":2}`)))
	require.NoError(t, s.SaveSettings(ctx, []byte(`{"z":1,  "a":2}`)))
	doc, err = s.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, `{"z":1,  "a":2}`, string(doc), "the document is kept byte for byte")
}

func TestRolesAndPoliciesOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	for _, r := range []users.Role{{ID: "3", Name: "b"}, {ID: "2", Name: "B"}, {ID: "1", Name: "b"}, {ID: "0", Name: "a"}} {
		require.NoError(t, s.CreateRole(ctx, &r))
	}
	list, err := s.ListRoles(ctx)
	require.NoError(t, err)
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"2", "0", "1", "3"}, ids, "bytewise order of name, then id, as Go sorts")
	_, err = s.GetRole(ctx, "9")
	assert.ErrorIs(t, err, users.ErrNotFound)
	r, err := s.GetRole(ctx, "2")
	require.NoError(t, err)
	assert.Equal(t, "B", r.Name)

	require.NoError(t, s.CreatePolicy(ctx, &users.Policy{ID: "x", Name: "Z", AdminAccess: true}))
	require.NoError(t, s.CreatePolicy(ctx, &users.Policy{ID: "y", Name: "A"}))
	assert.ErrorIs(t, s.CreatePolicy(ctx, &users.Policy{ID: "y", Name: "A"}), users.ErrDuplicateID)
	ps, err := s.ListPolicies(ctx)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "y", ps[0].ID)
	p, err := s.GetPolicy(ctx, "x")
	require.NoError(t, err)
	assert.True(t, p.AdminAccess)
	_, err = s.GetPolicy(ctx, "nope")
	assert.ErrorIs(t, err, users.ErrNotFound)
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.CreateUser(ctx, user("u1", "a@example.com"), users.Effects{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.UpdateUser(ctx, "u1", users.Condition{}, users.UserChange{UpdatedAt: t0}, users.Effects{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.ConsumeToken(ctx, hashOf("x"), users.PurposeInvite, t0, users.Condition{}, users.UserChange{}, users.Effects{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.ClaimMail(ctx, t0, t0, 5)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.GetUser(ctx, "u1")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.GetUser(context.Background(), "u1")
	assert.ErrorIs(t, err, users.ErrNotFound, "nothing was written")
}

// A statement cancelled while it waits on a lock gives the context's error
// and leaves the store usable.
func TestContextCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := newDatabase(t)
	s, err := mysqlstore.New(ctx, newDB(t, dsn))
	require.NoError(t, err)
	u := user("u1", "a@example.com")
	require.NoError(t, s.CreateUser(ctx, u, users.Effects{}))
	tok := &users.TokenRecord{Hash: hashOf("t"), Purpose: users.PurposeInvite, UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	_, err = s.UpdateUser(ctx, "u1", users.Condition{}, users.UserChange{UpdatedAt: t0}, users.Effects{Token: tok})
	require.NoError(t, err)

	// Hold the user's row lock from another "instance".
	tx, err := newDB(t, dsn).BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, "SELECT 1 FROM users_users WHERE id = 'u1' FOR UPDATE")
	require.NoError(t, err)

	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = s.ConsumeToken(cctx, hashOf("t"), users.PurposeInvite, t0, users.Condition{}, users.UserChange{UpdatedAt: t0}, users.Effects{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	require.NoError(t, tx.Rollback())

	got, err := s.ConsumeToken(ctx, hashOf("t"), users.PurposeInvite, t0, users.Condition{}, users.UserChange{UpdatedAt: t0}, users.Effects{})
	require.NoError(t, err)
	assert.Equal(t, "u1", got.ID)
}

// The case-insensitive filters and Search lower-case as Go does, also
// where the server's LOWER does not ('ẞ', Cherokee and Georgian capitals
// stay as they are in MariaDB 10.11), for every filterable field.
func TestCaseFoldingIsGos(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	require.NoError(t, s.CreateRole(ctx, &users.Role{ID: "RÔLE-Ⴀ", Name: "Georgian"}))
	u := user("ID-Ꭰ", "ẞig@example.com")
	u.FirstName, u.LastName, u.Role = "ẞtraße", "ᎠᎡᎢ", ptr("RÔLE-Ⴀ")
	require.NoError(t, s.CreateUser(ctx, u, users.Effects{}))
	require.NoError(t, s.CreateUser(ctx, user("other", "other@example.com"), users.Effects{}))

	for _, tc := range []struct {
		field users.UserField
		op    users.FilterOp
		value string
	}{
		{users.FieldFirstName, users.OpIStartsWith, "ß"},
		{users.FieldLastName, users.OpIContains, "ꭱ"},
		{users.FieldEmail, users.OpIStartsWith, "ßIG@"},
		{users.FieldID, users.OpIEndsWith, "-ꭰ"},
		{users.FieldRole, users.OpIContains, "rôle-ⴀ"},
	} {
		f := &users.UserFilter{Field: tc.field, Op: tc.op, Value: tc.value}
		list, err := s.ListUsers(ctx, users.UserQuery{Filter: f})
		require.NoError(t, err)
		require.Len(t, list, 1, "%s %s %q", tc.field, tc.op, tc.value)
		assert.Equal(t, u.ID, list[0].ID)
	}
	for _, q := range []string{"ß", "ꭰꭱ", "STRASSE"} {
		list, err := s.ListUsers(ctx, users.UserQuery{Search: q})
		require.NoError(t, err)
		if q == "STRASSE" {
			assert.Empty(t, list, "lower-casing is not case folding: ß is not ss")
			continue
		}
		require.Len(t, list, 1, "search %q", q)
	}
	// An update keeps the lower-cased copies in step.
	_, err := s.UpdateUser(ctx, u.ID, users.Condition{}, users.UserChange{FirstName: ptr("Ǆemal"), SetRole: true, UpdatedAt: t0}, users.Effects{})
	require.NoError(t, err)
	n, err := s.CountUsers(ctx, users.UserQuery{Search: "ǆem"})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = s.CountUsers(ctx, users.UserQuery{Filter: &users.UserFilter{Field: users.FieldRole, Op: users.OpIContains, Value: "ⴀ"}})
	require.NoError(t, err)
	assert.Zero(t, n, "the role was removed")
}

// utf8mb4_bin ignores trailing spaces and the server's LIKE wildcards are
// characters of their own; the store compares and sorts by bytes, as Go
// does, and keeps 4-byte characters.
func TestExactComparisonsAndOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	names := []string{"Ann", "Ann ", "Ann\t", "ann", "Änn", "😀", "Z", "A_n", "A%n"}
	for i, n := range names {
		u := user(fmt.Sprint("u", i), fmt.Sprintf("u%d@example.com", i))
		u.FirstName = n
		require.NoError(t, s.CreateUser(ctx, u, users.Effects{}))
	}
	list, err := s.ListUsers(ctx, users.UserQuery{Sort: []users.UserSort{{Field: users.FieldFirstName}}})
	require.NoError(t, err)
	var got []string
	for _, u := range list {
		got = append(got, u.FirstName)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	assert.Equal(t, want, got, "byte order, trailing spaces and tabs included")

	count := func(op users.FilterOp, v string) int {
		n, err := s.CountUsers(ctx, users.UserQuery{Filter: &users.UserFilter{Field: users.FieldFirstName, Op: op, Value: v}})
		require.NoError(t, err)
		return n
	}
	assert.Equal(t, 1, count(users.OpEq, "Ann"), "no padding")
	assert.Equal(t, 1, count(users.OpEq, "Ann "))
	assert.Equal(t, 3, count(users.OpStartsWith, "Ann"))
	assert.Equal(t, 1, count(users.OpContains, "_"), "_ is no wildcard")
	assert.Equal(t, 1, count(users.OpContains, "%"), "% is no wildcard")
	assert.Equal(t, 1, count(users.OpEq, "😀"))
	assert.Equal(t, 4, count(users.OpIStartsWith, "ann"), "Ann, Ann , Ann\\t, ann")

	_, err = s.GetUserByEmailKey(ctx, "u0@example.com ")
	assert.ErrorIs(t, err, users.ErrNotFound, "keys compare exactly")
	got0, err := s.GetUser(ctx, "u5")
	require.NoError(t, err)
	assert.Equal(t, "😀", got0.FirstName)
}
