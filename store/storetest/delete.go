package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// DeleteUsers

// belongings are the rows of one user that DeleteUsers must remove (or
// keep).
type belongings struct {
	user     *store.User
	live     *store.Token // unconsumed
	consumed *store.Token
	session  *store.Session // rotated once
	earlier  []byte         // its earlier token
	second   *store.Session
	pending  *store.Mail
	leased   *store.Mail // pending, claimed by a worker
	sent     *store.Mail
	failed   *store.Mail
}

// withBelongings creates a user with a policy, tokens (one consumed),
// sessions (one rotated) and mail in every state.
func (f *fixture) withBelongings(email string, p *store.Policy) *belongings {
	f.Helper()
	b := &belongings{}
	u := newUser(email)
	u.Status = store.StatusUnverified
	u.Policies = []string{p.ID}
	b.consumed = newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	b.user = f.createUserFx(u, store.Effects{Token: b.consumed})
	if _, err := f.s.ConsumeToken(f.ctx, b.consumed.Hash, store.PurposeVerifyEmail, base, store.Condition{},
		store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: base}, store.Effects{}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	b.consumed.ConsumedAt = ptr(base)
	b.user.Status = store.StatusActive
	b.live = newToken(u.ID, store.PurposePasswordReset, base.Add(day))
	f.issue(b.live)
	b.session = f.session(u.ID)
	b.earlier = f.rotate(b.session, base.Add(time.Minute))
	b.second = f.session(u.ID)
	mk := func(offset time.Duration) *store.Mail {
		m := newMail(u.ID, u.Email, base.Add(offset))
		f.enqueue(m)
		return m
	}
	b.sent, b.failed, b.leased, b.pending = mk(-4*time.Second), mk(-3*time.Second), mk(-2*time.Second), mk(-time.Second)
	sentAt := base
	if err := f.s.UpdateMail(f.ctx, b.sent.ID, store.MailUpdate{Status: store.MailSent, Attempts: 1, NextAttemptAt: b.sent.NextAttemptAt, SentAt: &sentAt, ClearBody: true}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	b.sent.Status, b.sent.Attempts, b.sent.SentAt, b.sent.Text, b.sent.HTML = store.MailSent, 1, &sentAt, "", ""
	if err := f.s.UpdateMail(f.ctx, b.failed.ID, store.MailUpdate{Status: store.MailFailed, Attempts: 5, LastError: "550 no such user", NextAttemptAt: b.failed.NextAttemptAt}); err != nil {
		f.Fatalf("UpdateMail: %v", err)
	}
	b.failed.Status, b.failed.Attempts, b.failed.LastError = store.MailFailed, 5, "550 no such user"
	// The pending mails are the only ones due; claim the older one.
	claimed := f.claim(base, base.Add(time.Hour), 1)
	if len(claimed) != 1 || claimed[0].ID != b.leased.ID {
		f.Fatalf("suite bug: ClaimMail claimed %v, want %s", mailIDs(claimed), b.leased.ID)
	}
	b.leased.LeaseUntil = ptr(base.Add(time.Hour))
	// Later claims in this sub-test must not pick the pending mail.
	return b
}

// intact asserts that b's user and everything of it are as created.
func (f *fixture) intact(b *belongings, what string) {
	f.Helper()
	f.checkUser(what+": user", f.getUser(b.user.ID), b.user)
	f.tokenLive(b.live.Hash, what+": unconsumed token")
	f.checkToken(what+": consumed token", f.getToken(b.consumed.Hash), b.consumed)
	f.sessionIs(b.session, what+": session")
	f.sessionIs(b.second, what+": second session")
	for _, m := range []*store.Mail{b.pending, b.leased, b.sent, b.failed} {
		found := false
		for _, got := range f.listMail(store.MailQuery{To: m.To}) {
			if got.ID == m.ID {
				found = true
				f.checkMail(what+": mail", got, m)
			}
		}
		if !found {
			f.Errorf("%s: mail %s (%s) is gone", what, m.ID, m.Status)
		}
	}
}

// gone asserts that b's user and what belongs to it are deleted, but for
// its sent and failed mail.
func (f *fixture) gone(b *belongings, what string) {
	f.Helper()
	f.userGone(b.user.ID, what)
	if u, err := f.s.GetUserByEmailKey(f.ctx, b.user.EmailKey); err == nil {
		f.Errorf("%s: GetUserByEmailKey found %s", what, u.ID)
	}
	f.tokenGone(b.live.Hash, what+": unconsumed token")
	f.tokenGone(b.consumed.Hash, what+": consumed token")
	f.sessionGone(b.session.ID, what+": session")
	f.sessionGone(b.second.ID, what+": second session")
	f.hashUnknown(b.session.TokenHash, what+": current token of a session")
	f.hashUnknown(b.earlier, what+": earlier token of a session")
	left := map[string]*store.Mail{}
	for _, m := range f.listMail(store.MailQuery{To: b.user.Email}) {
		left[m.ID] = m
	}
	for _, m := range []*store.Mail{b.pending, b.leased} {
		if _, ok := left[m.ID]; ok {
			f.Errorf("%s: pending mail %s (leased: %v) is still in the outbox", what, m.ID, m.LeaseUntil != nil)
		}
	}
	for _, m := range []*store.Mail{b.sent, b.failed} {
		if got, ok := left[m.ID]; ok {
			f.checkMail(what+": "+string(m.Status)+" mail kept", got, m)
		} else {
			f.Errorf("%s: %s mail %s was deleted; the outbox keeps sent and failed mail", what, m.Status, m.ID)
		}
	}
}

func deleteUsersEverything(f *fixture) {
	p := f.policy("content")
	a := f.withBelongings("a@example.com", p)
	b := f.withBelongings("b@example.com", p)
	c := f.withBelongings("c@example.com", p)
	// Duplicate ids count once.
	if err := f.s.DeleteUsers(f.ctx, []string{a.user.ID, b.user.ID, a.user.ID}, store.Condition{}); err != nil {
		f.Fatalf("DeleteUsers: %v", err)
	}
	f.gone(a, "first deleted user")
	f.gone(b, "second deleted user")
	f.intact(c, "user not deleted")
	if n := f.countUsers(store.UserQuery{}); n != 1 {
		f.Errorf("CountUsers after deleting two of three users = %d, want 1", n)
	}
	// The policy stays, and its link to the deleted user went: a user
	// created again with the same id has no policies.
	if _, err := f.s.GetPolicy(f.ctx, p.ID); err != nil {
		f.Errorf("GetPolicy of a deleted user's policy: %v", err)
	}
	again := newUser(a.user.Email)
	again.ID = a.user.ID
	f.createUser(again)
	f.checkUser("a user created with the id and email of a deleted one", f.getUser(again.ID), again)
}

func deleteUsersKeepsSentMail(f *fixture) {
	p := f.policy("content")
	a := f.withBelongings("a@example.com", p)
	if err := f.s.DeleteUsers(f.ctx, []string{a.user.ID}, store.Condition{}); err != nil {
		f.Fatalf("DeleteUsers: %v", err)
	}
	f.checkIDs("outbox after DeleteUsers (sent and failed mail only)", mailIDs(f.listMail(store.MailQuery{})), mailIDs([]*store.Mail{a.sent, a.failed}))
	// The deleted pending mail is not claimed: nothing is due.
	f.checkIDs("ClaimMail after DeleteUsers", mailIDs(f.claim(base.Add(2*time.Hour), base.Add(3*time.Hour), 10)), nil)
}

func deleteUsersAllOrNothing(f *fixture) {
	p := f.policy("content")
	a := f.withBelongings("a@example.com", p)
	b := f.withBelongings("b@example.com", p)
	err := f.s.DeleteUsers(f.ctx, []string{a.user.ID, newID(), b.user.ID}, store.Condition{})
	f.wantErr("DeleteUsers with one unknown id", err, store.ErrNotFound)
	f.intact(a, "first user after a refused DeleteUsers")
	f.intact(b, "second user after a refused DeleteUsers")
	err = f.s.DeleteUsers(f.ctx, []string{newID()}, store.Condition{})
	f.wantErr("DeleteUsers of an unknown id", err, store.ErrNotFound)
}

func deleteUsersCondition(f *fixture) {
	p := f.policy("content")
	a := f.withBelongings("a@example.com", p)
	inv := newUser("invited@example.com")
	inv.Status = store.StatusInvited
	f.createUser(inv)
	for _, cond := range []store.Condition{
		{Status: store.StatusInvited},
		{Contested: ptr(true)},
		{EmailKey: ptr("invited@example.com")},
		{PasswordHash: ptr("$argon2id$hash")},
	} {
		err := f.s.DeleteUsers(f.ctx, []string{inv.ID, a.user.ID}, cond)
		what := fmt.Sprintf("DeleteUsers with a condition one user does not satisfy (%+v)", cond)
		f.wantErr(what, err, store.ErrConflict)
		f.intact(a, what)
		f.checkUser(what+": the other user", f.getUser(inv.ID), inv)
	}
	if err := f.s.DeleteUsers(f.ctx, []string{inv.ID}, store.Condition{Status: store.StatusInvited, Contested: ptr(false)}); err != nil {
		f.Fatalf("DeleteUsers with a condition that holds: %v", err)
	}
	f.userGone(inv.ID, "after DeleteUsers with a condition that holds")
	f.intact(a, "the user left out")
}

func deleteUsersNoIDs(f *fixture) {
	u := f.user("alice@example.com")
	for _, ids := range [][]string{nil, {}} {
		if err := f.s.DeleteUsers(f.ctx, ids, store.Condition{KeepAdmin: true}); err != nil {
			f.Errorf("DeleteUsers(%v): %v; want nil (nothing to delete)", ids, err)
		}
	}
	f.checkUser("user after DeleteUsers with no ids", f.getUser(u.ID), u)
}

func deleteUsersKeepAdmin(f *fixture) {
	k := f.adminKit()
	a := f.adminByRole(k, "a@example.com", store.StatusActive)
	b := f.adminByPolicy(k, "b@example.com", store.StatusActive)
	c := f.user("c@example.com")
	d := f.adminByRole(k, "d@example.com", store.StatusInvited)
	tok := newToken(a.ID, store.PurposePasswordReset, base.Add(day))
	f.issue(tok)
	sess := f.session(a.ID)
	m := newMail(a.ID, a.Email, base)
	f.enqueue(m)

	for _, ids := range [][]string{{a.ID, b.ID}, {a.ID, b.ID, c.ID, d.ID}} {
		err := f.s.DeleteUsers(f.ctx, ids, keepAdmin)
		f.wantErr(fmt.Sprintf("DeleteUsers of every active admin (%d ids) with KeepAdmin", len(ids)), err, store.ErrLastAdmin)
		for _, u := range []*store.User{a, b, c, d} {
			if _, err := f.s.GetUser(f.ctx, u.ID); err != nil {
				f.Errorf("user %s after a refused DeleteUsers: %v", u.Email, err)
			}
		}
		f.tokenLive(tok.Hash, "token after a refused DeleteUsers")
		f.sessionIs(sess, "session after a refused DeleteUsers")
		f.checkIDs("outbox after a refused DeleteUsers", mailIDs(f.listMail(store.MailQuery{})), []string{m.ID})
	}
	if err := f.s.DeleteUsers(f.ctx, []string{a.ID, c.ID}, keepAdmin); err != nil {
		f.Fatalf("DeleteUsers of one of two active admins with KeepAdmin: %v", err)
	}
	// d is an admin, but not active: b is the last one.
	f.wantErr("DeleteUsers of the last active admin with KeepAdmin", f.s.DeleteUsers(f.ctx, []string{b.ID}, keepAdmin), store.ErrLastAdmin)
	if err := f.s.DeleteUsers(f.ctx, []string{d.ID}, keepAdmin); err != nil {
		f.Errorf("DeleteUsers of an invited admin with KeepAdmin: %v", err)
	}
	if err := f.s.DeleteUsers(f.ctx, []string{b.ID}, store.Condition{}); err != nil {
		f.Errorf("DeleteUsers of the last active admin without KeepAdmin: %v", err)
	}
}

// Two DeleteUsers calls at once, each deleting one of the last two active
// admins: exactly one succeeds.
func deleteUsersKeepAdminConcurrent(f *fixture) {
	k := f.adminKit()
	for round := range 10 {
		ids, what := f.raceLastTwoAdmins(k, round, "deleting the last two active admins at once, with KeepAdmin",
			func(ctx context.Context, _ int, id string) error {
				return f.s.DeleteUsers(ctx, []string{id}, keepAdmin)
			})
		left := 0
		for _, id := range ids {
			if _, err := f.s.GetUser(f.ctx, id); err == nil {
				left++
				if err := f.s.DeleteUsers(f.ctx, []string{id}, store.Condition{}); err != nil {
					f.Fatalf("DeleteUsers: %v", err)
				}
			}
		}
		if left != 1 {
			f.Errorf("%s: %d of the two admins left, want 1", what, left)
		}
	}
}
