package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/testkit"
)

// ---------------------------------------------------------------------------
// Condition.KeepAdmin, Condition.EmailKey, Condition.PasswordHash, and the
// conditions of UpdateUsers.

// adminKit is the roles and policies the KeepAdmin clauses give users.
type adminKit struct {
	role, plainRole     *store.Role
	policy, plainPolicy *store.Policy
}

func (f *fixture) adminKit() adminKit {
	f.Helper()
	k := adminKit{role: newRole("administrator"), plainRole: f.role("editor"), policy: newPolicy("admin access"), plainPolicy: f.policy("content")}
	k.role.AdminAccess, k.policy.AdminAccess = true, true
	if err := f.s.CreateRole(f.ctx, k.role); err != nil {
		f.Fatalf("CreateRole: %v", err)
	}
	if err := f.s.CreatePolicy(f.ctx, k.policy); err != nil {
		f.Fatalf("CreatePolicy: %v", err)
	}
	return k
}

// adminByRole creates a user with the admin role and the given status.
func (f *fixture) adminByRole(k adminKit, email string, status store.Status) *store.User {
	f.Helper()
	u := newUser(email)
	u.Role, u.Status = ptr(k.role.ID), status
	return f.createUser(u)
}

// adminByPolicy creates a user with a plain role and the admin policy.
func (f *fixture) adminByPolicy(k adminKit, email string, status store.Status) *store.User {
	f.Helper()
	u := newUser(email)
	u.Role, u.Policies, u.Status = ptr(k.plainRole.ID), []string{k.plainPolicy.ID, k.policy.ID}, status
	return f.createUser(u)
}

var keepAdmin = store.Condition{KeepAdmin: true}

// updateKeep applies ch to id with KeepAdmin and returns the error.
func (f *fixture) updateKeep(id string, ch store.UserChange, fx store.Effects) error {
	f.Helper()
	if ch.UpdatedAt.IsZero() {
		ch.UpdatedAt = base.Add(time.Hour)
	}
	_, err := f.s.UpdateUser(f.ctx, id, keepAdmin, ch, fx)
	return err
}

func updateUserKeepAdmin(f *fixture) {
	k := f.adminKit()
	a := f.adminByRole(k, "a@example.com", store.StatusActive)
	b := f.adminByPolicy(k, "b@example.com", store.StatusActive)
	c := f.user("c@example.com")
	// An invited user with admin access is not an active one: it never
	// counts as the admin that remains.
	f.adminByRole(k, "d@example.com", store.StatusInvited)

	// Another active admin remains: allowed.
	if err := f.updateKeep(a.ID, store.UserChange{SetRole: true, Role: ptr(k.plainRole.ID)}, store.Effects{}); err != nil {
		f.Fatalf("removing the admin role of one of two active admins with KeepAdmin: %v", err)
	}
	// b is now the last active admin.
	bBefore := f.getUser(b.ID)
	for _, c := range []struct {
		what string
		ch   store.UserChange
	}{
		{"removing the admin policy of the last active admin", store.UserChange{SetPolicies: true, Policies: []string{k.plainPolicy.ID}}},
		{"removing every policy of the last active admin", store.UserChange{SetPolicies: true}},
		{"suspending the last active admin", store.UserChange{Status: ptr(store.StatusSuspended)}},
		{"making the last active admin invited", store.UserChange{Status: ptr(store.StatusInvited), FirstName: ptr("X")}},
	} {
		tok := newToken(b.ID, store.PurposeInvite, base.Add(day))
		m := newMail(b.ID, b.Email, base)
		err := f.updateKeep(b.ID, c.ch, store.Effects{Token: tok, Mail: m})
		f.wantErr(c.what+" with KeepAdmin", err, store.ErrLastAdmin)
		f.checkUser(c.what+": user after the refusal", f.getUser(b.ID), bBefore)
		f.tokenGone(tok.Hash, c.what+": token after the refusal")
		f.noMail(c.what + ": after the refusal")
	}
	// A change that keeps admin access (policy for role) is allowed.
	if err := f.updateKeep(b.ID, store.UserChange{SetRole: true, Role: ptr(k.role.ID), SetPolicies: true}, store.Effects{}); err != nil {
		f.Fatalf("moving the last admin's access from a policy to its role with KeepAdmin: %v", err)
	}
	err := f.updateKeep(b.ID, store.UserChange{SetRole: true}, store.Effects{})
	f.wantErr("removing the role of the last active admin (admin by role)", err, store.ErrLastAdmin)
	// A change of another user is allowed, as is giving it admin access.
	if err := f.updateKeep(c.ID, store.UserChange{FirstName: ptr("Changed")}, store.Effects{}); err != nil {
		f.Errorf("changing a user without admin access with KeepAdmin: %v", err)
	}
	if err := f.updateKeep(c.ID, store.UserChange{SetPolicies: true, Policies: []string{k.policy.ID}}, store.Effects{}); err != nil {
		f.Fatalf("giving a second user admin access with KeepAdmin: %v", err)
	}
	// Now b is not the last one.
	if err := f.updateKeep(b.ID, store.UserChange{Status: ptr(store.StatusSuspended)}, store.Effects{}); err != nil {
		f.Errorf("suspending one of two active admins with KeepAdmin: %v", err)
	}
	// Without KeepAdmin the store refuses nothing.
	if _, err := f.s.UpdateUser(f.ctx, c.ID, store.Condition{}, store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: base.Add(time.Hour)}, store.Effects{}); err != nil {
		f.Errorf("suspending the last active admin without KeepAdmin: %v", err)
	}
}

