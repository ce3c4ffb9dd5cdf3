package webui_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// The steps of the Data Studio's user guide ("Users": enable registration,
// invite, create, assign an existing user, remove a role), done in a
// browser by accessible names, each checked in the store afterwards.

func TestSeedEnableRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	member := e.role("Member", false)
	e.role("Administrator", true)
	p := e.newPage()

	require.Equal(t, 200, p.open("/settings"))
	p.shot("settings")
	p.check("User Registration", true)
	// Only non-admin roles are offered.
	assert.False(t, p.has("option", "Administrator"), "an admin role is offered for registration")
	p.choose("Role", "Member")
	p.check("Verify Email", true)
	p.fill("Email Filter", `{"email":{"_ends_with":"@example.com"}}`)
	p.fill("Password Policy", users.PasswordPolicyMinLength)
	p.fill("Project Name", "Acme Portal")
	require.Equal(t, 200, p.click("button", "Save"))
	assert.Contains(t, p.text("status", ""), "Saved")
	p.shot("settings-saved")

	s := e.settings()
	assert.True(t, s.PublicRegistration)
	assert.True(t, s.PublicRegistrationVerifyEmail)
	require.NotNil(t, s.PublicRegistrationRole)
	assert.Equal(t, member.ID, *s.PublicRegistrationRole)
	require.NotNil(t, s.PublicRegistrationEmailFilter)
	assert.True(t, s.PublicRegistrationEmailFilter.Match("a@example.com"))
	assert.False(t, s.PublicRegistrationEmailFilter.Match("a@example.org"))
	require.NotNil(t, s.PasswordPolicy)
	assert.Equal(t, users.PasswordPolicyMinLength, s.PasswordPolicy.String())
	assert.Equal(t, "Acme Portal", s.ProjectName)
	// The form shows what is saved.
	assert.Equal(t, "Acme Portal", p.value("field", "Project Name"))
	assert.Equal(t, users.PasswordPolicyMinLength, p.value("field", "Password Policy"))
}

func TestSeedEnableRegistrationBadFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	p := e.newPage()
	require.Equal(t, 200, p.open("/settings"))
	p.check("User Registration", true)
	p.fill("Email Filter", `{"_and":[{"email":{"_foo":"x"}}]}`)
	require.Equal(t, 422, p.click("button", "Save"))
	// The error names the bad node and sits next to the field (it is the
	// field's description).
	desc := p.describedBy("Email Filter")
	assert.Contains(t, desc, `_and[0].email`)
	assert.Equal(t, `{"_and":[{"email":{"_foo":"x"}}]}`, p.value("field", "Email Filter"), "the input is kept")
	assert.False(t, e.settings().PublicRegistration, "nothing is saved")
	assert.Nil(t, e.settings().PublicRegistrationEmailFilter)
}

func TestSeedInviteUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	editors := e.role("Editors", false)
	other := e.role("Other", false)
	e.user(users.CreateUserInput{Email: "member@example.com", Role: &other.ID})
	p := e.newPage()

	require.Equal(t, 200, p.open("/roles/"+editors.ID))
	require.Equal(t, 200, p.click("button", "Invite Users"))
	p.shot("role-invite")
	p.fill("Emails", "ann@example.com, bob@example.com,carl@example.com\ndora@example.com\nnot-an-address\nmember@example.com")
	require.Equal(t, 200, p.click("button", "Invite"))
	status := p.text("status", "")
	p.shot("role-invite-results")
	assert.Contains(t, status, "ann@example.com: invited")
	assert.Contains(t, status, "dora@example.com: invited")
	assert.NotContains(t, status, "not-an-address", "a refusal is not in the success box")
	assert.Contains(t, p.text("alert", "Refused"), "not-an-address: refused, not a valid email address")
	assert.Contains(t, p.text("status", "Left alone"), "member@example.com: has an active account in another role, nothing sent; Add Existing gives it this role.")

	for _, a := range []string{"ann@example.com", "bob@example.com", "carl@example.com", "dora@example.com"} {
		u := e.byEmail(a)
		require.NotNil(t, u, a)
		assert.Equal(t, users.StatusInvited, u.Status, a)
		require.NotNil(t, u.Role, a)
		assert.Equal(t, editors.ID, *u.Role, a)
		assert.Contains(t, e.lastLink(a), e.srv.URL+"/admin/accept-invite?token=", "the mailed link opens the console's page")
	}
	assert.Equal(t, other.ID, *e.byEmail("member@example.com").Role, "an existing user is left alone")
	assert.Nil(t, e.byEmail("not-an-address"))

	// Inviting again re-sends.
	require.Equal(t, 200, p.click("button", "Invite Users"))
	p.fill("Emails", "ann@example.com")
	require.Equal(t, 200, p.click("button", "Invite"))
	assert.Contains(t, p.text("status", ""), "ann@example.com: invite re-sent")
}

func TestSeedCreateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	editors := e.role("Editors", false)
	p := e.newPage()

	require.Equal(t, 200, p.open("/roles/"+editors.ID))
	require.Equal(t, 200, p.click("button", "Create New"))
	p.shot("role-create")
	p.fill("Email", "new@example.com")
	p.fill("Password", "correct horse")
	p.fill("First Name", "New")
	p.fill("Last Name", "Person")
	p.choose("Status", "Active")
	require.Equal(t, 200, p.click("button", "Save"))
	assert.Contains(t, p.text("status", ""), "Created new@example.com")

	u := e.byEmail("new@example.com")
	require.NotNil(t, u)
	assert.Equal(t, "New", u.FirstName)
	assert.Equal(t, "Person", u.LastName)
	assert.Equal(t, users.StatusActive, u.Status)
	require.NotNil(t, u.Role)
	assert.Equal(t, editors.ID, *u.Role)
	_, err := e.m.Authenticate(context.Background(), "new@example.com", "correct horse")
	assert.NoError(t, err, "the password was set")
	// Visible under Users in Role.
	assert.True(t, p.has("button", "Remove new@example.com"))

	// A duplicate is refused next to the field, and nothing is written.
	require.Equal(t, 200, p.click("button", "Create New"))
	p.fill("Email", "NEW@example.com")
	require.Equal(t, 409, p.click("button", "Save"))
	assert.Contains(t, p.describedBy("Email"), "already exists")
	list, err := e.m.ListUsers(context.Background(), users.UserQuery{})
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestSeedAddExisting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	editors := e.role("Editors", false)
	other := e.role("Other", false)
	a := e.user(users.CreateUserInput{Email: "a@example.com"})
	b := e.user(users.CreateUserInput{Email: "b@example.com", Role: &other.ID})
	c := e.user(users.CreateUserInput{Email: "c@example.com"})
	e.user(users.CreateUserInput{Email: "in@example.com", Role: &editors.ID})
	p := e.newPage()

	require.Equal(t, 200, p.open("/roles/"+editors.ID))
	require.Equal(t, 200, p.click("button", "Add Existing"))
	p.shot("role-add")
	assert.Contains(t, p.text("main", ""), "Now in Other: adding moves them out of it.")
	assert.False(t, p.has("checkbox", "in@example.com"), "a user already in the role is not offered")
	p.fill("Search", "example")
	require.Equal(t, 200, p.click("button", "Search"))
	p.check("a@example.com", true)
	p.check("b@example.com", true)
	require.Equal(t, 200, p.click("button", "Add"))
	assert.Contains(t, p.text("status", ""), "Added 2 users")

	for _, id := range []string{a.ID, b.ID} {
		u, err := e.m.User(context.Background(), id)
		require.NoError(t, err)
		require.NotNil(t, u.Role)
		assert.Equal(t, editors.ID, *u.Role)
	}
	u, err := e.m.User(context.Background(), c.ID)
	require.NoError(t, err)
	assert.Nil(t, u.Role, "an unchecked user is left alone")
	assert.True(t, p.has("button", "Remove a@example.com"))
	assert.True(t, p.has("button", "Remove b@example.com"))
}

func TestSeedRemoveRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, asAdmin)
	editors := e.role("Editors", false)
	u := e.user(users.CreateUserInput{Email: "gone@example.com", Role: &editors.ID})
	keep := e.user(users.CreateUserInput{Email: "stays@example.com", Role: &editors.ID})
	p := e.newPage()

	require.Equal(t, 200, p.open("/roles/"+editors.ID))
	p.shot("role")
	require.Equal(t, 200, p.click("button", "Remove gone@example.com"))
	// A page of its own asks first; Cancel goes back with nothing changed.
	assert.Contains(t, p.text("main", ""), "Remove gone@example.com from Editors?")
	p.shot("role-remove-confirm")
	require.Equal(t, 200, p.click("link", "Cancel"))
	assert.True(t, p.has("button", "Remove gone@example.com"))
	require.Equal(t, 200, p.click("button", "Remove gone@example.com"))
	require.Equal(t, 200, p.click("button", "Remove"))
	assert.Contains(t, p.text("status", ""), "Removed gone@example.com")
	assert.False(t, p.has("button", "Remove gone@example.com"))

	got, err := e.m.User(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Nil(t, got.Role, "the role is null: public access")
	got, err = e.m.User(context.Background(), keep.ID)
	require.NoError(t, err)
	assert.Equal(t, editors.ID, *got.Role)
}
