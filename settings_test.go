package users_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

func TestSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s, err := e.m.Settings(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, users.DefaultSettings(), s)
	assert.False(t, s.PublicRegistration)
	assert.True(t, s.PublicRegistrationVerifyEmail)

	s.PublicRegistrationRole = &e.admin.ID
	_, err = e.m.UpdateSettings(e.ctx, s)
	require.ErrorIs(t, err, users.ErrAdminRole)
	missing := "00000000-0000-0000-0000-000000000000"
	s.PublicRegistrationRole = &missing
	_, err = e.m.UpdateSettings(e.ctx, s)
	require.ErrorIs(t, err, users.ErrRoleNotFound)
	got, err := e.m.Settings(e.ctx)
	require.NoError(t, err)
	assert.Nil(t, got.PublicRegistrationRole, "a rejected update saves nothing")

	// Settings are shared through the store: a second Manager sees them.
	e.open()
	other, err := users.New(e.store, e.mail, users.WithHasher(userstest.Hasher{}))
	require.NoError(t, err)
	got, err = other.Settings(e.ctx)
	require.NoError(t, err)
	assert.True(t, got.PublicRegistration)
	assert.Equal(t, e.member.ID, *got.PublicRegistrationRole)
}

func TestPasswordPolicies(t *testing.T) {
	t.Parallel()
	strong, err := users.ParsePasswordPolicy(users.PasswordPolicyStrong)
	require.NoError(t, err, "Directus's strong preset (lookaheads) is accepted")
	for pw, want := range map[string]bool{
		"Abcdef1!": true, "abcdef1!": false, "ABCDEF1!": false, "Abcdefg!": false,
		"Abcdef12": false, "Ab1!": false, "Abc def1!": false, "Zz9;Zz9;Zz9;": true,
	} {
		assert.Equal(t, want, strong.Match(pw), pw)
	}
	minLen, err := users.ParsePasswordPolicy(users.PasswordPolicyMinLength)
	require.NoError(t, err)
	assert.True(t, minLen.Match("12345678"))
	assert.False(t, minLen.Match("1234567"))
	ci, err := users.ParsePasswordPolicy("/^secret/i")
	require.NoError(t, err)
	assert.True(t, ci.Match("SECRET-ish"))

	for _, bad := range []string{"", "  ", "/(/", "(", "/a/q", strings.Repeat("a", 1025)} {
		_, err := users.ParsePasswordPolicy(bad)
		requireField(t, err, "auth_password_policy", users.ErrInvalidPayload)
	}
	// A catastrophic pattern (2^40 steps) is cut off by the match
	// timeout, not hung on.
	evil, err := users.ParsePasswordPolicy(`^(a+)+$`)
	require.NoError(t, err)
	matched := make(chan bool, 1)
	go func() { matched <- evil.Match(strings.Repeat("a", 40) + "!") }()
	assert.False(t, testenv.Receive(t, matched, testenv.WaitLimit, "a catastrophic password policy was not cut off: the match timeout is gone"))
}

// The stored project name reaches the mails, escaped in their HTML part;
// without one the invitation still reads well.
func TestProjectNameInMails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open(func(s *users.Settings) { s.ProjectName = "Acme <Tools> & Co" })

	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"grace@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	msg := e.onlyMail("grace@example.com")
	assert.Equal(t, "You've been invited", msg.Subject, "subjects stay fixed strings")
	assert.Contains(t, msg.Text, "You have been invited to join Acme <Tools> & Co as grace@example.com.")
	assert.Contains(t, msg.HTML, "You have been invited to join Acme &lt;Tools&gt; &amp; Co as grace@example.com.")

	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ada@example.com", Password: "pw"}))
	msg = e.onlyMail("ada@example.com")
	assert.Contains(t, msg.Text, "Thanks for registering with Acme <Tools> & Co.")
	assert.Contains(t, msg.HTML, "Thanks for registering with Acme &lt;Tools&gt; &amp; Co.")

	e.open(func(s *users.Settings) { s.ProjectName = "" })
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"linus@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	msg = e.onlyMail("linus@example.com")
	assert.Contains(t, msg.Text, "You have been invited as linus@example.com.")
	assert.NotContains(t, msg.Text, "join")
}

