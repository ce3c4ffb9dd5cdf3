package users_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/internal/testenv"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
)

// handlerLog is an event handler that records what it is given and fails
// while fail says so.
type handlerLog struct {
	mu     sync.Mutex
	events []users.Event
	fail   func(users.Event) error
}

func (r *handlerLog) handle(_ context.Context, e users.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(e); err != nil {
			return err
		}
	}
	r.events = append(r.events, e)
	return nil
}

func (r *handlerLog) flows() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Flow)
	}
	return out
}

func (e *env) deliverEvents() users.DeliveryReport {
	e.t.Helper()
	rep, err := e.m.DeliverEvents(e.ctx)
	require.NoError(e.t, err)
	return rep
}

// Every flow records its event, with the request's facts and the actor
// Directus would name, and the handler gets them after the change, in
// order.
func TestEventsEveryFlow(t *testing.T) {
	t.Parallel()
	rec := &handlerLog{}
	e := newEnv(t, users.Hooks{Handlers: map[string]func(context.Context, users.Event) error{"app": rec.handle}})
	e.open()
	anon := users.WithRequest(e.ctx, users.RequestInfo{IP: "203.0.113.5", UserAgent: "UA/1", Origin: "https://app.example.com", ID: "req-1"})
	require.NoError(t, e.m.Register(anon, users.RegisterInput{Email: "ann@example.com", Password: "pw-ann-123"}))
	ann := e.userByEmail("ann@example.com")
	tok := memmailer.Token(e.onlyMail("ann@example.com"))
	_, err := e.m.VerifyEmail(anon, tok)
	require.NoError(t, err)
	s, err := e.m.Login(anon, users.LoginInput{Email: "ann@example.com", Password: "pw-ann-123"})
	require.NoError(t, err)
	require.NoError(t, e.m.Logout(anon, s.RefreshToken))
	admin := users.WithRequest(e.ctx, users.RequestInfo{ID: "req-admin", Actor: "admin-1"})
	_, err = e.m.UpdateUser(admin, ann.ID, users.UserPatch{SetRole: true, Role: &e.admin.ID})
	require.NoError(t, err)
	_, err = e.m.ChangePassword(anon, ann.ID, "pw-ann-123", "pw-ann-456")
	require.NoError(t, err)
	_, err = e.m.Invite(admin, users.InviteInput{Emails: []string{"bob@example.com"}, Role: e.member.ID, InviteURL: inviteURL})
	require.NoError(t, err)
	bob := e.userByEmail("bob@example.com")
	_, err = e.m.AcceptInvite(e.ctx, memmailer.Token(e.onlyMail("bob@example.com")), "pw-bob-123")
	require.NoError(t, err)
	c, err := e.m.CreateUser(admin, users.CreateUserInput{Email: "cy@example.com"})
	require.NoError(t, err)
	require.NoError(t, e.m.DeleteUsers(admin, c.ID))

	assert.Empty(t, rec.flows(), "nothing is delivered before DeliverEvents or Run")
	// One event per user per round: the deliveries of a user come in turn.
	for range 20 {
		if e.deliverEvents().Sent == 0 {
			break
		}
	}
	want := []string{"registered", "verified", "signed_in", "signed_out", "updated", "password_changed",
		"invited", "invite_accepted", "created", "deleted"}
	assert.ElementsMatch(t, want, rec.flows())
	byUser := map[string][]string{}
	for _, ev := range rec.events {
		byUser[ev.UserID] = append(byUser[ev.UserID], ev.Flow)
	}
	assert.Equal(t, want[:6], byUser[ann.ID], "in order for one user")
	assert.Equal(t, []string{"invited", "invite_accepted"}, byUser[bob.ID])

	log, err := e.m.ListActivity(e.ctx, users.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, log, len(want))
	get := func(flow string) users.Event {
		for _, ev := range log {
			if ev.Flow == flow {
				return ev
			}
		}
		t.Fatalf("no %s event", flow)
		return users.Event{}
	}
	reg := get("registered")
	assert.Equal(t, users.Event{ID: reg.ID, Flow: "registered", Action: "create", UserID: ann.ID, Email: "ann@example.com",
		Role: e.member.ID, Time: reg.Time, RequestID: "req-1", IP: "203.0.113.5", UserAgent: "UA/1", Origin: "https://app.example.com"}, reg,
		"a registration is anonymous")
	in := get("signed_in")
	assert.Equal(t, "login", in.Action)
	assert.Equal(t, ann.ID, in.Actor, "a sign-in is the user's: Directus's {action: login, user: <user>}")
	out := get("signed_out")
	assert.Equal(t, ann.ID, out.UserID, "a logout by refresh token names the session's user")
	assert.Equal(t, ann.ID, out.Actor)
	upd := get("updated")
	assert.Equal(t, "admin-1", upd.Actor, "an administrator's change names the administrator")
	assert.Equal(t, e.admin.ID, upd.Role, "the role after the change")
	assert.Equal(t, "admin-1", get("invited").Actor)
	assert.Equal(t, bob.ID, get("invite_accepted").Actor)
	assert.Equal(t, "delete", get("deleted").Action)
	assert.Equal(t, "cy@example.com", get("deleted").Email)

	// The activity query: a user's history, newest first.
	hist, err := e.m.ListActivity(e.ctx, users.ActivityQuery{Filter: []byte(`{"item":{"_eq":"` + ann.ID + `"}}`), Sort: []string{"-id"}, Limit: 2})
	require.NoError(t, err)
	require.Len(t, hist, 2)
	assert.Equal(t, []string{"password_changed", "updated"}, []string{hist[0].Flow, hist[1].Flow})
	n, err := e.m.CountActivity(e.ctx, users.ActivityQuery{Filter: []byte(`{"action":{"_eq":"login"}}`)})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	for _, bad := range []users.ActivityQuery{
		{Filter: []byte(`{"item":{"_icontains":"x"}}`)}, {Filter: []byte(`{"password":{"_eq":"x"}}`)},
		{Sort: []string{"email"}}, {Limit: -1},
	} {
		_, err := e.m.ListActivity(e.ctx, bad)
		require.ErrorIs(t, err, users.ErrInvalidQuery, "%+v", bad)
	}
}