// An administrator without an email is no way in (no one can sign in as it
// or reset its password): KeepAdmin keeps an active admin with an email.
func updateUserKeepAdminEmail(f *fixture) {
	k := f.adminKit()
	a := f.adminByRole(k, "a@example.com", store.StatusActive)
	b := f.adminByPolicy(k, "b@example.com", store.StatusActive)
	none := ""
	clear := store.UserChange{Email: &none, EmailKey: &none, PasswordHash: &none}
	if err := f.updateKeep(a.ID, clear, store.Effects{}); err != nil {
		f.Fatalf("clearing the email and password of one of two active admins with KeepAdmin: %v", err)
	}
	bBefore := f.getUser(b.ID)
	for _, c := range []struct {
		what string
		ch   store.UserChange
	}{
		{"clearing the email and password of the last active admin with an email", clear},
		{"clearing the email of the last active admin with an email", store.UserChange{Email: &none, EmailKey: &none}},
	} {
		err := f.updateKeep(b.ID, c.ch, store.Effects{})
		f.wantErr(c.what+" with KeepAdmin", err, store.ErrLastAdmin)
		f.checkUser(c.what+": user after the refusal", f.getUser(b.ID), bBefore)
	}
	// Its password alone may go: the address still resets it.
	if err := f.updateKeep(b.ID, store.UserChange{PasswordHash: &none}, store.Effects{}); err != nil {
		f.Errorf("clearing the password of the last active admin with KeepAdmin: %v", err)
	}
	// a, without an email, does not count: suspending b is refused.
	err := f.updateKeep(b.ID, store.UserChange{Status: ptr(store.StatusSuspended)}, store.Effects{})
	f.wantErr("suspending the last active admin with an email, beside one without", err, store.ErrLastAdmin)
}

// When no active admin existed before a change, KeepAdmin refuses nothing:
// there was nothing to keep.
func updateUserKeepAdminNoAdminBefore(f *fixture) {
	k := f.adminKit()
	invited := f.adminByRole(k, "invited@example.com", store.StatusInvited)
	suspended := f.adminByPolicy(k, "suspended@example.com", store.StatusSuspended)
	plain := f.user("plain@example.com")
	for _, c := range []struct {
		what string
		id   string
		ch   store.UserChange
	}{
		{"removing the role of an invited admin", invited.ID, store.UserChange{SetRole: true}},
		{"archiving a suspended admin", suspended.ID, store.UserChange{Status: ptr(store.StatusArchived)}},
		{"suspending a user without admin access", plain.ID, store.UserChange{Status: ptr(store.StatusSuspended)}},
	} {
		if err := f.updateKeep(c.id, c.ch, store.Effects{}); err != nil {
			f.Errorf("%s with KeepAdmin, no active admin before: %v", c.what, err)
		}
	}
	if err := f.s.UpdateUsers(f.ctx, []string{plain.ID, suspended.ID}, keepAdmin, store.UserChange{Status: ptr(store.StatusDraft), UpdatedAt: base.Add(time.Hour)}); err != nil {
		f.Errorf("UpdateUsers with KeepAdmin, no active admin before: %v", err)
	}
	if err := f.s.DeleteUsers(f.ctx, []string{suspended.ID}, keepAdmin); err != nil {
		f.Errorf("DeleteUsers of an admin who is not active with KeepAdmin, no active admin before: %v", err)
	}
	// An admin made active counts from then on.
	if err := f.updateKeep(invited.ID, store.UserChange{SetRole: true, Role: ptr(k.role.ID), Status: ptr(store.StatusActive)}, store.Effects{}); err != nil {
		f.Fatalf("activating an admin with KeepAdmin: %v", err)
	}
	f.wantErr("then suspending it", f.updateKeep(invited.ID, store.UserChange{Status: ptr(store.StatusSuspended)}, store.Effects{}), store.ErrLastAdmin)
}

