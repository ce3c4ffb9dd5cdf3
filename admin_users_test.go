package users_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pol, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Editors"})
	require.NoError(t, err)
	u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "Boss@Example.com", Password: "pw", Role: &e.admin.ID, Policies: []string{pol.ID}, Metadata: map[string]any{"tier": "gold"}})
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, u.Status, "default status")
	assert.True(t, u.HasPassword)
	assert.Equal(t, []string{pol.ID}, u.Policies)
	assert.Equal(t, "gold", u.Metadata["tier"])
	_, err = e.m.Authenticate(e.ctx, "boss@example.com", "pw")
	require.NoError(t, err)

	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "BOSS@example.COM"})
	require.ErrorIs(t, err, users.ErrDuplicateEmail)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "not-an-email"})
	requireField(t, err, "email", users.ErrFailedValidation)
	missing := "00000000-0000-0000-0000-000000000000"
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "r@example.com", Role: &missing})
	require.ErrorIs(t, err, users.ErrRoleNotFound)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "p@example.com", Policies: []string{missing}})
	require.ErrorIs(t, err, users.ErrPolicyNotFound)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "s@example.com", Status: "bogus"})
	requireField(t, err, "status", users.ErrInvalidPayload)
	assert.Len(t, e.allUsers(), 1, "failed creates wrote nothing")

	// Users without email may coexist.
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{FirstName: "Bot 1"})
	require.NoError(t, err)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{FirstName: "Bot 2"})
	require.NoError(t, err)
	assert.Len(t, e.allUsers(), 3)
}