// A failing handler is retried with backoff; later events of the same
// user wait for it; other users' events do not.
func TestEventsRetryInOrder(t *testing.T) {
	t.Parallel()
	failing := true
	rec := &handlerLog{fail: func(ev users.Event) error {
		if failing && ev.Flow == "created" && ev.Email == "a@example.com" {
			return errors.New("downstream down")
		}
		return nil
	}}
	log := &testenv.Buffer{}
	e := newEnv(t, users.Hooks{Handlers: map[string]func(context.Context, users.Event) error{"app": rec.handle}},
		users.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	a, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "a@example.com"})
	require.NoError(t, err)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "b@example.com"})
	require.NoError(t, err)
	first := "x"
	_, err = e.m.UpdateUser(e.ctx, a.ID, users.UserPatch{FirstName: &first})
	require.NoError(t, err)

	rep := e.deliverEvents()
	assert.Equal(t, 1, rep.Retried)
	assert.Equal(t, []string{"created"}, rec.flows(), "b's event only; a's update waits for a's creation")
	assert.Contains(t, log.String(), "downstream down")
	assert.Zero(t, e.deliverEvents().Sent, "not due before its backoff")
	failing = false
	e.clock.Advance(2 * time.Hour)
	e.deliverEvents()
	e.deliverEvents()
	assert.Equal(t, []string{"created", "created", "updated"}, rec.flows())
}

// A handler that panics is retried, not fatal.
func TestEventsHandlerPanics(t *testing.T) {
	t.Parallel()
	calls := 0
	e := newEnv(t, users.Hooks{Handlers: map[string]func(context.Context, users.Event) error{"app": func(context.Context, users.Event) error {
		calls++
		if calls == 1 {
			panic("boom")
		}
		return nil
	}}}, quiet)
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "a@example.com"})
	require.NoError(t, err)
	assert.Equal(t, 1, e.deliverEvents().Retried)
	e.clock.Advance(2 * time.Hour)
	assert.Equal(t, 1, e.deliverEvents().Sent)
}

