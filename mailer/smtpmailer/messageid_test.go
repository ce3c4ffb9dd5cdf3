package smtpmailer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/smtpmailer"
	"github.com/gousers/users/mailer/smtpmailer/smtptest"
)

// The Message-ID header is the users.Message's own: sending the same mail
// twice (a retry after a crash between the send and its record) gives the
// receiver two copies with one Message-ID, so it can drop the second. A
// Message without one gets a random id on the From domain, different each
// time; one that could break the header is refused for good.
func TestMessageIDIsTheMessages(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.STARTTLS})
	m := newMailer(t, config(srv, smtpmailer.STARTTLS))
	ctx := context.Background()

	msg := message("ada@example.org")
	msg.MessageID = "0b9d4c1e-8f7a-4c55-9a2b-6f3e2d1c0a99@app.example.com"
	require.NoError(t, m.Send(ctx, msg))
	require.NoError(t, m.Send(ctx, msg))
	msg.MessageID = ""
	require.NoError(t, m.Send(ctx, msg))
	require.NoError(t, m.Send(ctx, msg))

	got := srv.Messages()
	require.Len(t, got, 4)
	ids := make([]string, len(got))
	for i, g := range got {
		require.NoError(t, g.Err)
		ids[i] = g.Header.Get("Message-Id")
	}
	assert.Equal(t, "<0b9d4c1e-8f7a-4c55-9a2b-6f3e2d1c0a99@app.example.com>", ids[0])
	assert.Equal(t, ids[0], ids[1], "the same mail, the same Message-ID")
	assert.Regexp(t, `^<[a-z0-9]+@example\.com>$`, ids[2], "none given: a random one on the From domain")
	assert.NotEqual(t, ids[2], ids[3])

	for _, bad := range []string{"no-at-sign", "a@b\r\nBcc: x@evil.example", "<a@b>", "a b@c", "a@b@c", "@b", "a@"} {
		msg.MessageID = bad
		err := m.Send(ctx, msg)
		require.Error(t, err, "%q", bad)
		assert.True(t, errors.Is(err, users.ErrPermanent), "%q: %v", bad, err)
	}
	assert.Len(t, srv.Messages(), 4, "nothing sent with a bad Message-ID")
}
