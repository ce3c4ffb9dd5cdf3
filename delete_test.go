package users_test

import (
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
)

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
	u, err := e.m.Create(e.ctx, users.CreateInput{Email: email, Password: "pw", Role: &e.admin.ID})
	require.NoError(e.t, err)
	return u
}

func (e *env) newMember(email string) *users.User {
	e.t.Helper()
	u, err := e.m.Create(e.ctx, users.CreateInput{Email: email, Password: "pw", Role: &e.member.ID})
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
	susp, err := e2.m.Create(e2.ctx, users.CreateInput{Email: "s@example.com", Role: &e2.admin.ID, Status: users.StatusSuspended})
	require.NoError(t, err)
	require.ErrorIs(t, e2.m.DeleteUsers(e2.ctx, active.ID), users.ErrLastAdmin)
	require.NoError(t, e2.m.DeleteUsers(e2.ctx, susp.ID))
	e3 := newEnv(t)
	only, err := e3.m.Create(e3.ctx, users.CreateInput{Email: "s@example.com", Role: &e3.admin.ID, Status: users.StatusSuspended})
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
