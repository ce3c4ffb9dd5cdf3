package users_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// Every mail gets its Message-ID when it is queued — a unique id at the
// public URL's host — and every delivery attempt hands the Mailer that
// same id, so that a receiver can drop the copy a retry sends (delivery is
// at least once: a crash between a send and its record sends it again).
// A mail queued before mails carried one gets one derived from its id,
// also the same on every attempt.
//
// Checked against the old behaviour: the Mailer got no Message-ID and
// smtpmailer made a new random one per attempt, so a crash's duplicate
// could not be told from a new mail.
func TestMessageIDKeptAcrossAttempts(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		attempts = map[string][]string{} // To → Message-IDs, in order
		fail     = 2
	)
	mailer := users.MailerFunc(func(_ context.Context, m users.Message) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[m.To] = append(attempts[m.To], m.MessageID)
		if fail > 0 && m.To == "r@example.com" {
			fail--
			return errors.New("451 try later")
		}
		return nil
	})
	st := memstore.New()
	clock := &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	m, err := users.New(st, mailer, users.WithHasher(users.InsecureHasher{}), users.WithClock(clock.Now),
		users.WithPublicURL("https://App.Example.com:8443/base"), quiet)
	require.NoError(t, err)
	ctx := context.Background()
	role, err := m.CreateRole(ctx, users.Role{Name: "Member"})
	require.NoError(t, err)
	_, err = m.Invite(ctx, users.InviteInput{Emails: []string{"r@example.com", "s@example.com"}, Role: role.ID})
	require.NoError(t, err)

	queued, err := st.ListMail(ctx, store.MailQuery{})
	require.NoError(t, err)
	require.Len(t, queued, 2)
	ids := map[string]string{}
	for _, q := range queued {
		assert.Regexp(t, `^[0-9a-f-]{36}@app\.example\.com$`, q.MessageID, "a unique id at the public URL's host")
		ids[q.To] = q.MessageID
	}
	assert.NotEqual(t, ids["r@example.com"], ids["s@example.com"])

	for range 3 {
		_, err := m.DeliverPending(ctx)
		require.NoError(t, err)
		clock.Advance(2 * time.Hour)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, attempts["r@example.com"], 3, "two failures, then delivered")
	for _, id := range attempts["r@example.com"] {
		assert.Equal(t, ids["r@example.com"], id, "the same Message-ID on every attempt")
	}
	assert.Equal(t, []string{ids["s@example.com"]}, attempts["s@example.com"])

	// A mail from before Message-IDs: one derived from its id, stable.
	old := &store.Mail{ID: "0d6f3c1a-1111-4222-8333-944455556666", Kind: string(users.MailInvite), To: "old@example.com",
		Subject: "x", Text: "x", HTML: "x", Status: store.MailPending, CreatedAt: clock.Now(), NextAttemptAt: clock.Now()}
	require.NoError(t, st.CreateUser(ctx, &store.User{ID: "old", Status: users.StatusInvited, CreatedAt: clock.Now(), UpdatedAt: clock.Now()}, store.Effects{Mail: old}))
	mu.Unlock()
	_, err = m.DeliverPending(ctx)
	mu.Lock()
	require.NoError(t, err)
	assert.Equal(t, []string{old.ID + "@app.example.com"}, attempts["old@example.com"])
}
