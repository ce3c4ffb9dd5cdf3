package logmailer_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/logmailer"
)

func TestPrintsMail(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := logmailer.New(&buf, logmailer.WithHTML())
	err := m.Send(context.Background(), users.Message{To: "a@example.com", Subject: "Verify", Text: "link: https://x/?token=t1", HTML: "<a href=\"https://x/?token=t1\">v</a>"})
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, "To: a@example.com\n")
	assert.Contains(t, out, "Subject: Verify\n")
	assert.Contains(t, out, "link: https://x/?token=t1\n")
	assert.Contains(t, out, "--- html ---\n<a href")

	buf.Reset()
	require.NoError(t, logmailer.New(&buf).Send(context.Background(), users.Message{To: "b@example.com", Text: "t", HTML: "<p>h</p>"}))
	assert.NotContains(t, buf.String(), "<p>h</p>", "HTML is printed only WithHTML")
}
