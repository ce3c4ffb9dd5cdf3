package users_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// The stored project name reaches the mails, escaped in their HTML part;
// without one the invitation still reads well.
func TestProjectNameInMails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open(func(s *users.Settings) { s.ProjectName = "Acme <Tools> & Co" })

	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"grace@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	msg := e.onlyMail("grace@example.com")
	assert.Equal(t, users.SubjectInvite, msg.Subject, "subjects stay fixed strings")
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
	requireField(t, err, "project_name", users.ErrInvalidPayload)
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