// WithProjectName is the name while the settings carry none.
func TestProjectNameDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.WithProjectName("Default Co"))
	s, err := e.m.Settings(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, "Default Co", s.ProjectName, "before any settings were saved")

	e.open()
	s, err = e.m.Settings(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, "Default Co", s.ProjectName)
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"a@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.Contains(t, e.onlyMail("a@example.com").Text, "join Default Co as")

	e.open(func(s *users.Settings) { s.ProjectName = "Stored Co" })
	s, err = e.m.Settings(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, "Stored Co", s.ProjectName, "the stored name wins")
	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"b@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	assert.Contains(t, e.onlyMail("b@example.com").Text, "join Stored Co as")

	_, err = users.New(e.store, e.mail, users.WithProjectName("Bad\nName"))
	requireField(t, err, "WithProjectName", users.ErrInvalidPayload)
}

func TestProjectNameValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open(func(s *users.Settings) { s.ProjectName = "Before" })
	for name, bad := range map[string]string{
		"line break":         "Acme\r\nBcc: x@evil.example",
		"tab":                "Acme\tCo",
		"NUL":                "Acme\x00",
		"bidi override":      "Acme \u202egnp.exe",
		"bidi isolate":       "Acme \u2067x\u2069",
		"zero-width space":   "Ac\u200bme",
		"zero-width joiner":  "Ac\u200dme",
		"byte-order mark":    "\ufeffAcme",
		"line separator":     "Acme\u2028Co",
		"paragraph sep":      "Acme\u2029Co",
		"private use":        "Acme \ue000",
		"invalid UTF-8":      "Acme \xff",
		"101 characters":     strings.Repeat("é", 101),
		"noncharacter":       "Acme \ufffe",
		"soft hyphen":        "Ac\u00adme",
		"interlinear anchor": "Acme\ufff9",
	} {
		_, err := e.m.UpdateSettings(e.ctx, users.Settings{PublicRegistrationVerifyEmail: true, ProjectName: bad})
		requireField(t, err, "project_name", users.ErrInvalidPayload)
		s, err := e.m.Settings(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, "Before", s.ProjectName, "%s: nothing saved", name)
	}
	for _, good := range []string{"", "Acme", strings.Repeat("é", 100), "Zoë's Café 🚀", "東京プロジェクト", "שלום עולם", "مرحبا"} {
		s, err := e.m.UpdateSettings(e.ctx, users.Settings{ProjectName: good})
		require.NoError(t, err, good)
		assert.Equal(t, good, s.ProjectName)
	}
}

// Settings reports WithProjectName's name while the stored settings carry
// none, so a host saving the settings it read (a console form, PATCH
// /settings changing another field) hands that default back. It must not
// be stored as if chosen: the configured name would then never change
// again (PROJECT_NAME edited, the mails still show the old one).
func TestSavingSettingsDoesNotStoreTheDefaultProjectName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memstore.New()
	open := func(name string) *users.Manager {
		m, err := users.New(store, memmailer.New(), users.WithHasher(userstest.Hasher{}), users.WithProjectName(name))
		require.NoError(t, err)
		return m
	}
	m := open("Acme")
	s, err := m.Settings(ctx)
	require.NoError(t, err)
	require.Equal(t, "Acme", s.ProjectName)
	s.PublicRegistration = true
	saved, err := m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, "Acme", saved.ProjectName, "still reported")

	s, err = open("Acme Corp").Settings(ctx)
	require.NoError(t, err)
	assert.True(t, s.PublicRegistration)
	assert.Equal(t, "Acme Corp", s.ProjectName, "the configured name follows the configuration")

	// A name chosen apart from the configured one is stored, and wins.
	m = open("Acme Corp")
	s.ProjectName = "Chosen"
	_, err = m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	s, err = open("Other").Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Chosen", s.ProjectName)
}
