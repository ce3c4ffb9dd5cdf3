package storetest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Events: the activity log and its deliveries

// newEvent returns an event about user, at t, for handlers.
func newEvent(flow string, u *store.User, t time.Time, handlers ...string) *store.Event {
	return &store.Event{
		Action: "update", Flow: flow, Collection: "directus_users", Item: u.ID, Actor: u.ID, Time: t,
		IP: "203.0.113.9", UserAgent: "storetest «agent»", Origin: "https://app.example.com",
		RequestID: "req-" + flow, Email: u.Email, Role: "editor", Handlers: handlers,
	}
}

// events lists every event, by id.
func (f *fixture) events(q store.EventQuery) []*store.Event {
	f.Helper()
	es, err := f.s.ListEvents(f.ctx, q)
	if err != nil {
		f.Fatalf("ListEvents: %v", err)
	}
	return es
}

func (f *fixture) claimEvents(now, until time.Time, limit int) []*store.EventDelivery {
	f.Helper()
	ds, err := f.s.ClaimEvents(f.ctx, now, until, limit)
	if err != nil {
		f.Fatalf("ClaimEvents: %v", err)
	}
	return ds
}

// deliveryNames names claimed deliveries as flow/handler.
func deliveryNames(ds []*store.EventDelivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Event.Flow + "/" + d.Handler
	}
	return out
}

