package memmailer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
)

func TestRecordsAndFails(t *testing.T) {
	t.Parallel()
	m := memmailer.New()
	ctx := context.Background()
	msg := users.Message{To: "a@example.com", Subject: "s", Text: "go to https://x.example/v?a=1&token=abc_-9 now"}
	require.NoError(t, m.Send(ctx, msg))
	m.FailWith(memmailer.ErrRefused)
	require.ErrorIs(t, m.Send(ctx, users.Message{To: "b@example.com"}), memmailer.ErrRefused)
	m.FailWith(nil)
	require.Len(t, m.Messages(), 1)
	assert.Len(t, m.To("a@example.com"), 1)
	assert.Empty(t, m.To("b@example.com"))
	assert.Equal(t, "abc_-9", memmailer.Token(m.Messages()[0]))
	assert.Equal(t, "https://x.example/v?a=1&token=abc_-9", memmailer.Link(m.Messages()[0]))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, m.Send(cctx, msg), context.Canceled)
	m.Reset()
	assert.Empty(t, m.Messages())
}