// Two calls that each remove one of the last two active admins, at once:
// exactly one succeeds. The store judges KeepAdmin in the transaction that
// applies the change, under whatever lock makes that safe.
func updateUserKeepAdminConcurrent(f *fixture) {
	k := f.adminKit()
	for round := range 10 {
		ids, _ := f.raceLastTwoAdmins(k, round, "suspending the last two active admins at once, with KeepAdmin",
			func(ctx context.Context, i int, id string) error {
				ch := store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: base.Add(time.Hour)}
				if i == 1 && round%2 == 1 {
					// Odd rounds: one suspends, the other removes access.
					ch = store.UserChange{SetPolicies: true, UpdatedAt: base.Add(time.Hour)}
				}
				_, err := f.s.UpdateUser(ctx, id, keepAdmin, ch, store.Effects{})
				return err
			})
		// Start the next round with no active admin.
		for _, id := range ids {
			if _, err := f.s.UpdateUser(f.ctx, id, store.Condition{}, store.UserChange{Status: ptr(store.StatusArchived), UpdatedAt: base.Add(2 * time.Hour)}, store.Effects{}); err != nil {
				f.Fatalf("archiving: %v", err)
			}
		}
	}
}

// raceLastTwoAdmins makes two active admins, the first by role and the
// second by policy, calls remove on both at once (i is 0 or 1, id the
// admin's), and checks that exactly one call succeeded and the other got
// ErrLastAdmin. It returns the admins' ids, and what it checked (for the
// caller's messages).
func (f *fixture) raceLastTwoAdmins(k adminKit, round int, what string, remove func(ctx context.Context, i int, id string) error) ([]string, string) {
	f.Helper()
	ids := []string{
		f.adminByRole(k, fmt.Sprintf("x%d@example.com", round), store.StatusActive).ID,
		f.adminByPolicy(k, fmt.Sprintf("y%d@example.com", round), store.StatusActive).ID,
	}
	errs := make([]error, 2)
	what = fmt.Sprintf("round %d: %s", round, what)
	f.race(what, 2, func(ctx context.Context, i int) { errs[i] = remove(ctx, i, ids[i]) })
	if wins := testkit.Wins(f, what, errs, store.ErrLastAdmin); wins != 1 {
		f.Errorf("%s: %d calls succeeded, want exactly 1: two concurrent changes together removed the last active admin", what, wins)
	}
	return ids, what
}

func updateUsersKeepAdmin(f *fixture) {
	k := f.adminKit()
	a := f.adminByRole(k, "a@example.com", store.StatusActive)
	b := f.adminByPolicy(k, "b@example.com", store.StatusActive)
	c := f.user("c@example.com")
	at := base.Add(time.Hour)
	before := []*store.User{f.getUser(a.ID), f.getUser(b.ID), f.getUser(c.ID)}

	err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID, c.ID}, keepAdmin, store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: at})
	f.wantErr("UpdateUsers suspending every active admin with KeepAdmin", err, store.ErrLastAdmin)
	for _, u := range before {
		f.checkUser("user after the refused UpdateUsers", f.getUser(u.ID), u)
	}
	if err := f.s.UpdateUsers(f.ctx, []string{a.ID, c.ID}, keepAdmin, store.UserChange{Status: ptr(store.StatusSuspended), UpdatedAt: at}); err != nil {
		f.Fatalf("UpdateUsers suspending one of two admins with KeepAdmin: %v", err)
	}
	err = f.s.UpdateUsers(f.ctx, []string{b.ID}, keepAdmin, store.UserChange{SetPolicies: true, UpdatedAt: at})
	f.wantErr("UpdateUsers removing the last admin's policies with KeepAdmin", err, store.ErrLastAdmin)
	err = f.s.UpdateUsers(f.ctx, []string{b.ID, c.ID}, keepAdmin, store.UserChange{SetRole: true, Role: ptr(k.plainRole.ID), SetPolicies: true, Policies: []string{k.plainPolicy.ID}, UpdatedAt: at})
	f.wantErr("UpdateUsers giving the last admin plain access with KeepAdmin", err, store.ErrLastAdmin)
	// Reactivating a and removing b's access in one call keeps an admin.
	if err := f.s.UpdateUsers(f.ctx, []string{a.ID}, keepAdmin, store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: at}); err != nil {
		f.Fatalf("UpdateUsers reactivating an admin with KeepAdmin: %v", err)
	}
	if err := f.s.UpdateUsers(f.ctx, []string{b.ID}, keepAdmin, store.UserChange{SetPolicies: true, UpdatedAt: at}); err != nil {
		f.Errorf("UpdateUsers removing the policies of one of two admins with KeepAdmin: %v", err)
	}
}