// Input that some stores would refuse with their own error (a 500), or
// accept where others refuse — NUL characters, invalid UTF-8, metadata
// nested thousands deep, ids no store can hold — is refused by the
// Manager with the same clear error, before any store call, whatever the
// store.
func TestAdminInputRefusedBeforeTheStore(t *testing.T) {
	t.Parallel()
	spy := &spyStore{Store: memstore.New()}
	e := newEnvOn(t, spy)
	u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "u@example.com"})
	require.NoError(t, err)
	str := func(s string) *string { return &s }
	cases := []struct {
		name  string
		field string
		call  func() error
	}{
		{"role id with NUL", "id", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{ID: "r\x00", Name: "R"}); return err }},
		{"role id with LF", "id", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{ID: "r\n", Name: "R"}); return err }},
		{"role id too long", "id", func() error {
			_, err := e.m.CreateRole(e.ctx, users.Role{ID: strings.Repeat("r", 256), Name: "R"})
			return err
		}},
		{"role name with NUL", "name", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{Name: "R\x00"}); return err }},
		{"role name invalid UTF-8", "name", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{Name: "R\xff"}); return err }},
		{"role name too long", "name", func() error { _, err := e.m.CreateRole(e.ctx, users.Role{Name: strings.Repeat("n", 101)}); return err }},
		{"role description with NUL", "description", func() error {
			_, err := e.m.CreateRole(e.ctx, users.Role{Name: "R", Description: "d\x00"})
			return err
		}},
		{"policy id with NUL", "id", func() error { _, err := e.m.CreatePolicy(e.ctx, users.Policy{ID: "\x00", Name: "P"}); return err }},
		{"metadata 5000 deep", "metadata", func() error {
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "m@example.com", Metadata: nested(5000)})
			return err
		}},
		{"metadata 33 deep", "metadata", func() error {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Metadata: nested(33)})
			return err
		}},
		{"metadata NUL value", "metadata", func() error {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{Metadata: map[string]any{"k": "v\x00"}})
			return err
		}},
		{"metadata NUL key", "metadata", func() error {
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Metadata: map[string]any{"k\x00": 1.0}})
			return err
		}},
		{"metadata NUL deep in an array", "metadata", func() error {
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Metadata: map[string]any{"a": []any{1.0, map[string]any{"b": "\x00"}}}})
			return err
		}},
		{"metadata invalid UTF-8", "metadata", func() error {
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Metadata: map[string]any{"k": "\xff"}})
			return err
		}},
		{"metadata infinity", "metadata", func() error {
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Metadata: map[string]any{"k": math.Inf(1)}})
			return err
		}},
		{"metadata typed and too deep", "metadata", func() error {
			type deep struct{ N *deep }
			d := &deep{}
			for range 40 {
				d = &deep{N: d}
			}
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Metadata: map[string]any{"d": d}})
			return err
		}},
		{"user role with NUL", "role", func() error { _, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Role: str("r\x00")}); return err }},
		{"policy ids with NUL", "policies", func() error {
			_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Policies: []string{"p\x00"}})
			return err
		}},
		{"patch role with NUL", "role", func() error {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{SetRole: true, Role: str("\x00")})
			return err
		}},
		{"first name with NUL", "first_name", func() error {
			_, err := e.m.UpdateUser(e.ctx, u.ID, users.UserPatch{FirstName: str("a\x00")})
			return err
		}},
		{"bulk keys with NUL", "keys", func() error {
			return e.m.UpdateUsers(e.ctx, []string{u.ID, "x\x00"}, users.UserPatch{FirstName: str("a")})
		}},
		{"invite role with NUL", "role", func() error {
			_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: "r\x00"})
			return err
		}},
		{"settings role with NUL", "public_registration_role", func() error {
			s := users.DefaultSettings()
			s.PublicRegistrationRole = str("r\x00")
			_, err := e.m.UpdateSettings(e.ctx, s)
			return err
		}},
		{"email filter with NUL", "public_registration_email_filter", func() error {
			f, err := users.ParseEmailFilter([]byte(`{"email":{"_eq":"a\u0000@example.com"}}`))
			if err != nil {
				return err
			}
			s := users.DefaultSettings()
			s.PublicRegistrationEmailFilter = f
			_, err = e.m.UpdateSettings(e.ctx, s)
			return err
		}},
	}
	for _, c := range cases {
		before := spy.callCount()
		err := c.call()
		requireField(t, err, c.field, users.ErrInvalidPayload)
		assert.Equal(t, before, spy.callCount(), "%s: refused before any store call", c.name)
		assert.Less(t, len(err.Error()), 200, "%s: a short, clear error", c.name)
	}

	// Lookups by an id no store could hold find nothing, without asking.
	before := spy.callCount()
	for _, id := range []string{"", "a\x00", "\xff", strings.Repeat("a", 300)} {
		_, err := e.m.User(e.ctx, id)
		require.ErrorIs(t, err, users.ErrUserNotFound)
		_, err = e.m.Role(e.ctx, id)
		require.ErrorIs(t, err, users.ErrRoleNotFound)
		_, err = e.m.UpdateUser(e.ctx, id, users.UserPatch{FirstName: str("x")})
		require.ErrorIs(t, err, users.ErrUserNotFound)
		us, err := e.m.ListUsers(e.ctx, users.UserQuery{IDs: []string{id}})
		require.NoError(t, err)
		assert.Empty(t, us)
	}
	assert.Equal(t, before, spy.callCount())

	// A search or filter value no stored field can hold is refused before
	// any store call, as every store would not: PostgreSQL cannot compare
	// with a NUL.
	for _, doc := range []string{`{"email":{"_eq":"a\u0000@example.com"}}`, `{"first_name":{"_in":["a","b\u0000"]}}`} {
		_, err := users.ParseFilter([]byte(doc))
		require.ErrorIs(t, err, users.ErrInvalidQuery, doc)
	}
	before = spy.callCount()
	for name, q := range map[string]users.UserQuery{
		"search NUL":      {Search: "a\x00"},
		"search bad UTF8": {Search: "\xff"},
	} {
		_, err := e.m.ListUsers(e.ctx, q)
		require.ErrorIs(t, err, users.ErrInvalidQuery, name)
		_, err = e.m.CountUsers(e.ctx, q)
		require.ErrorIs(t, err, users.ErrInvalidQuery, name)
	}
	assert.Equal(t, before, spy.callCount(), "refused before any store call")

	// At the limits, accepted.
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "deep@example.com", Metadata: nested(32)})
	require.NoError(t, err)
	_, err = e.m.CreateRole(e.ctx, users.Role{ID: strings.Repeat("r", 255), Name: strings.Repeat("n", 100), Description: "line one\nline two"})
	require.NoError(t, err)
}

