package multitest

// The same races through users.Manager: several Managers, each on a Store
// of its own, share one database as several instances of a host app do.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
	"github.com/gousers/users/userstest"
)

// countingMailer records every message, and how many times each was sent.
type countingMailer struct {
	mu   sync.Mutex
	sent map[string]int // to + text → sends
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

// managers returns n Managers on one fresh database, each on a Store of
// its own, all sending through mailer.
func managers(t *testing.T, newDatabase Factory, n int, mailer users.Mailer) []*users.Manager {
	t.Helper()
	ms := make([]*users.Manager, n)
	for i, s := range instances(t, newDatabase, n) {
		m, err := users.New(s, mailer, users.WithHasher(userstest.Hasher{}),
			users.Links{PublicURL: "https://app.example.com"})
		must(t, "users.New", err)
		ms[i] = m
	}
	return ms
}

// ManagersSettingsShared: settings changed on one instance are seen by the
// others on their next operation: registration opened on instance 0 works
// on instance 3, and closed on instance 2 is closed on instance 3 at once.
func ManagersSettingsShared(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	ms := managers(t, newDatabase, 4, memmailer.New())

	err := ms[3].Register(ctx, users.RegisterInput{Email: "a@example.com", Password: "pw-123456"})
	if !errors.Is(err, users.ErrRegistrationDisabled) {
		t.Fatalf("Register before registration was opened: %v; want ErrRegistrationDisabled", err)
	}
	role, err := ms[1].CreateRole(ctx, store.Role{Name: "Members"})
	must(t, "CreateRole", err)
	s, err := ms[0].Settings(ctx)
	must(t, "Settings", err)
	s.PublicRegistration = true
	s.PublicRegistrationRole = &role.ID
	_, err = ms[0].UpdateSettings(ctx, s)
	must(t, "UpdateSettings", err)

	for i, m := range ms {
		got, err := m.Settings(ctx)
		must(t, "Settings", err)
		if !got.PublicRegistration {
			t.Errorf("instance %d does not see registration opened", i)
		}
	}
	must(t, "Register on instance 3", ms[3].Register(ctx, users.RegisterInput{Email: "a@example.com", Password: "pw-123456"}))
	list, err := ms[2].UsersInRole(ctx, role.ID)
	must(t, "UsersInRole", err)
	if len(list) != 1 || list[0].Status != store.StatusUnverified {
		t.Fatalf("users in the registration role: %+v; want one unverified", list)
	}

	s.PublicRegistration = false
	_, err = ms[2].UpdateSettings(ctx, s)
	must(t, "UpdateSettings", err)
	err = ms[3].Register(ctx, users.RegisterInput{Email: "b@example.com", Password: "pw-123456"})
	if !errors.Is(err, users.ErrRegistrationDisabled) {
		t.Errorf("Register after registration was closed on another instance: %v; want ErrRegistrationDisabled", err)
	}
}

// ManagersRegistrationOneUser: 100 concurrent registrations of one
// address, in mixed case, spread over four instances: every call gets the
// same answer (nil), and exactly one user exists afterwards.
func ManagersRegistrationOneUser(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	ms := managers(t, newDatabase, 4, memmailer.New())
	s, err := ms[0].Settings(ctx)
	must(t, "Settings", err)
	s.PublicRegistration = true
	_, err = ms[0].UpdateSettings(ctx, s)
	must(t, "UpdateSettings", err)

	const n = 100
	errs := make([]error, n)
	testkit.Start(n, func(i int) {
		errs[i] = ms[i%len(ms)].Register(ctx, users.RegisterInput{
			Email:    mixedCase("victim@example.com", i),
			Password: "same-password-1",
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("Register %d: %v; want nil", i, err)
		}
	}
	list, err := ms[1].ListUsers(ctx, users.UserQuery{})
	must(t, "ListUsers", err)
	if len(list) != 1 {
		t.Fatalf("%d users for one address; want 1", len(list))
	}
	if list[0].Status != store.StatusUnverified || users.NormalizeEmail(list[0].Email) != "victim@example.com" {
		t.Errorf("the user: %s %q; want unverified victim@example.com", list[0].Status, list[0].Email)
	}
}

// ManagersWorkersSendEachMailOnce: two instances' delivery workers on one
// outbox send every mail exactly once.
func ManagersWorkersSendEachMailOnce(t *testing.T, newDatabase Factory) {
	ctx := t.Context()
	mailer := &countingMailer{}
	ms := managers(t, newDatabase, 2, mailer)
	role, err := ms[0].CreateRole(ctx, store.Role{Name: "Team"})
	must(t, "CreateRole", err)

	const n = 60
	for i := range n {
		// Each instance queues half of the invites.
		_, err := ms[i%2].Invite(ctx, users.InviteInput{Emails: []string{fmt.Sprintf("person%02d@example.com", i)}, Role: role.ID})
		must(t, "Invite", err)
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
			if err != nil {
				t.Errorf("DeliverPending on instance %d: %v", i, err)
			}
			reports[i] = r
		}()
	}
	wg.Wait()

	if got := reports[0].Sent + reports[1].Sent; got != n {
		t.Errorf("the workers sent %d + %d mails; want %d in all", reports[0].Sent, reports[1].Sent, n)
	}
	mailer.mu.Lock()
	defer mailer.mu.Unlock()
	if mailer.n != n || len(mailer.sent) != n {
		t.Errorf("the mailer got %d messages, %d distinct; want %d, each once", mailer.n, len(mailer.sent), n)
	}
	for k, c := range mailer.sent {
		if c != 1 {
			t.Errorf("sent %d times: %.40q", c, k)
		}
	}
	pending, err := ms[1].ListMail(ctx, store.MailQuery{Status: store.MailPending})
	must(t, "ListMail", err)
	if len(pending) != 0 {
		t.Errorf("%d mails still pending", len(pending))
	}
}
