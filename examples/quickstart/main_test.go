package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// The quickstart's output says what each step did, and each says what the
// library must do: a refusal printed as <nil>, a status other than active,
// a session that outlives its logout, a missing mail, a list or a count
// that is off fails here, not only a non-zero exit.
func TestQuickstartSteps(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out))

	var steps []string
	for _, l := range strings.Split(out.String(), "\n") {
		if m := regexp.MustCompile(`^\[(\d+)\] (.*)$`).FindStringSubmatch(l); m != nil {
			steps = append(steps, m[2])
		}
	}
	want := []string{
		`^opened SQLite store at \S+users\.db$`,
		`^created roles "Member" and "Editor"$`,
		`^enabled public registration \(role "Member", verification on, filter \{.*"_ends_with":"@example\.com".*\}\)$`,
		// register and verify
		`^registering someone@elsewhere\.org is refused by the filter: .*` + regexp.QuoteMeta(reason(users.ErrEmailNotAllowed)) + `$`,
		`^registered ada@example\.com; the verification mail is in the outbox$`,
		`^delivery worker sent 1 mail\(s\)$`,
		`^verified ada@example\.com with the token from the mail: status active$`,
		// invite and accept
		`^invited grace@example\.com as "Editor"$`,
		`^delivery worker sent 1 mail\(s\)$`,
		`^grace accepted the invitation: status active$`,
		// admin create
		`^an administrator created alan@example\.com: status active$`,
		// sessions
		`^a wrong password is refused: .*` + regexp.QuoteMeta(reason(users.ErrInvalidCredentials)) + `$`,
		`^ada logged in: the access token speaks for ada@example\.com$`,
		`^refreshed: a new access token and a new refresh token; the one presented is spent$`,
		`^the spent refresh token, presented again, is refused and ends the session: .*` + regexp.QuoteMeta(reason(users.ErrTokenReused)) + `$`,
		`^ada logged in again and out: the access token is refused at once: .*` + regexp.QuoteMeta(reason(users.ErrInvalidCredentials)) + `$`,
		// password reset
		`^grace asked for a password reset$`,
		`^delivery worker sent 1 mail\(s\)$`,
		`^grace reset her password with the token from the mail and logged in with the new one$`,
		// list with a filter, delete
		`^users in the role "Editor", by email: \[alan@example\.com grace@example\.com\]$`,
		`^deleted alan@example\.com: 1 user\(s\) left in the role "Editor"$`,
		`^done$`,
	}
	require.Len(t, steps, len(want), "steps:\n%s", strings.Join(steps, "\n"))
	for i, w := range want {
		assert.Regexp(t, w, steps[i], "step %d", i+1)
	}
	// Three mails, each to its allowed URL with a token, each printed
	// after the step that queued it; nothing else was mailed (the
	// administrator's creation mails nothing, the refused registration
	// mailed nothing).
	text := out.String()
	mails := regexp.MustCompile(`(?m)^To: (\S+)$`).FindAllStringSubmatch(text, -1)
	var to []string
	for _, m := range mails {
		to = append(to, m[1])
	}
	assert.Equal(t, []string{"ada@example.com", "grace@example.com", "grace@example.com"}, to)
	assert.Regexp(t, `(?s)\[5\] registered.*https://app\.example\.com/verify\?token=[A-Za-z0-9_-]{43}\n.*\[6\] `, text)
	assert.Regexp(t, `(?s)\[8\] invited.*https://app\.example\.com/accept-invite\?token=[A-Za-z0-9_-]{43}\n.*\[9\] `, text)
	assert.Regexp(t, `(?s)\[17\] grace asked.*https://app\.example\.com/reset-password\?token=[A-Za-z0-9_-]{43}\n.*\[18\] `, text)
	assert.NotContains(t, text, "<nil>")
	// The SQLite file lived in a temporary directory, removed at the end.
	db := strings.TrimPrefix(steps[0], "opened SQLite store at ")
	_, err := os.Stat(filepath.Dir(db))
	assert.ErrorIs(t, err, fs.ErrNotExist, "the quickstart leaves %s behind", db)
	assert.NotContains(t, text, "correct horse battery", "no password is printed")
}

// lastToken reads the last link mailed to an address, not the last link
// printed: the wrong mail's token would fail the flow, or pass it for the
// wrong reason.
func TestLastToken(t *testing.T) {
	t.Parallel()
	inbox := "----- mail -----\nTo: a@example.com\nSubject: x\n\nhttps://app.example.com/verify?token=AAA\n----------------\n" +
		"----- mail -----\nTo: b@example.com\nSubject: y\n\nhttps://app.example.com/accept-invite?token=BBB\n----------------\n" +
		"----- mail -----\nTo: a@example.com\nSubject: z\n\nhttps://app.example.com/reset-password?token=CCC\n----------------\n" +
		"----- mail -----\nTo: b@example.com\nSubject: w\n\nno link\n----------------\n"
	tok, err := lastToken(inbox, "a@example.com")
	require.NoError(t, err)
	assert.Equal(t, "CCC", tok)
	tok, err = lastToken(inbox, "b@example.com")
	require.NoError(t, err)
	assert.Equal(t, "BBB", tok, "a later mail without a link does not hide the earlier one")
	_, err = lastToken(inbox, "c@example.com")
	assert.Error(t, err)
}

// reason is a sentinel's message without its "users: " prefix: how it
// ends an error that wraps it.
func reason(err error) string { return strings.TrimPrefix(err.Error(), "users: ") }