// Before-hooks adjust a new user, refuse it, and a hook's error, panic or
// timeout refuses the call without writing anything.
func TestBeforeHooks(t *testing.T) {
	t.Parallel()
	slow := make(chan struct{})
	t.Cleanup(func() { close(slow) })
	hook := func(_ context.Context, ev *users.Event) error {
		switch {
		case strings.HasPrefix(ev.Email, "blocked"):
			return errors.New("billing says no: card 4242")
		case strings.HasPrefix(ev.Email, "panic"):
			panic("hook bug")
		case strings.HasPrefix(ev.Email, "slow"):
			<-slow
		}
		ev.Metadata = map[string]any{"plan": "pro"}
		return nil
	}
	log := &testenv.Buffer{}
	var signIns []string
	e := newEnv(t, users.Hooks{BeforeRegister: hook, BeforeCreate: hook, BeforeInvite: hook, Timeout: 50 * time.Millisecond,
		BeforeSignIn: func(_ context.Context, ev *users.Event) error {
			signIns = append(signIns, ev.UserID)
			if ev.Email == "ok@example.com" {
				return nil
			}
			return errors.New("no")
		}}, users.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	e.open()
	for _, addr := range []string{"blocked@example.com", "panic@example.com", "slow@example.com"} {
		_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: addr})
		require.ErrorIs(t, err, users.ErrInvalidPayload, addr)
		_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"fine@example.com", addr}, Role: e.member.ID})
		require.ErrorIs(t, err, users.ErrInvalidPayload, addr)
		// Register answers as for anyone.
		require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: addr, Password: "pw-123456"}), addr)
	}
	assert.Empty(t, e.allUsers(), "a refusal writes nothing, even for the fine address of the invite")
	assert.Empty(t, e.allMail())
	n, err := e.m.CountActivity(e.ctx, users.ActivityQuery{})
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.NotContains(t, log.String(), "4242", "the hook's message is not logged")
	assert.Contains(t, log.String(), "timed_out=true")
	assert.Contains(t, log.String(), "panicked")

	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ok@example.com", Password: "pw-123456"}))
	u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "made@example.com", Password: "pw-123456"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"plan": "pro"}, u.Metadata, "the hook filled the metadata")
	assert.Equal(t, map[string]any{"plan": "pro"}, e.userByEmail("ok@example.com").Metadata)

	// Sign-in: a refusal is the one login error.
	ok := e.userByEmail("ok@example.com")
	_, err = e.m.VerifyEmail(e.ctx, memmailer.Token(e.onlyMail("ok@example.com")))
	require.NoError(t, err)
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: "ok@example.com", Password: "pw-123456"})
	require.NoError(t, err)
	_, err = e.m.Login(e.ctx, users.LoginInput{Email: "made@example.com", Password: "pw-123456"})
	require.ErrorIs(t, err, users.ErrInvalidCredentials)
	assert.Contains(t, signIns, ok.ID)
}

// A Hooks option is checked.
func TestHooksOptionChecked(t *testing.T) {
	t.Parallel()
	for _, h := range []users.Hooks{
		{Timeout: -1}, {Retention: -time.Hour},
		{Handlers: map[string]func(context.Context, users.Event) error{"": func(context.Context, users.Event) error { return nil }}},
		{Handlers: map[string]func(context.Context, users.Event) error{"x": nil}},
	} {
		_, err := users.New(memstore.New(), memmailer.New(), h)
		var ve *users.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.True(t, strings.HasPrefix(ve.Field, "Hooks."), ve.Field)
	}
}

// Retention prunes the activity log.
func TestActivityRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, users.Hooks{Retention: 24 * time.Hour})
	_, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "old@example.com"})
	require.NoError(t, err)
	e.clock.Advance(25 * time.Hour)
	_, err = e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "new@example.com"})
	require.NoError(t, err)
	n, err := e.m.PruneActivity(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	left, err := e.m.ListActivity(e.ctx, users.ActivityQuery{})
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Equal(t, "new@example.com", left[0].Email)
}

// Run delivers an event as soon as its change committed, without waiting
// for its poll interval.
func TestRunDeliversAtOnce(t *testing.T) {
	t.Parallel()
	got := make(chan users.Event, 1)
	e := newEnv(t, users.Hooks{Handlers: map[string]func(context.Context, users.Event) error{"app": func(_ context.Context, ev users.Event) error {
		got <- ev
		return nil
	}}}, users.Delivery{PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.m.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	// The first event may be found by Run's first pass; once it is
	// delivered Run waits for its hour-long poll, and only the nudge of the
	// second change's commit can wake it.
	for _, addr := range []string{"first@example.com", "second@example.com"} {
		u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: addr})
		require.NoError(t, err)
		select {
		case ev := <-got:
			assert.Equal(t, u.ID, ev.UserID)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the event was not delivered although its change committed", addr)
		}
	}
}