// nested returns metadata nested depth objects deep.
func nested(depth int) map[string]any {
	m := map[string]any{"leaf": true}
	for range depth - 1 {
		m = map[string]any{"n": m}
	}
	return m
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "a@example.com"})
	require.NoError(t, err)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "b@example.com"})
	require.NoError(t, err)
	taken := "B@EXAMPLE.COM"
	_, err = e.m.UpdateUser(e.ctx, a.ID, users.UserPatch{Email: &taken})
	require.ErrorIs(t, err, users.ErrDuplicateEmail)
	name, pw := "Ada", "pw2"
	u, err := e.m.UpdateUser(e.ctx, a.ID, users.UserPatch{FirstName: &name, Password: &pw})
	require.NoError(t, err)
	assert.Equal(t, "Ada", u.FirstName)
	_, err = e.m.Authenticate(e.ctx, "a@example.com", "pw2")
	require.NoError(t, err)
	_, err = e.m.UpdateUser(e.ctx, "00000000-0000-0000-0000-000000000000", users.UserPatch{FirstName: &name})
	require.ErrorIs(t, err, users.ErrUserNotFound)
	bad := "x\ny"
	_, err = e.m.UpdateUser(e.ctx, a.ID, users.UserPatch{LastName: &bad})
	requireField(t, err, "last_name", users.ErrInvalidPayload)
	err = e.m.UpdateUsers(e.ctx, []string{a.ID}, users.UserPatch{Email: &taken})
	requireField(t, err, "email", users.ErrInvalidPayload)
}

// A policy listed twice counts once, whatever the store does with repeats.
func TestPoliciesListedTwiceCountOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Editors"})
	require.NoError(t, err)
	q, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Viewers"})
	require.NoError(t, err)
	u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "twice@example.com", Policies: []string{p.ID, q.ID, p.ID}})
	require.NoError(t, err)
	assert.Equal(t, []string{p.ID, q.ID}, u.Policies)
	u, err = e.m.SetPolicies(e.ctx, u.ID, q.ID, q.ID, p.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{q.ID, p.ID}, u.Policies)
}

// queryCountingStore counts the queries that reach the Store.
type queryCountingStore struct {
	store.Store
	queries int
}

func (s *queryCountingStore) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	s.queries++
	return s.Store.ListUsers(ctx, q)
}

func (s *queryCountingStore) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	s.queries++
	return s.Store.CountUsers(ctx, q)
}

