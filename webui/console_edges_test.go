package webui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// Remove and Delete ask first, on a page of their own; GET changes
// nothing.
func TestRemoveAndDeleteAskFirst(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	editors, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "ed@example.com", Role: &editors.ID})
	require.NoError(t, err)

	res, body := do(t, e.h, "GET", "/admin/roles/"+editors.ID+"/remove?user="+u.ID, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "Remove ed@example.com from Editors?")
	assert.Contains(t, body, `action="/admin/roles/`+editors.ID+`/remove"`)
	got, err := e.m.User(ctx, u.ID)
	require.NoError(t, err)
	require.NotNil(t, got.Role, "asking changes nothing")
	res, _ = do(t, e.h, "POST", "/admin/roles/"+editors.ID+"/remove", url.Values{"user": {u.ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got, err = e.m.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Nil(t, got.Role)

	res, body = do(t, e.h, "GET", "/admin/users/"+u.ID+"/delete", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "Delete ed@example.com?")
	got, err = e.m.User(ctx, u.ID)
	require.NoError(t, err, "asking deletes nothing")
	res, _ = do(t, e.h, "POST", "/admin/users/"+u.ID+"/delete", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, err = e.m.User(ctx, got.ID)
	assert.ErrorIs(t, err, users.ErrUserNotFound)

	res, _ = do(t, e.h, "GET", "/admin/users/nobody/delete", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestDeletingTheLastAdministratorIsRefused(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	admins, err := e.m.CreateRole(ctx, users.Role{Name: "Administrator", AdminAccess: true})
	require.NoError(t, err)
	u, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "only@example.com", Password: "pw", Role: &admins.ID})
	require.NoError(t, err)
	res, body := do(t, e.h, "POST", "/admin/users/"+u.ID+"/delete", url.Values{})
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Contains(t, body, "no active user with admin access")
	_, err = e.m.User(ctx, u.ID)
	require.NoError(t, err)
}

// The Users page creates and invites.
func TestUsersPageCreatesAndInvites(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	editors, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)

	res, body := do(t, e.h, "GET", "/admin/users?panel=create", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "Create User")
	res, body = do(t, e.h, "POST", "/admin/users/create", url.Values{"email": {"bad"}, "account_status": {"active"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, body, `value="bad"`, "the input is kept")
	res, _ = do(t, e.h, "POST", "/admin/users/create", url.Values{"email": {"new@example.com"}, "password": {"pw"},
		"role": {editors.ID}, "account_status": {"active"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	list, err := e.m.UsersInRole(ctx, editors.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "new@example.com", list[0].Email)

	res, _ = do(t, e.h, "POST", "/admin/users/invite", url.Values{"emails": {"inv@example.com"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "a role is required")
	res, _ = do(t, e.h, "POST", "/admin/users/invite", url.Values{"emails": {"inv@example.com, nope, new@example.com"}, "role": {editors.ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	body = follow(t, e.h, res)
	// Each kind of outcome in its own box: sent (green), refused (a
	// warning), left alone.
	ok, warn, note := box(body, "notice ok"), box(body, "notice warn"), box(body, "notice note")
	assert.Contains(t, ok, "inv@example.com: invited")
	assert.NotContains(t, ok, "nope")
	assert.Contains(t, warn, "nope: refused")
	assert.Contains(t, note, "new@example.com: already a member")
}

// Add Existing names each candidate's role and says adding moves them.
func TestAddExistingShowsTheCurrentRole(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	ctx := context.Background()
	editors, err := e.m.CreateRole(ctx, users.Role{Name: "Editors"})
	require.NoError(t, err)
	writers, err := e.m.CreateRole(ctx, users.Role{Name: "Writers"})
	require.NoError(t, err)
	w, err := e.m.CreateUser(ctx, users.CreateUserInput{Email: "w@example.com", Role: &writers.ID})
	require.NoError(t, err)
	_, err = e.m.CreateUser(ctx, users.CreateUserInput{Email: "loose@example.com"})
	require.NoError(t, err)
	res, body := do(t, e.h, "GET", "/admin/roles/"+editors.ID+"?panel=add", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "Now in Writers: adding moves them out of it.")
	assert.Contains(t, body, "No role now.")
	res, _ = do(t, e.h, "POST", "/admin/roles/"+editors.ID+"/add", url.Values{"user": {w.ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, follow(t, e.h, res), "1 was moved out of another role")
}

// The settings page has Save before the form's fields too.
func TestSettingsSaveAtTheTop(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, asAdmin)
	_, body := do(t, e.h, "GET", "/admin/settings", nil)
	first := strings.Index(body, `<button type="submit">Save</button>`)
	require.GreaterOrEqual(t, first, 0)
	assert.Less(t, first, strings.Index(body, "User Registration"), "a Save comes before the first field")
	assert.Equal(t, 2, strings.Count(body, `<button type="submit">Save</button>`))
}

// box returns the notice box of class cls in body ("" when none).
func box(body, cls string) string {
	i := strings.Index(body, `class="`+cls+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	return rest[:strings.Index(rest, "</div>")]
}