func (f *fixture) checkNames(what string, got, want []string) {
	f.Helper()
	if !slices.Equal(got, want) {
		f.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func eventsInsertedWithChange(f *fixture) {
	u := &store.User{ID: newID(), Email: "Ev@Example.com", EmailKey: "ev@example.com", Status: store.StatusActive,
		CreatedAt: base, UpdatedAt: base}
	e := newEvent("registered", u, base, "app")
	e.Action, e.Actor = "create", ""
	f.createUserFx(u, store.Effects{Events: []*store.Event{e}})
	got := f.events(store.EventQuery{})
	if len(got) != 1 {
		f.Fatalf("ListEvents: %d events, want 1", len(got))
	}
	g := got[0]
	if g.ID <= 0 {
		f.Errorf("event ID %d, want > 0", g.ID)
	}
	want := *e
	want.ID, want.Handlers = g.ID, nil
	if fmt.Sprint(*g) != fmt.Sprint(want) || !g.Time.Equal(base) {
		f.Errorf("event read back as %+v, want %+v", *g, want)
	}
	// A failed change writes no event.
	dup := &store.User{ID: newID(), Email: "ev@example.com", EmailKey: "ev@example.com", Status: store.StatusActive,
		CreatedAt: base, UpdatedAt: base}
	err := f.s.CreateUser(f.ctx, dup, store.Effects{Events: []*store.Event{newEvent("registered", dup, base, "app")}})
	f.wantErr("CreateUser with a taken email", err, store.ErrDuplicateEmail)
	if n := len(f.events(store.EventQuery{})); n != 1 {
		f.Errorf("after a failed CreateUser: %d events, want 1 (its event must not be written)", n)
	}
	if _, err := f.s.UpdateUser(f.ctx, newID(), store.Condition{}, store.UserChange{UpdatedAt: base},
		store.Effects{Events: []*store.Event{newEvent("updated", u, base, "app")}}); err == nil {
		f.Errorf("UpdateUser of an unknown user: no error")
	}
	if n := len(f.events(store.EventQuery{})); n != 1 {
		f.Errorf("after a failed UpdateUser: %d events, want 1", n)
	}
}

func eventsEveryWriter(f *fixture) {
	a, b := f.user("a@example.com"), f.user("b@example.com")
	sess := newSession(a.ID)
	if err := f.s.CreateSession(f.ctx, sess, store.Condition{}, newEvent("signed_in", a, base, "app")); err != nil {
		f.Fatalf("CreateSession: %v", err)
	}
	// The user of a logout by token is the session's.
	out := &store.Event{Action: "update", Flow: "signed_out", Collection: "directus_users", Time: base, Handlers: []string{"app"}}
	if err := f.s.DeleteSessionByToken(f.ctx, sess.TokenHash, out); err != nil {
		f.Fatalf("DeleteSessionByToken: %v", err)
	}
	// Nothing deleted: no event.
	err := f.s.DeleteSessionByToken(f.ctx, newHash(), &store.Event{Action: "update", Flow: "ghost", Collection: "directus_users", Time: base})
	f.wantErr("DeleteSessionByToken of an unknown token", err, store.ErrNotFound)
	err = f.s.DeleteSession(f.ctx, newID(), newEvent("ghost", a, base))
	f.wantErr("DeleteSession of an unknown session", err, store.ErrNotFound)
	s2 := f.session(a.ID)
	if err := f.s.DeleteSession(f.ctx, s2.ID, &store.Event{Action: "update", Flow: "signed_out_by_id", Collection: "directus_users", Time: base, Handlers: []string{"app"}}); err != nil {
		f.Fatalf("DeleteSession: %v", err)
	}
	st := store.StatusSuspended
	if err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{}, store.UserChange{Status: &st, UpdatedAt: base},
		newEvent("bulk_a", a, base, "app"), newEvent("bulk_b", b, base, "app")); err != nil {
		f.Fatalf("UpdateUsers: %v", err)
	}
	if err := f.s.DeleteUsers(f.ctx, []string{b.ID}, store.Condition{}, newEvent("deleted", b, base, "app")); err != nil {
		f.Fatalf("DeleteUsers: %v", err)
	}
	err = f.s.DeleteUsers(f.ctx, []string{newID()}, store.Condition{}, newEvent("ghost", b, base))
	f.wantErr("DeleteUsers of an unknown user", err, store.ErrNotFound)
	var flows []string
	for _, e := range f.events(store.EventQuery{}) {
		flows = append(flows, e.Flow)
		if (e.Flow == "signed_out" || e.Flow == "signed_out_by_id") && (e.Item != a.ID || e.Actor != a.ID || e.Email != a.Email || e.Role != "") {
			f.Errorf("logout by token: event about %q (%q, role %q), want the session's user %q (%q, no role)", e.Item, e.Email, e.Role, a.ID, a.Email)
		}
	}
	f.checkNames("the events every writer inserted, by id", flows,
		[]string{"signed_in", "signed_out", "signed_out_by_id", "bulk_a", "bulk_b", "deleted"})
	// The activity log outlives the user: b's events stay.
	if n := len(f.events(store.EventQuery{Filter: &store.Filter{Field: store.FieldItem, Op: store.OpEq, Value: b.ID}})); n != 2 {
		f.Errorf("events of the deleted user: %d, want 2", n)
	}
}

func eventsClaimInOrderPerUser(f *fixture) {
	a, b := f.user("a@example.com"), f.user("b@example.com")
	f.update(a.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{newEvent("a1", a, base, "h1", "h2")}})
	f.update(b.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{newEvent("b1", b, base, "h1")}})
	f.update(a.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{newEvent("a2", a, base, "h1", "h2")}})
	f.update(a.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{newEvent("quiet", a, base)}})
	until := base.Add(time.Minute)
	got := f.claimEvents(base, until, 100)
	f.checkNames("first claim: the first event of each handler and user", deliveryNames(got), []string{"a1/h1", "a1/h2", "b1/h1"})
	if n := len(f.claimEvents(base, until, 100)); n != 0 {
		f.Errorf("a second claim while the leases run: %d deliveries, want 0", n)
	}
	if err := f.s.AckEvent(f.ctx, got[0].Event.ID, "h1"); err != nil {
		f.Fatalf("AckEvent: %v", err)
	}
	f.checkNames("after a1/h1 is acknowledged", deliveryNames(f.claimEvents(base, until, 100)), []string{"a2/h1"})
	f.wantErr("AckEvent twice", f.s.AckEvent(f.ctx, got[0].Event.ID, "h1"), store.ErrNotFound)
	f.wantErr("AckEvent of an unknown handler", f.s.AckEvent(f.ctx, got[0].Event.ID, "nobody"), store.ErrNotFound)
	// Leases end: what was claimed and not acknowledged is claimable again,
	// still one per handler and user.
	f.checkNames("after the leases ended", deliveryNames(f.claimEvents(until, until.Add(time.Minute), 100)), []string{"a1/h2", "b1/h1", "a2/h1"})
}

func eventsClaimLimit(f *fixture) {
	for i := range 5 {
		u := f.user(fmt.Sprintf("u%d@example.com", i))
		f.update(u.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{newEvent(fmt.Sprint("e", i), u, base, "h")}})
	}
	got := f.claimEvents(base, base.Add(time.Minute), 3)
	f.checkNames("ClaimEvents with limit 3: the lowest ids", deliveryNames(got), []string{"e0/h", "e1/h", "e2/h"})
	if n := len(f.claimEvents(base, base.Add(time.Minute), 0)); n != 0 {
		f.Errorf("ClaimEvents with limit 0: %d deliveries", n)
	}
}