func updateUsersCondition(f *fixture) {
	r := f.role("editor")
	a := f.user("a@example.com")
	b := newUser("b@example.com")
	b.Status = store.StatusInvited
	f.createUser(b)
	ch := store.UserChange{SetRole: true, Role: ptr(r.ID), FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour)}
	for _, cond := range []store.Condition{
		{Status: store.StatusActive},
		{Status: store.StatusInvited},
		{Contested: ptr(true)},
		{EmailKey: ptr("a@example.com")},
		{PasswordHash: ptr("hash")},
	} {
		err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, cond, ch)
		what := fmt.Sprintf("UpdateUsers with a condition one user does not satisfy (%+v)", cond)
		f.wantErr(what, err, store.ErrConflict)
		f.checkUser(what+": first user", f.getUser(a.ID), a)
		f.checkUser(what+": second user", f.getUser(b.ID), b)
	}
	if err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{Contested: ptr(false), PasswordHash: ptr("")}, ch); err != nil {
		f.Fatalf("UpdateUsers with a condition both users satisfy: %v", err)
	}
	for _, u := range []*store.User{a, b} {
		want := clone(u)
		want.Role, want.FirstName, want.UpdatedAt = ptr(r.ID), "Changed", ch.UpdatedAt
		f.checkUser("user after UpdateUsers with a condition", f.getUser(u.ID), want)
	}
}

// ---------------------------------------------------------------------------
// Condition.EmailKey and Condition.PasswordHash.

func updateUserConditionEmailKey(f *fixture) {
	u := f.user("alice@example.com")
	noEmail := f.user("")
	ch := store.UserChange{FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour)}
	for _, key := range []string{"bob@example.com", "Alice@example.com", ""} {
		tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
		_, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{EmailKey: ptr(key)}, ch, store.Effects{Token: tok, Mail: newMail(u.ID, u.Email, base)})
		what := fmt.Sprintf("UpdateUser with Condition.EmailKey %q on a user whose key is %q", key, u.EmailKey)
		f.wantErr(what, err, store.ErrConflict)
		f.checkUser(what+": user", f.getUser(u.ID), u)
		f.tokenGone(tok.Hash, what+": token")
		f.noMail(what)
	}
	got, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{EmailKey: ptr(u.EmailKey)}, ch, store.Effects{})
	if err != nil {
		f.Fatalf("UpdateUser with the user's own EmailKey as condition: %v", err)
	}
	if got.FirstName != "Changed" {
		f.Errorf("FirstName = %q, want %q", got.FirstName, "Changed")
	}
	if _, err := f.s.UpdateUser(f.ctx, noEmail.ID, store.Condition{EmailKey: ptr("")}, ch, store.Effects{}); err != nil {
		f.Errorf("UpdateUser with Condition.EmailKey \"\" on a user without email: %v", err)
	}
	// After an email change the old key no longer holds.
	f.update(u.ID, store.UserChange{Email: ptr("new@example.com"), EmailKey: ptr("new@example.com"), UpdatedAt: base.Add(2 * time.Hour)}, store.Effects{})
	_, err = f.s.UpdateUser(f.ctx, u.ID, store.Condition{EmailKey: ptr("alice@example.com")}, ch, store.Effects{})
	f.wantErr("UpdateUser with the key the user had before an email change", err, store.ErrConflict)
}

