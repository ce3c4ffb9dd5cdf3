package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
)

// The quickstart's output says what each step did, and each says what the
// library must do: a refusal printed as <nil>, a status other than active
// or a missing mail fails here, not only a non-zero exit.
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
	uuid := `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	want := []string{
		`^opened SQLite store at \S+users\.db$`,
		`^created roles "Member" and "Editor"$`,
		`^enabled public registration \(role "Member", verification on, filter \{.*"_ends_with":"@example\.com".*\}\)$`,
		`^registering someone@elsewhere\.org is refused by the filter: .*` + regexp.QuoteMeta(reason(users.ErrEmailNotAllowed)) + `$`,
		`^registered ada@example\.com; the verification mail is in the outbox$`,
		`^delivery worker sent 1 mail\(s\)$`,
		`^verified ada@example\.com with the token from the mail: status active$`,
		`^invited grace@example\.com as "Editor"$`,
		`^delivery worker sent 1 mail\(s\)$`,
		`^grace accepted the invitation: status active$`,
		`^authenticated ada@example\.com \(id ` + uuid + `, status active\)$`,
		`^authenticated grace@example\.com \(id ` + uuid + `, status active\)$`,
		`^a wrong password is refused: .*` + regexp.QuoteMeta(reason(users.ErrInvalidCredentials)) + `$`,
		`^done$`,
	}
	require.Len(t, steps, len(want), "steps:\n%s", strings.Join(steps, "\n"))
	for i, w := range want {
		assert.Regexp(t, w, steps[i], "step %d", i+1)
	}
	// The two mails went to the allowed URLs, each with a token.
	assert.Regexp(t, `https://app\.example\.com/verify\?token=[A-Za-z0-9_-]{43}\b`, out.String())
	assert.Regexp(t, `https://app\.example\.com/accept-invite\?token=[A-Za-z0-9_-]{43}\b`, out.String())
	assert.NotContains(t, out.String(), "<nil>")
}

// reason is a sentinel's message without its "users: " prefix: how it
// ends an error that wraps it.
func reason(err error) string { return strings.TrimPrefix(err.Error(), "users: ") }