func eventsRetry(f *fixture) {
	a := f.user("a@example.com")
	f.update(a.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{newEvent("a1", a, base, "h")}})
	f.update(a.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{newEvent("a2", a, base, "h")}})
	d := f.claimEvents(base, base.Add(time.Hour), 10)
	if len(d) != 1 {
		f.Fatalf("claim: %v", deliveryNames(d))
	}
	next := base.Add(10 * time.Minute)
	if err := f.s.RetryEvent(f.ctx, d[0].Event.ID, "h", store.EventRetry{Attempts: 1, LastError: "boom ✗", NextAttemptAt: next}); err != nil {
		f.Fatalf("RetryEvent: %v", err)
	}
	// The lease is cleared, but the retry is not due; a2 waits behind it.
	if got := f.claimEvents(base.Add(time.Minute), base.Add(time.Hour), 10); len(got) != 0 {
		f.Errorf("claim before the retry is due: %v, want none (a2 waits for a1)", deliveryNames(got))
	}
	got := f.claimEvents(next, next.Add(time.Hour), 10)
	if len(got) != 1 || got[0].Event.Flow != "a1" || got[0].Attempts != 1 || got[0].LastError != "boom ✗" {
		f.Fatalf("claim when the retry is due: %+v, want a1 with its attempt and error", got)
	}
	f.wantErr("RetryEvent of an unknown delivery", f.s.RetryEvent(f.ctx, 1<<40, "h", store.EventRetry{NextAttemptAt: next}), store.ErrNotFound)
}

func eventsConcurrentClaim(f *fixture) {
	const users, claimers = 12, 6
	for i := range users {
		u := f.user(fmt.Sprintf("u%d@example.com", i))
		f.update(u.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{newEvent(fmt.Sprint("e", i), u, base, "h1", "h2")}})
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		errs []error
	)
	f.race("ClaimEvents", claimers, func(ctx context.Context, i int) {
		ds, err := f.s.ClaimEvents(ctx, base, base.Add(time.Hour), 5)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		for _, n := range deliveryNames(ds) {
			seen[n]++
		}
	})
	for _, err := range errs {
		f.Errorf("a concurrent ClaimEvents failed: %v", err)
	}
	for n, c := range seen {
		if c > 1 {
			f.Errorf("delivery %s claimed %d times under one lease", n, c)
		}
	}
	rest := f.claimEvents(base, base.Add(time.Hour), 1000)
	if got := len(seen) + len(rest); got != 2*users {
		f.Errorf("claimed %d + %d deliveries, want %d in all", len(seen), len(rest), 2*users)
	}
}

func eventsListQuery(f *fixture) {
	a, b := f.user("a@example.com"), f.user("b@example.com")
	for i := range 4 {
		for _, u := range []*store.User{a, b} {
			e := newEvent(fmt.Sprint("f", i), u, base.Add(time.Duration(i)*time.Minute))
			if i%2 == 1 {
				e.Action = "login"
			}
			f.update(u.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{e}})
		}
	}
	all := f.events(store.EventQuery{})
	if len(all) != 8 {
		f.Fatalf("ListEvents: %d events, want 8", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			f.Errorf("ListEvents without a sort: ids %d then %d, want ascending", all[i-1].ID, all[i].ID)
		}
	}
	itemA := &store.Filter{Field: store.FieldItem, Op: store.OpEq, Value: a.ID}
	page := f.events(store.EventQuery{Filter: itemA, Sort: []store.Sort{{Field: store.FieldID, Desc: true}}, Limit: 2, Offset: 1})
	var flows []string
	for _, e := range page {
		flows = append(flows, e.Flow)
	}
	f.checkNames("a's events, newest first, second page of 2", flows, []string{"f2", "f1"})
	logins := &store.Filter{And: []*store.Filter{
		{Field: store.FieldUser, Op: store.OpEq, Value: b.ID},
		{Field: store.FieldAction, Op: store.OpIn, Values: []string{"login", "logout"}},
	}}
	if n, err := f.s.CountEvents(f.ctx, store.EventQuery{Filter: logins, Limit: 1}); err != nil || n != 2 {
		f.Errorf("CountEvents(b's logins) = %d, %v; want 2", n, err)
	}
	byID := f.events(store.EventQuery{Filter: &store.Filter{Field: store.FieldID, Op: store.OpEq, Value: strconv.FormatInt(all[3].ID, 10)}})
	if len(byID) != 1 || byID[0].ID != all[3].ID {
		f.Errorf("filter id _eq %d: %v", all[3].ID, byID)
	}
	if got := f.events(store.EventQuery{Filter: &store.Filter{Field: store.FieldID, Op: store.OpEq, Value: "x' OR 1=1"}}); len(got) != 0 {
		f.Errorf("filter id _eq a non-number: %d events, want 0", len(got))
	}
	if got := f.events(store.EventQuery{Filter: &store.Filter{Field: store.FieldEmail, Op: store.OpEq, Value: "b@example.com' OR '1'='1"}}); len(got) != 0 {
		f.Errorf("a filter value is data: %d events, want 0", len(got))
	}
	bySort := f.events(store.EventQuery{Sort: []store.Sort{{Field: store.FieldTimestamp, Desc: true}, {Field: store.FieldItem}}, Limit: 1})
	if len(bySort) != 1 || bySort[0].Flow != "f3" {
		f.Errorf("sort -timestamp: first is %v, want an f3", bySort)
	}
}