func updateUserConditionPasswordHash(f *fixture) {
	u := newUser("alice@example.com")
	u.PasswordHash = "$argon2id$old"
	f.createUser(u)
	ch := store.UserChange{PasswordHash: ptr("$argon2id$rehashed"), UpdatedAt: base.Add(time.Hour)}
	for _, h := range []string{"$argon2id$other", "", "$argon2id$OLD"} {
		_, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{PasswordHash: ptr(h)}, ch, store.Effects{})
		f.wantErr(fmt.Sprintf("UpdateUser with Condition.PasswordHash %q on a user whose hash is another", h), err, store.ErrConflict)
		f.checkUser("user after it", f.getUser(u.ID), u)
	}
	got, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{PasswordHash: ptr(u.PasswordHash)}, ch, store.Effects{})
	if err != nil {
		f.Fatalf("UpdateUser with the user's own PasswordHash as condition: %v", err)
	}
	if got.PasswordHash != "$argon2id$rehashed" {
		f.Errorf("PasswordHash = %q, want the new one", got.PasswordHash)
	}
	// The hash that was read is gone: a second rehash from it fails.
	_, err = f.s.UpdateUser(f.ctx, u.ID, store.Condition{PasswordHash: ptr("$argon2id$old")}, store.UserChange{PasswordHash: ptr("$argon2id$again"), UpdatedAt: base.Add(2 * time.Hour)}, store.Effects{})
	f.wantErr("UpdateUser with a PasswordHash condition a previous change broke", err, store.ErrConflict)
	// "" is the condition "has no password".
	bare := f.user("bare@example.com")
	if _, err := f.s.UpdateUser(f.ctx, bare.ID, store.Condition{PasswordHash: ptr("")}, ch, store.Effects{}); err != nil {
		f.Errorf("UpdateUser with Condition.PasswordHash \"\" on a user without password: %v", err)
	}
}

func consumeConditionEmailKey(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	// The address changed after the token was mailed.
	f.update(u.ID, store.UserChange{Email: ptr("bob@example.com"), EmailKey: ptr("bob@example.com"), UpdatedAt: base.Add(time.Second)}, store.Effects{})
	changed := f.getUser(u.ID)
	now := base.Add(time.Minute)
	_, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{EmailKey: ptr(tok.EmailKey)}, activate(), store.Effects{Mail: newMail(u.ID, u.Email, now)})
	f.wantErr("ConsumeToken whose user no longer has the address it was mailed to", err, store.ErrConflict)
	f.tokenLive(tok.Hash, "token after a refused ConsumeToken")
	f.checkUser("user after a refused ConsumeToken", f.getUser(u.ID), changed)
	f.noMail("after a refused ConsumeToken")

	f.update(u.ID, store.UserChange{Email: ptr(u.Email), EmailKey: ptr(u.EmailKey), UpdatedAt: base.Add(2 * time.Second)}, store.Effects{})
	if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{EmailKey: ptr(tok.EmailKey)}, activate(), store.Effects{}); err != nil {
		f.Errorf("ConsumeToken whose user has the address again: %v", err)
	}
}

func consumeConditionPasswordHash(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusActive
	u.PasswordHash = "$argon2id$old"
	tok := newToken(u.ID, store.PurposePasswordReset, base.Add(time.Hour))
	tok.EmailKey = u.EmailKey
	f.createUserFx(u, store.Effects{Token: tok})
	now := base.Add(time.Minute)
	reset := store.UserChange{PasswordHash: ptr("$argon2id$new"), UpdatedAt: now}
	_, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposePasswordReset, now, store.Condition{PasswordHash: ptr("$argon2id$other")}, reset, store.Effects{})
	f.wantErr("ConsumeToken with a PasswordHash condition that does not hold", err, store.ErrConflict)
	f.tokenLive(tok.Hash, "token after it")
	f.checkUser("user after it", f.getUser(u.ID), u)
	got, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposePasswordReset, now, store.Condition{PasswordHash: ptr("$argon2id$old"), EmailKey: ptr(u.EmailKey)}, reset, store.Effects{})
	if err != nil {
		f.Fatalf("ConsumeToken with conditions that hold: %v", err)
	}
	if got.PasswordHash != "$argon2id$new" {
		f.Errorf("PasswordHash = %q, want the new one", got.PasswordHash)
	}
}
