package pgstore_test

// Multi-instance tests through the Manager: several Managers, each on a pool
// of its own, share one schema as several instances of a host app share
// one database.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/pgstore"
)

// countingMailer records every message, and how many times each was sent.
type countingMailer struct {
	mu   sync.Mutex
	sent map[string]int // subject+to+text → sends
	n    int
}

func (c *countingMailer) Send(_ context.Context, m users.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent == nil {
		c.sent = make(map[string]int)
	}
	c.sent[m.To+"\x00"+m.Text]++
	c.n++
	return nil
}

// managers returns n Managers on one fresh schema, each on its own pool,
// all sending through mailer.
func managers(t *testing.T, n int, mailer users.Mailer) []*users.Manager {
	t.Helper()
	schema := newSchema(t)
	ms := make([]*users.Manager, n)
	for i := range ms {
		s, err := pgstore.New(context.Background(), newPool(t, schema))
		require.NoError(t, err)
		ms[i], err = users.New(s, mailer, users.WithHasher(users.InsecureHasher{}),
			users.WithPublicURL("https://app.example.com"))
		require.NoError(t, err)
	}
	return ms
}

// Settings changed on one instance are seen by the others on their next
// operation: registration opened on instance 0 works on instance 3.
func TestManagersSettingsSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ms := managers(t, 4, memmailer.New())

	err := ms[3].Register(ctx, users.RegisterInput{Email: "a@example.com", Password: "pw-123456"})
	require.ErrorIs(t, err, users.ErrRegistrationDisabled)

	role, err := ms[1].CreateRole(ctx, users.Role{Name: "Members"})
	require.NoError(t, err)
	s, err := ms[0].Settings(ctx)
	require.NoError(t, err)
	s.PublicRegistration = true
	s.PublicRegistrationRole = &role.ID
	_, err = ms[0].UpdateSettings(ctx, s)
	require.NoError(t, err)

	for i, m := range ms {
		got, err := m.Settings(ctx)
		require.NoError(t, err)
		assert.True(t, got.PublicRegistration, "instance %d", i)
	}
	require.NoError(t, ms[3].Register(ctx, users.RegisterInput{Email: "a@example.com", Password: "pw-123456"}))
	list, err := ms[2].UsersInRole(ctx, role.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, users.StatusUnverified, list[0].Status)

	// Closing registration on instance 2 closes it on instance 3 at once.
	s.PublicRegistration = false
	_, err = ms[2].UpdateSettings(ctx, s)
	require.NoError(t, err)
	err = ms[3].Register(ctx, users.RegisterInput{Email: "b@example.com", Password: "pw-123456"})
	require.ErrorIs(t, err, users.ErrRegistrationDisabled)
}

// 100 concurrent registrations of one address, in mixed case, spread over
// four instances: exactly one user exists afterwards, and every call got
// the same answer (nil).
func TestManagersConcurrentRegistrationOneUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ms := managers(t, 4, memmailer.New())
	s, err := ms[0].Settings(ctx)
	require.NoError(t, err)
	s.PublicRegistration = true
	_, err = ms[0].UpdateSettings(ctx, s)
	require.NoError(t, err)

	const n = 100
	errs := make([]error, n)
	start(n, func(i int) {
		errs[i] = ms[i%len(ms)].Register(ctx, users.RegisterInput{
			Email:    mixedCase("victim@example.com", i),
			Password: "same-password-1",
		})
	})
	for i, err := range errs {
		assert.NoError(t, err, "call %d", i)
	}
	list, err := ms[1].ListUsers(ctx, users.UserQuery{})
	require.NoError(t, err)
	require.Len(t, list, 1, "exactly one user for one address")
	assert.Equal(t, users.StatusUnverified, list[0].Status)
	assert.Equal(t, "victim@example.com", users.NormalizeEmail(list[0].Email))
}

// Two instances' delivery workers on one outbox send every mail exactly
// once.
func TestManagersTwoWorkersSendEachMailOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mailer := &countingMailer{}
	ms := managers(t, 2, mailer)
	role, err := ms[0].CreateRole(ctx, users.Role{Name: "Team"})
	require.NoError(t, err)

	const n = 60
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("person%02d@example.com", i)
	}
	// Each instance queues half of the invites.
	for i, e := range emails {
		_, err := ms[i%2].Invite(ctx, users.InviteInput{Emails: []string{e}, Role: role.ID})
		require.NoError(t, err)
	}

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	reports := make([]users.DeliveryReport, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := ms[i].DeliverPending(wctx)
			assert.NoError(t, err)
			reports[i] = r
		}()
	}
	wg.Wait()

	assert.Equal(t, n, reports[0].Sent+reports[1].Sent, "every mail sent by one worker or the other")
	mailer.mu.Lock()
	defer mailer.mu.Unlock()
	assert.Equal(t, n, mailer.n, "no mail sent twice")
	assert.Len(t, mailer.sent, n)
	for k, c := range mailer.sent {
		assert.Equal(t, 1, c, "sent %d times: %.40q", c, k)
	}
	pending, err := ms[1].ListMail(ctx, users.MailQuery{Status: users.MailPending})
	require.NoError(t, err)
	assert.Empty(t, pending)
}