func eventsPrune(f *fixture) {
	a := f.user("a@example.com")
	for i := range 5 {
		f.update(a.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{
			newEvent(fmt.Sprint("p", i), a, base.Add(time.Duration(i)*day), "h")}})
	}
	n, err := f.s.PruneEvents(f.ctx, base.Add(3*day), 2)
	if err != nil || n != 2 {
		f.Fatalf("PruneEvents(limit 2) = %d, %v; want 2", n, err)
	}
	n, err = f.s.PruneEvents(f.ctx, base.Add(3*day), 2)
	if err != nil || n != 1 {
		f.Fatalf("PruneEvents again = %d, %v; want 1", n, err)
	}
	var flows []string
	for _, e := range f.events(store.EventQuery{}) {
		flows = append(flows, e.Flow)
	}
	f.checkNames("events left after pruning before day 3", flows, []string{"p3", "p4"})
	// The pruned events' deliveries went with them.
	f.checkNames("claim after pruning", deliveryNames(f.claimEvents(base.Add(10*day), base.Add(11*day), 10)), []string{"p3/h"})
}

// eventsIDsNeverReused: pruning every old event, the newest included
// where the store deletes it, never lets a later event take an id given
// before.
func eventsIDsNeverReused(f *fixture) {
	a := f.user("ids@example.com")
	for i := range 3 {
		f.update(a.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{
			newEvent(fmt.Sprint("old", i), a, base.Add(time.Duration(i)*time.Hour))}})
	}
	var highest int64
	for _, e := range f.events(store.EventQuery{}) {
		highest = max(highest, e.ID)
	}
	for {
		n, err := f.s.PruneEvents(f.ctx, base.Add(10*day), 100)
		if err != nil {
			f.Fatalf("PruneEvents: %v", err)
		}
		if n == 0 {
			break
		}
	}
	if left := f.events(store.EventQuery{}); len(left) > 1 {
		f.Fatalf("after pruning every old event %d are left; a store keeps at most the newest", len(left))
	}
	f.update(a.ID, store.UserChange{UpdatedAt: base}, store.Effects{Events: []*store.Event{
		newEvent("new", a, base.Add(20*day))}})
	for _, e := range f.events(store.EventQuery{}) {
		if e.Flow == "new" && e.ID <= highest {
			f.Fatalf("the event inserted after pruning got id %d, not above the %d given before", e.ID, highest)
		}
	}
}

func lastAccessKept(f *fixture) {
	u := f.user("la@example.com")
	if got := f.getUser(u.ID).LastAccess; got != nil {
		f.Fatalf("a new user's LastAccess = %v, want nil", got)
	}
	sess := newSession(u.ID)
	sess.CreatedAt, sess.RefreshedAt = base.Add(time.Hour), base.Add(time.Hour)
	if err := f.s.CreateSession(f.ctx, sess, store.Condition{}); err != nil {
		f.Fatalf("CreateSession: %v", err)
	}
	if got := f.getUser(u.ID).LastAccess; got == nil || !got.Equal(base.Add(time.Hour)) {
		f.Fatalf("after CreateSession: LastAccess = %v, want the session's CreatedAt %v", got, base.Add(time.Hour))
	}
	_, after, err := f.s.RotateSession(f.ctx, sess.TokenHash, newHash(), base.Add(2*time.Hour), base.Add(3*day), store.Condition{})
	if err != nil {
		f.Fatalf("RotateSession: %v", err)
	}
	want := base.Add(2 * time.Hour)
	if after.LastAccess == nil || !after.LastAccess.Equal(want) {
		f.Errorf("RotateSession's user: LastAccess = %v, want %v", after.LastAccess, want)
	}
	name := "Changed"
	got := f.update(u.ID, store.UserChange{FirstName: &name, UpdatedAt: base.Add(5 * time.Hour)}, store.Effects{})
	if got.LastAccess == nil || !got.LastAccess.Equal(want) {
		f.Errorf("an update changed LastAccess to %v, want it kept at %v", got.LastAccess, want)
	}
	if l := f.getUser(u.ID).LastAccess; l == nil || l.Location() != time.UTC {
		f.Errorf("LastAccess %v, want UTC", l)
	}
}