// A query that cannot run is refused by the Manager with a clear error,
// before it reaches the Store.
func TestListUsersRefusesBadQueries(t *testing.T) {
	t.Parallel()
	st := &queryCountingStore{Store: memstore.New()}
	e := newEnvOn(t, st)
	st.queries = 0
	filter := func(doc string) *users.Filter {
		f, err := users.ParseFilter([]byte(doc))
		require.NoError(t, err)
		return f
	}
	for _, tc := range []struct {
		name, field, msg string
		q                users.UserQuery
	}{
		{"negative limit", "limit", `"limit" must not be negative`, users.UserQuery{Limit: -1}},
		{"negative offset", "offset", `"offset" must not be negative`, users.UserQuery{Offset: -5}},
		{"long search", "search", `"search" must be at most 1024 bytes`, users.UserQuery{Search: strings.Repeat("a", 1025)}},
		{"search not UTF-8", "search", `"search" must be valid UTF-8`, users.UserQuery{Search: "\xff"}},
		{"sort on a hidden field", "sort", `"sort" unknown field "password" (sorts take id, email, first_name, last_name, status, role, created_at, updated_at, each with - for descending)`,
			users.UserQuery{Sort: []string{"email", "password"}}},
		{"sort on a relation", "sort", `"sort" sorting on related collections ("role.name") is not supported`, users.UserQuery{Sort: []string{"role.name"}}},
		{"sort on nothing", "sort", `"sort" unknown field "-"`, users.UserQuery{Sort: []string{"-"}}},
		{"regex", "filter", `"filter" operator _regex is not supported when listing users`, users.UserQuery{Filter: filter(`{"email":{"_regex":"^a"}}`)}},
		{"regex deep in a filter", "filter", `"filter" operator _regex is not supported when listing users`,
			users.UserQuery{Filter: filter(`{"_or":[{"id":{"_eq":"x"}},{"_and":[{"status":{"_eq":"active"}},{"first_name":{"_or":[{"_eq":"a"},{"_regex":"/b/i"}]}}]}]}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.m.ListUsers(e.ctx, tc.q)
			requireField(t, err, tc.field, users.ErrInvalidQuery)
			assert.Contains(t, err.Error(), tc.msg)
			_, err = e.m.CountUsers(e.ctx, tc.q)
			requireField(t, err, tc.field, users.ErrInvalidQuery)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Zero(t, st.queries, "the bad query reached the store")
		})
	}
}

// unsupportedStore answers every listing as a store that does not run an
// operator of the filter.
type unsupportedStore struct {
	store.Store
	err error
}

func (s unsupportedStore) ListUsers(context.Context, store.UserQuery) ([]*store.User, error) {
	return nil, s.err
}

func (s unsupportedStore) CountUsers(context.Context, store.UserQuery) (int, error) {
	return 0, s.err
}

// A filter with an operator the Store does not run is the caller's error,
// named as the Manager names _regex: the answer is the same whichever
// side finds it.
func TestListUsersStoreUnsupportedOperator(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		msg  string
	}{
		{"typed", fmt.Errorf("somestore: %w", &store.UnsupportedError{Op: "_starts_with"}), `"filter" operator _starts_with is not supported when listing users`},
		{"sentinel", fmt.Errorf("somestore: %w", store.ErrUnsupported), `"filter" an operator is not supported when listing users`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvOn(t, unsupportedStore{Store: memstore.New(), err: tc.err})
			f, err := users.ParseFilter([]byte(`{"email":{"_starts_with":"a"}}`))
			require.NoError(t, err)
			_, err = e.m.ListUsers(e.ctx, users.UserQuery{Filter: f})
			requireField(t, err, "filter", users.ErrInvalidQuery)
			assert.Contains(t, err.Error(), tc.msg)
			_, err = e.m.CountUsers(e.ctx, users.UserQuery{Filter: f})
			requireField(t, err, "filter", users.ErrInvalidQuery)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	// The Manager's own refusal of _regex says the same.
	e := newEnv(t)
	f, err := users.ParseFilter([]byte(`{"email":{"_regex":"^a"}}`))
	require.NoError(t, err)
	_, err = e.m.ListUsers(e.ctx, users.UserQuery{Filter: f})
	var ve *users.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "operator _regex is not supported when listing users", ve.Reason)
}

// ListUsers and CountUsers hand the query to the Store: filter, search,
// sort and paging select and order the users, and the count ignores the
// page.
func TestListAndCountUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for i, n := range []struct{ email, first, last string }{
		{"zoe@example.com", "Zoë", "Ärger"},
		{"adam@other.org", "Adam", "Smith"},
		{"ZED@EXAMPLE.COM", "Zed", ""},
		{"eve@example.com", "Eve", "Smith"},
	} {
		role := &e.member.ID
		if i == 2 {
			role = nil
		}
		u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: n.email, FirstName: n.first, LastName: n.last, Role: role})
		require.NoError(t, err)
		ids = append(ids, u.ID)
		e.clock.Advance(time.Millisecond)
	}
	list := func(q users.UserQuery) []string {
		t.Helper()
		us, err := e.m.ListUsers(e.ctx, q)
		require.NoError(t, err)
		out := []string{}
		for _, u := range us {
			out = append(out, u.ID)
		}
		n, err := e.m.CountUsers(e.ctx, q)
		require.NoError(t, err)
		if q.Limit == 0 && q.Offset == 0 {
			assert.Equal(t, len(out), n, "count of %+v", q)
		}
		return out
	}
	f := func(doc string) *users.Filter {
		t.Helper()
		uf, err := users.ParseFilter([]byte(doc))
		require.NoError(t, err)
		return uf
	}
	assert.Equal(t, ids, list(users.UserQuery{}), "created_at order by default")
	assert.Equal(t, []string{ids[0], ids[3]}, list(users.UserQuery{Filter: f(`{"email":{"_ends_with":"@example.com"}}`)}), "byte for byte")
	assert.Equal(t, []string{ids[0], ids[2], ids[3]}, list(users.UserQuery{Filter: f(`{"email":{"_iends_with":"@example.com"}}`)}))
	assert.Equal(t, []string{ids[2]}, list(users.UserQuery{Filter: f(`{"role":{"_null":true}}`)}))
	assert.Equal(t, []string{ids[0], ids[1], ids[3]}, list(users.UserQuery{Filter: f(`{"role":{"_null":"false"}}`)}))
	assert.Equal(t, []string{ids[2]}, list(users.UserQuery{Filter: f(`{"last_name":{"_empty":true}}`)}))
	assert.Equal(t, []string{ids[1], ids[3]}, list(users.UserQuery{Search: "SMITH"}))
	assert.Equal(t, []string{ids[0]}, list(users.UserQuery{Search: "ärg"}), "case-insensitive beyond ASCII")
	assert.Equal(t, []string{}, list(users.UserQuery{Search: "%"}), "% is a literal")
	assert.Equal(t, []string{}, list(users.UserQuery{Search: "_"}), "_ is a literal")
	assert.Equal(t, []string{ids[3], ids[1]}, list(users.UserQuery{
		Filter: f(`{"_or":[{"last_name":{"_eq":"Smith"}},{"email":{"_contains":"%"}}]}`),
		Sort:   []string{"-first_name"},
	}))
	bySort := list(users.UserQuery{Sort: []string{"last_name", "-email"}})
	// An empty last name first; then Smith, email descending; Ärger sorts
	// by its bytes, after ASCII.
	assert.Equal(t, []string{ids[2], ids[3], ids[1], ids[0]}, bySort)
	assert.Equal(t, ids[1:3], list(users.UserQuery{Limit: 2, Offset: 1}))
	n, err := e.m.CountUsers(e.ctx, users.UserQuery{Limit: 1, Offset: 3, Sort: []string{"email"}})
	require.NoError(t, err)
	assert.Equal(t, 4, n, "the count ignores sort and page")
	n, err = e.m.CountUsers(e.ctx, users.UserQuery{Filter: f(`{"id":{"_in":` + fmt.Sprintf("%q", ids[0]+","+ids[1]+",nope") + `}}`)})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

// linkToken returns the token of a mailed link.
func linkToken(t *testing.T, msg users.Message) string {
	t.Helper()
	u, err := url.Parse(memmailer.Link(msg))
	require.NoError(t, err)
	tok := u.Query().Get("token")
	require.NotEmpty(t, tok)
	return tok
}

// newAdmin creates an active user in the admin role.
func (e *env) newAdmin(email string) *users.User {
	e.t.Helper()
	u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: email, Password: "pw", Role: &e.admin.ID})
	require.NoError(e.t, err)
	return u
}

func (e *env) newMember(email string) *users.User {
	e.t.Helper()
	u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: email, Password: "pw", Role: &e.member.ID})
	require.NoError(e.t, err)
	return u
}

func (e *env) exists(id string) bool {
	e.t.Helper()
	_, err := e.m.User(e.ctx, id)
	if err != nil {
		require.ErrorIs(e.t, err, users.ErrUserNotFound)
		return false
	}
	return true
}

// Deleting a user takes its tokens and its unsent mail with it: the link
// already mailed stops working, the mail still pending is never sent, and
// the mail already sent stays in the outbox as its record.
func TestDeleteUsersTakesTokensAndPendingMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	e.newAdmin("root@example.com")
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ann@example.com", Password: "pw"}))
	sent := e.onlyMail("ann@example.com")
	tok := linkToken(t, sent)
	// A second mail, still pending when the user goes.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ann@example.com", Password: "pw"}))
	ann := e.userByEmail("ann@example.com")
	other := e.newMember("bob@example.com")

	require.NoError(t, e.m.DeleteUsers(e.ctx, ann.ID))

	assert.False(t, e.exists(ann.ID))
	assert.True(t, e.exists(other.ID), "only the given user goes")
	_, err := e.m.VerifyEmail(e.ctx, tok)
	require.ErrorIs(t, err, users.ErrInvalidToken, "a deleted user's link is dead")
	assert.Empty(t, e.deliver(), "the pending mail went with the user")
	var kept []store.MailStatus
	for _, m := range e.allMail() {
		if m.To == "ann@example.com" {
			kept = append(kept, m.Status)
		}
	}
	assert.Equal(t, []store.MailStatus{store.MailSent}, kept, "sent mail stays as the record")

	// The address is free again.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ann@example.com", Password: "pw"}))
	assert.NotEqual(t, ann.ID, e.userByEmail("ann@example.com").ID)
}

// An invite link dies with its user too.
func TestDeleteUsersRevokesInvites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"inv@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	tok := linkToken(t, e.onlyMail("inv@example.com"))
	require.NoError(t, e.m.DeleteUsers(e.ctx, e.userByEmail("inv@example.com").ID))
	_, err = e.m.AcceptInvite(e.ctx, tok, "a-password")
	require.ErrorIs(t, err, users.ErrInvalidToken)
	assert.Empty(t, e.allUsers(), "accepting did not bring the user back")
}

func TestDeleteUsersAllOrNone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.newMember("a@example.com"), e.newMember("b@example.com")
	before := e.allUsers()

	err := e.m.DeleteUsers(e.ctx, a.ID, "no-such-user", b.ID)
	require.ErrorIs(t, err, users.ErrUserNotFound)
	require.ErrorIs(t, err, users.ErrForbidden)
	assert.Equal(t, before, e.allUsers(), "an unknown id deletes nothing")

	err = e.m.DeleteUsers(e.ctx)
	requireField(t, err, "keys", users.ErrInvalidPayload)
	err = e.m.DeleteUsers(e.ctx, a.ID, "")
	requireField(t, err, "keys", users.ErrInvalidPayload)
	err = e.m.DeleteUsers(e.ctx, a.ID, " ")
	requireField(t, err, "keys", users.ErrInvalidPayload)
	assert.Equal(t, before, e.allUsers())

	// Duplicate ids count once.
	require.NoError(t, e.m.DeleteUsers(e.ctx, a.ID, b.ID, a.ID))
	assert.Empty(t, e.allUsers())
	err = e.m.DeleteUsers(e.ctx, a.ID)
	require.ErrorIs(t, err, users.ErrUserNotFound, "deleting twice")
}

// The last active user with admin access cannot be deleted, alone or in a
// batch; admin access comes from a role or a policy, and only active users
// count.
func TestDeleteUsersKeepsAnAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.newAdmin("root@example.com")
	m := e.newMember("m@example.com")

	err := e.m.DeleteUsers(e.ctx, root.ID)
	require.ErrorIs(t, err, users.ErrLastAdmin)
	require.ErrorIs(t, err, users.ErrInvalidPayload)
	assert.True(t, e.exists(root.ID))
	err = e.m.DeleteUsers(e.ctx, m.ID, root.ID)
	require.ErrorIs(t, err, users.ErrLastAdmin)
	assert.True(t, e.exists(m.ID), "nothing of the batch is deleted")

	// A second administrator, by policy: now either may go, not both.
	pol, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Admin policy", AdminAccess: true})
	require.NoError(t, err)
	second := e.newMember("second@example.com")
	_, err = e.m.SetPolicies(e.ctx, second.ID, pol.ID)
	require.NoError(t, err)
	err = e.m.DeleteUsers(e.ctx, root.ID, second.ID)
	require.ErrorIs(t, err, users.ErrLastAdmin)
	require.NoError(t, e.m.DeleteUsers(e.ctx, root.ID))
	err = e.m.DeleteUsers(e.ctx, second.ID)
	require.ErrorIs(t, err, users.ErrLastAdmin)

	// Only active administrators count: a suspended one does not keep the
	// active one deletable, and where no active one exists there is
	// nothing to keep.
	e2 := newEnv(t)
	active := e2.newAdmin("a@example.com")
	susp, err := e2.m.CreateUser(e2.ctx, users.CreateUserInput{Email: "s@example.com", Role: &e2.admin.ID, Status: users.StatusSuspended})
	require.NoError(t, err)
	require.ErrorIs(t, e2.m.DeleteUsers(e2.ctx, active.ID), users.ErrLastAdmin)
	require.NoError(t, e2.m.DeleteUsers(e2.ctx, susp.ID))
	e3 := newEnv(t)
	only, err := e3.m.CreateUser(e3.ctx, users.CreateUserInput{Email: "s@example.com", Role: &e3.admin.ID, Status: users.StatusSuspended})
	require.NoError(t, err)
	require.NoError(t, e3.m.DeleteUsers(e3.ctx, only.ID))
}

// Two concurrent deletions of the last two administrators: one succeeds,
// the other is refused, and one administrator remains.
func TestDeleteUsersLastAdminsConcurrently(t *testing.T) {
	t.Parallel()
	for range 20 {
		e := newEnv(t)
		a, b := e.newAdmin("a@example.com"), e.newAdmin("b@example.com")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{a.ID, b.ID} {
			wg.Go(func() { errs[i] = e.m.DeleteUsers(e.ctx, id) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, users.ErrLastAdmin)
			}
		}
		assert.Equal(t, 1, ok)
		assert.Len(t, e.allUsers(), 1)
	}
}

// Changes that take admin access away from the last active administrator
// are refused as Directus refuses them; other changes to it, and the same
// changes when another administrator remains, are not.
func TestUpdatesKeepAnAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.newAdmin("root@example.com")
	pol, err := e.m.CreatePolicy(e.ctx, users.Policy{Name: "Plain"})
	require.NoError(t, err)
	suspended, archived := users.StatusSuspended, users.StatusArchived
	for name, change := range map[string]func() error{
		"suspend": func() error {
			_, err := e.m.UpdateUser(e.ctx, root.ID, users.UserPatch{Status: &suspended})
			return err
		},
		"archive in bulk": func() error { return e.m.UpdateUsers(e.ctx, []string{root.ID}, users.UserPatch{Status: &archived}) },
		"role to member": func() error {
			_, err := e.m.UpdateUser(e.ctx, root.ID, users.UserPatch{SetRole: true, Role: &e.member.ID})
			return err
		},
		"no role":            func() error { return e.m.RemoveRole(e.ctx, root.ID) },
		"assign member role": func() error { return e.m.AssignRole(e.ctx, e.member.ID, root.ID) },
	} {
		err := change()
		require.ErrorIs(t, err, users.ErrLastAdmin, name)
		got, err := e.m.User(e.ctx, root.ID)
		require.NoError(t, err)
		assert.Equal(t, users.StatusActive, got.Status, name)
		assert.Equal(t, e.admin.ID, *got.Role, name)
	}
	// Changes that keep the access are fine.
	name := "Root"
	_, err = e.m.UpdateUser(e.ctx, root.ID, users.UserPatch{FirstName: &name})
	require.NoError(t, err)
	_, err = e.m.SetPolicies(e.ctx, root.ID, pol.ID)
	require.NoError(t, err, "the role still grants admin access")

	// Admin access by policy only: removing the policy is refused.
	e2 := newEnv(t)
	apol, err := e2.m.CreatePolicy(e2.ctx, users.Policy{Name: "Admin", AdminAccess: true})
	require.NoError(t, err)
	p := e2.newMember("p@example.com")
	_, err = e2.m.SetPolicies(e2.ctx, p.ID, apol.ID)
	require.NoError(t, err)
	_, err = e2.m.RemovePolicies(e2.ctx, p.ID, apol.ID)
	require.ErrorIs(t, err, users.ErrLastAdmin)

	// With a second administrator, the first may step down.
	e.newAdmin("second@example.com")
	require.NoError(t, e.m.RemoveRole(e.ctx, root.ID))
}

// A deleted user's sessions end with it: its access token no longer
// resolves, its refresh token no longer refreshes, and its session record
// is gone.
func TestDeleteUsersEndsSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newMember("s@example.com")
	s, err := e.m.Login(e.ctx, users.LoginInput{Email: "s@example.com", Password: "pw"})
	require.NoError(t, err)
	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.NoError(t, err)

	require.NoError(t, e.m.DeleteUsers(e.ctx, u.ID))

	_, err = e.m.ResolveAccessToken(e.ctx, s.AccessToken)
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	_, err = e.m.Refresh(e.ctx, s.RefreshToken)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.store.GetSession(e.ctx, s.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	// A new login finds no one.
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: "s@example.com", Password: "pw"})
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
}

// The last active administrator keeps an email: without one (with or
// without a password) no one could sign in as it or reset its password,
// and only a change to the database would let anyone in again.
func TestLastAdminKeepsAnEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pw := "root password 1"
	root, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "root@example.com", Password: pw, Role: &e.admin.ID, Status: users.StatusActive})
	require.NoError(t, err)
	none := ""
	for _, p := range []users.UserPatch{{Email: &none, Password: &none}, {Email: &none}} {
		_, err = e.m.UpdateUser(e.ctx, root.ID, p)
		requireField(t, err, "email", users.ErrLastAdmin)
		assert.Contains(t, err.Error(), "no one could sign in")
	}
	u, err := e.m.User(e.ctx, root.ID)
	require.NoError(t, err)
	assert.Equal(t, "root@example.com", u.Email, "nothing changed")
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: "root@example.com", Password: pw})
	require.NoError(t, err, "the password is still there")

	// The password alone may go: the address can still reset it.
	_, err = e.m.UpdateUser(e.ctx, root.ID, users.UserPatch{Password: &none})
	require.NoError(t, err)
	// With a second administrator, the first may lose both.
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "second@example.com", Role: &e.admin.ID, Status: users.StatusActive})
	require.NoError(t, err)
	_, err = e.m.UpdateUser(e.ctx, root.ID, users.UserPatch{Email: &none})
	require.NoError(t, err)
}

// An administrator who activates a registration does not hand it to
// whoever registered the address first: the password given at
// registration, which nobody proved, goes, and the address gets a link to
// choose one. An attacker registers the victim's address, the victim
// registers too (contested), support activates the account.
func TestAdminActivationKeepsNoUnprovenPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	const attackerPW, victimPW = "attacker password", "victim password"
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "victim@example.com", Password: attackerPW}))
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "victim@example.com", Password: victimPW}))
	e.deliver()
	list, err := e.m.ListUsers(e.ctx, users.UserQuery{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.True(t, list[0].Contested, "the contested state is visible")

	active := users.StatusActive
	u, err := e.m.UpdateUser(e.ctx, list[0].ID, users.UserPatch{Status: &active})
	require.NoError(t, err)
	assert.Equal(t, users.StatusInvited, u.Status, "active once the owner chose a password")
	assert.False(t, u.HasPassword)
	assert.False(t, u.Contested)
	for _, pw := range []string{attackerPW, victimPW} {
		_, err = e.m.Login(e.ctx, users.LoginInput{Email: "victim@example.com", Password: pw})
		require.ErrorIs(t, err, users.ErrInvalidCredentials)
	}
	msg := e.onlyMail("victim@example.com")
	assert.Contains(t, msg.Text, "registered more than once")
	u, err = e.m.AcceptInvite(e.ctx, linkToken(t, msg), "the owner's password")
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, u.Status)
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: "victim@example.com", Password: "the owner's password"})
	require.NoError(t, err)

	// Not contested: the same, with an invitation.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "first@example.com", Password: attackerPW}))
	e.deliver()
	first := e.userByEmail("first@example.com")
	u, err = e.m.UpdateUser(e.ctx, first.ID, users.UserPatch{Status: &active})
	require.NoError(t, err)
	assert.Equal(t, users.StatusInvited, u.Status)
	assert.False(t, u.HasPassword)
	assert.Equal(t, "You've been invited", e.onlyMail("first@example.com").Subject)
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: "first@example.com", Password: attackerPW})
	require.ErrorIs(t, err, users.ErrInvalidCredentials)

	// In bulk: refused, nothing changed.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "bulk@example.com", Password: attackerPW}))
	e.deliver()
	bulk := e.userByEmail("bulk@example.com")
	err = e.m.UpdateUsers(e.ctx, []string{bulk.ID}, users.UserPatch{Status: &active})
	requireField(t, err, "status", users.ErrInvalidPayload)
	assert.Equal(t, users.StatusUnverified, e.userByEmail("bulk@example.com").Status)

	// An administrator who sets the password too activates as asked.
	pw := "chosen by the admin"
	u, err = e.m.UpdateUser(e.ctx, bulk.ID, users.UserPatch{Status: &active, Password: &pw})
	require.NoError(t, err)
	assert.Equal(t, users.StatusActive, u.Status)
}
