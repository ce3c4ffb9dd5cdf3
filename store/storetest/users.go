package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// CreateUser

func createUserRoundTrip(f *fixture) {
	r := f.role("editor")
	p1, p2 := f.policy("content"), f.policy("files")
	u := newUser("Alice@Example.com")
	u.FirstName, u.LastName = "Alice", "Liddell"
	u.Status = store.StatusInvited
	u.Role = ptr(r.ID)
	u.Policies = []string{p1.ID, p2.ID}
	u.Metadata = map[string]any{"plan": "pro", "seats": 3.0, "beta": true, "tags": []any{"a", "b"}, "address": map[string]any{"city": "Oxford"}}
	u.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
	u.Contested = true
	u.CreatedAt = base.Add(-time.Hour)
	u.UpdatedAt = base
	want := clone(u)
	f.createUser(u)
	f.checkUser("GetUser after CreateUser", f.getUser(u.ID), want)

	bare := f.user("")
	f.checkUser("GetUser of a user without email, role, policies or metadata", f.getUser(bare.ID), bare)
}

func createUserDuplicateEmail(f *fixture) {
	first := f.user("Alice@Example.com")
	dup := newUser("ALICE@example.COM")
	if dup.EmailKey != first.EmailKey {
		f.Fatalf("suite bug: keys %q and %q differ", dup.EmailKey, first.EmailKey)
	}
	f.wantErr("CreateUser with another user's email key", f.s.CreateUser(f.ctx, dup, store.Effects{}), store.ErrDuplicateEmail)
	f.userGone(dup.ID, "after a duplicate CreateUser")
	f.checkUser("first user after a duplicate CreateUser", f.getUser(first.ID), first)
	if us := f.listUsers(store.UserQuery{}); len(us) != 1 {
		f.Errorf("ListUsers after a duplicate CreateUser: %d users, want 1", len(us))
	}
}

func createUserUnknownRole(f *fixture) {
	u := newUser("alice@example.com")
	u.Role = ptr(newID())
	f.createRefused(u, "CreateUser with an unknown role", store.ErrRoleNotFound)
}

func createUserUnknownPolicy(f *fixture) {
	p := f.policy("content")
	u := newUser("alice@example.com")
	u.Policies = []string{p.ID, newID()}
	f.createRefused(u, "CreateUser with an unknown policy", store.ErrPolicyNotFound)
}

// createRefused checks that CreateUser of u, with a token and a mail,
// fails with want and writes nothing: no user, no token, no mail, and the
// address is free.
func (f *fixture) createRefused(u *store.User, what string, want error) {
	f.Helper()
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	fx := store.Effects{Token: tok, Mail: newMail(u.ID, u.Email, base)}
	f.wantErr(what, f.s.CreateUser(f.ctx, u, fx), want)
	f.userGone(u.ID, "after "+what)
	f.tokenGone(tok.Hash, "after "+what)
	f.noMail("after " + what)
	f.createUser(newUser(u.Email))
}

func createUserNoEmailManyUsers(f *fixture) {
	var want []*store.User
	for i := range 3 {
		u := newUser("")
		u.CreatedAt = base.Add(time.Duration(i) * time.Second)
		want = append(want, f.createUser(u))
	}
	got := f.listUsers(store.UserQuery{})
	f.checkIDs("ListUsers after three users without email", userIDs(got), userIDs(want))
	for i, u := range got {
		if i < len(want) {
			f.checkUser("user without email", u, want[i])
		}
	}
	// Removing an email frees nothing but must not clash with the others.
	other := f.user("bob@example.com")
	f.update(other.ID, store.UserChange{Email: ptr(""), EmailKey: ptr(""), UpdatedAt: base.Add(time.Minute)}, store.Effects{})
	if got := f.getUser(other.ID); got.Email != "" || got.EmailKey != "" {
		f.Errorf("after removing the email: Email %q, EmailKey %q; want both empty", got.Email, got.EmailKey)
	}
}

func createUserWithEffects(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	tok := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	m := newMail(u.ID, u.Email, base)
	f.createUserFx(u, store.Effects{Token: tok, Mail: m})
	f.checkToken("GetToken after CreateUser with a token", f.getToken(tok.Hash), tok)
	ms := f.listMail(store.MailQuery{})
	if len(ms) != 1 {
		f.Fatalf("ListMail after CreateUser with a mail: %d mails, want 1", len(ms))
	}
	f.checkMail("mail written by CreateUser", ms[0], m)

	// A duplicate email writes neither the token nor the mail.
	dup := newUser("ALICE@example.com")
	dupTok := newToken(dup.ID, store.PurposeVerifyEmail, base.Add(day))
	dupMail := newMail(dup.ID, dup.Email, base.Add(time.Second))
	err := f.s.CreateUser(f.ctx, dup, store.Effects{Token: dupTok, Mail: dupMail})
	f.wantErr("CreateUser with a duplicate email and effects", err, store.ErrDuplicateEmail)
	f.tokenGone(dupTok.Hash, "token of a duplicate CreateUser")
	f.checkIDs("ListMail after a duplicate CreateUser", mailIDs(f.listMail(store.MailQuery{})), []string{m.ID})
	f.tokenLive(tok.Hash, "first user's token after a duplicate CreateUser")
}

// ---------------------------------------------------------------------------
// GetUser, GetUserByEmailKey

func getUserNotFound(f *fixture) {
	_, err := f.s.GetUser(f.ctx, newID())
	f.wantErr("GetUser on an empty store", err, store.ErrNotFound)
	f.user("alice@example.com")
	_, err = f.s.GetUser(f.ctx, newID())
	f.wantErr("GetUser of an unknown id", err, store.ErrNotFound)
}

// Ids and keys compare byte for byte: one with a trailing space (or a
// leading one) names another record, as it does in PostgreSQL and SQLite —
// not the same one, as in a PAD SPACE collation (MySQL's and MariaDB's
// utf8mb4_bin).
func getUserTrailingSpace(f *fixture) {
	u := f.user("alice@example.com")
	for _, id := range []string{u.ID + " ", u.ID + "  ", " " + u.ID, u.ID + "\t"} {
		if _, err := f.s.GetUser(f.ctx, id); !errors.Is(err, store.ErrNotFound) {
			f.Errorf("GetUser(%q): err = %v, want ErrNotFound", id, err)
		}
		got, err := f.s.ListUsers(f.ctx, store.UserQuery{IDs: []string{id}})
		if err != nil || len(got) != 0 {
			f.Errorf("ListUsers(IDs: %q) = %d users, %v; want none", id, len(got), err)
		}
		if err := f.s.DeleteUsers(f.ctx, []string{id}, store.Condition{}); !errors.Is(err, store.ErrNotFound) {
			f.Errorf("DeleteUsers(%q): err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := f.s.GetUser(f.ctx, u.ID); err != nil {
		f.Fatalf("GetUser after the refused deletions: %v", err)
	}
	if _, err := f.s.GetUserByEmailKey(f.ctx, "alice@example.com "); !errors.Is(err, store.ErrNotFound) {
		f.Errorf("GetUserByEmailKey with a trailing space: err = %v, want ErrNotFound", err)
	}

	r := newRole("plain")
	r.ID = "role-x"
	if err := f.s.CreateRole(f.ctx, r); err != nil {
		f.Fatalf("CreateRole: %v", err)
	}
	padded := newRole("padded")
	padded.ID = "role-x "
	if err := f.s.CreateRole(f.ctx, padded); err != nil {
		f.Fatalf("CreateRole of %q beside %q: %v (they are two ids)", padded.ID, r.ID, err)
	}
	got, err := f.s.GetRole(f.ctx, "role-x ")
	if err != nil || got.Name != "padded" {
		f.Errorf("GetRole(%q) = %+v, %v; want the role named padded", "role-x ", got, err)
	}
	got, err = f.s.GetRole(f.ctx, "role-x")
	if err != nil || got.Name != "plain" {
		f.Errorf("GetRole(%q) = %+v, %v; want the role named plain", "role-x", got, err)
	}
}

func getUserByEmailKeyFound(f *fixture) {
	u := f.user("Alice@Example.com")
	f.user("bob@example.com")
	got, err := f.s.GetUserByEmailKey(f.ctx, "alice@example.com")
	if err != nil {
		f.Fatalf("GetUserByEmailKey: %v", err)
	}
	f.checkUser("GetUserByEmailKey", got, u)
}

func getUserByEmailKeyNotFound(f *fixture) {
	_, err := f.s.GetUserByEmailKey(f.ctx, "alice@example.com")
	f.wantErr("GetUserByEmailKey on an empty store", err, store.ErrNotFound)
	f.user("bob@example.com")
	_, err = f.s.GetUserByEmailKey(f.ctx, "alice@example.com")
	f.wantErr("GetUserByEmailKey of an unknown key", err, store.ErrNotFound)
}

// The Store compares keys exactly: normalising is the Manager's job.
func getUserByEmailKeyExact(f *fixture) {
	f.user("alice@example.com")
	_, err := f.s.GetUserByEmailKey(f.ctx, "Alice@Example.com")
	f.wantErr("GetUserByEmailKey with a key that differs in case", err, store.ErrNotFound)
	_, err = f.s.GetUserByEmailKey(f.ctx, "alice@example.co")
	f.wantErr("GetUserByEmailKey with a prefix of a key", err, store.ErrNotFound)
}

// An empty key means "no email": it names no user, even when users without
// email exist.
func getUserByEmailKeyEmpty(f *fixture) {
	f.user("")
	f.user("")
	u, err := f.s.GetUserByEmailKey(f.ctx, "")
	if !errors.Is(err, store.ErrNotFound) {
		f.Errorf("GetUserByEmailKey(\"\") with users without email: %+v, %v; want ErrNotFound", u, err)
	}
}

// ---------------------------------------------------------------------------
// UpdateUser

func updateUserFields(f *fixture) {
	r1, r2 := f.role("editor"), f.role("viewer")
	p1, p2, p3 := f.policy("a"), f.policy("b"), f.policy("c")
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	u.Role = ptr(r1.ID)
	u.Policies = []string{p1.ID, p2.ID}
	u.PasswordHash = "old-hash"
	u.Metadata = map[string]any{"plan": "free"}
	f.createUser(u)

	at := base.Add(time.Hour)
	ch := store.UserChange{
		Email:        ptr("Alice.Smith@Example.org"),
		EmailKey:     ptr("alice.smith@example.org"),
		PasswordHash: ptr("new-hash"),
		FirstName:    ptr("Alicia"),
		LastName:     ptr("Smith"),
		Status:       ptr(store.StatusActive),
		SetRole:      true,
		Role:         ptr(r2.ID),
		SetPolicies:  true,
		Policies:     []string{p3.ID, p1.ID},
		Contested:    ptr(true),
		Metadata:     map[string]any{"plan": "pro", "seats": 5.0},
		UpdatedAt:    at,
	}
	want := clone(u)
	want.Email, want.EmailKey, want.PasswordHash = *ch.Email, *ch.EmailKey, *ch.PasswordHash
	want.FirstName, want.LastName, want.Status = *ch.FirstName, *ch.LastName, *ch.Status
	want.Role, want.Policies, want.Contested = ptr(r2.ID), []string{p3.ID, p1.ID}, true
	want.Metadata = map[string]any{"plan": "pro", "seats": 5.0}
	want.UpdatedAt = at

	got := f.update(u.ID, ch, store.Effects{})
	f.checkUser("UpdateUser result", got, want)
	f.checkUser("GetUser after UpdateUser", f.getUser(u.ID), want)
	byKey, err := f.s.GetUserByEmailKey(f.ctx, "alice.smith@example.org")
	if err != nil {
		f.Fatalf("GetUserByEmailKey of the new key: %v", err)
	}
	f.checkUser("GetUserByEmailKey of the new key", byKey, want)
	_, err = f.s.GetUserByEmailKey(f.ctx, "alice@example.com")
	f.wantErr("GetUserByEmailKey of the old key", err, store.ErrNotFound)
	// The old address is free again.
	f.user("alice@example.com")

	// Contested can be cleared again.
	got = f.update(u.ID, store.UserChange{Contested: ptr(false), UpdatedAt: at}, store.Effects{})
	if got.Contested {
		f.Error("UpdateUser with Contested false: Contested = true")
	}
}

func updateUserZeroChange(f *fixture) {
	r, other := f.role("editor"), f.role("viewer")
	p, otherP := f.policy("a"), f.policy("b")
	u := newUser("alice@example.com")
	u.Role = ptr(r.ID)
	u.Policies = []string{p.ID}
	u.PasswordHash = "hash"
	u.Contested = true
	u.Metadata = map[string]any{"k": "v"}
	f.createUser(u)

	at := base.Add(time.Hour)
	want := clone(u)
	want.UpdatedAt = at
	// Role and Policies without SetRole and SetPolicies are ignored.
	got := f.update(u.ID, store.UserChange{Role: ptr(other.ID), Policies: []string{otherP.ID}, UpdatedAt: at}, store.Effects{})
	f.checkUser("UpdateUser with only UpdatedAt (and Role, Policies without their Set flags)", got, want)
	f.checkUser("GetUser after it", f.getUser(u.ID), want)
}

func updateUserRemovePassword(f *fixture) {
	u := newUser("alice@example.com")
	u.PasswordHash = "hash"
	f.createUser(u)
	got := f.update(u.ID, store.UserChange{PasswordHash: ptr(""), UpdatedAt: base.Add(time.Minute)}, store.Effects{})
	if got.PasswordHash != "" {
		f.Errorf("after removing the password: PasswordHash %q, want empty", got.PasswordHash)
	}
	got = f.update(u.ID, store.UserChange{PasswordHash: ptr("again"), UpdatedAt: base.Add(2 * time.Minute)}, store.Effects{})
	if got.PasswordHash != "again" {
		f.Errorf("after setting a password: PasswordHash %q, want %q", got.PasswordHash, "again")
	}
}

func updateUserCondition(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusInvited
	f.createUser(u)
	ch := store.UserChange{FirstName: ptr("Changed"), Status: ptr(store.StatusActive), UpdatedAt: base.Add(time.Hour)}

	for _, cond := range []store.Condition{
		{Status: store.StatusUnverified},
		{Contested: ptr(true)},
		{Status: store.StatusInvited, Contested: ptr(true)},
		{Status: store.StatusActive, Contested: ptr(false)},
	} {
		tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
		m := newMail(u.ID, u.Email, base)
		_, err := f.s.UpdateUser(f.ctx, u.ID, cond, ch, store.Effects{Token: tok, Mail: m})
		what := fmt.Sprintf("UpdateUser with an unmet condition (status %q, contested %s)", cond.Status, boolString(cond.Contested))
		f.wantErr(what, err, store.ErrConflict)
		f.checkUser(what+": user", f.getUser(u.ID), u)
		f.tokenGone(tok.Hash, what+": token")
		f.noMail(what)
	}

	// A condition that holds lets the change through.
	want := clone(u)
	want.FirstName, want.Status, want.UpdatedAt = "Changed", store.StatusActive, base.Add(time.Hour)
	got, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{Status: store.StatusInvited, Contested: ptr(false)}, ch, store.Effects{})
	if err != nil {
		f.Fatalf("UpdateUser with a condition that holds: %v", err)
	}
	f.checkUser("UpdateUser with a condition that holds", got, want)
	// Now the same condition no longer holds.
	_, err = f.s.UpdateUser(f.ctx, u.ID, store.Condition{Status: store.StatusInvited}, store.UserChange{FirstName: ptr("Again"), UpdatedAt: base.Add(2 * time.Hour)}, store.Effects{})
	f.wantErr("UpdateUser whose condition the previous update broke", err, store.ErrConflict)
	f.checkUser("user after it", f.getUser(u.ID), want)

	// Contested as a condition.
	f.update(u.ID, store.UserChange{Contested: ptr(true), UpdatedAt: base.Add(3 * time.Hour)}, store.Effects{})
	if _, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{Contested: ptr(true)}, store.UserChange{UpdatedAt: base.Add(4 * time.Hour)}, store.Effects{}); err != nil {
		f.Errorf("UpdateUser with Contested true on a contested user: %v", err)
	}
}

func boolString(b *bool) string {
	if b == nil {
		return "<any>"
	}
	return fmt.Sprint(*b)
}

func updateUserSetRoleNull(f *fixture) {
	r := f.role("editor")
	u := newUser("alice@example.com")
	u.Role = ptr(r.ID)
	f.createUser(u)
	got := f.update(u.ID, store.UserChange{SetRole: true, Role: nil, UpdatedAt: base.Add(time.Minute)}, store.Effects{})
	if got.Role != nil {
		f.Errorf("UpdateUser with SetRole and a nil Role: Role = %q, want nil", *got.Role)
	}
	if got := f.getUser(u.ID); got.Role != nil {
		f.Errorf("GetUser after the role was removed: Role = %q, want nil", *got.Role)
	}
	got = f.update(u.ID, store.UserChange{SetRole: true, Role: ptr(r.ID), UpdatedAt: base.Add(2 * time.Minute)}, store.Effects{})
	if roleString(got.Role) != roleString(&r.ID) {
		f.Errorf("UpdateUser setting the role back: Role = %s, want %q", roleString(got.Role), r.ID)
	}
}

func updateUserPolicies(f *fixture) {
	a, b, c := f.policy("a"), f.policy("b"), f.policy("c")
	u := newUser("alice@example.com")
	u.Policies = []string{a.ID}
	f.createUser(u)
	want := clone(u)

	step := func(what string, ch store.UserChange, policies []string) {
		f.Helper()
		ch.UpdatedAt = base.Add(time.Minute)
		got := f.update(u.ID, ch, store.Effects{})
		want.Policies, want.UpdatedAt = policies, ch.UpdatedAt
		f.checkUser(what, got, want)
		f.checkUser(what+" (GetUser)", f.getUser(u.ID), want)
	}
	step("SetPolicies with two policies", store.UserChange{SetPolicies: true, Policies: []string{b.ID, c.ID}}, []string{b.ID, c.ID})
	want.FirstName = "X"
	step("UpdateUser without SetPolicies", store.UserChange{FirstName: ptr("X")}, []string{b.ID, c.ID})
	step("SetPolicies with a nil list", store.UserChange{SetPolicies: true}, nil)
	step("SetPolicies with all three", store.UserChange{SetPolicies: true, Policies: []string{c.ID, a.ID, b.ID}}, []string{a.ID, b.ID, c.ID})
	step("SetPolicies with an empty list", store.UserChange{SetPolicies: true, Policies: []string{}}, nil)

	// Another user's policies are their own.
	v := newUser("bob@example.com")
	v.Policies = []string{a.ID}
	f.createUser(v)
	step("SetPolicies on the first user", store.UserChange{SetPolicies: true, Policies: []string{b.ID}}, []string{b.ID})
	f.checkUser("the other user", f.getUser(v.ID), v)
}

func updateUserDuplicateEmail(f *fixture) {
	a := f.user("alice@example.com")
	b := f.user("bob@example.com")
	tok := newToken(b.ID, store.PurposeVerifyEmail, base.Add(day))
	m := newMail(b.ID, "Alice@Example.com", base)
	_, err := f.s.UpdateUser(f.ctx, b.ID, store.Condition{}, store.UserChange{
		Email: ptr("Alice@Example.com"), EmailKey: ptr("alice@example.com"), FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
	}, store.Effects{Token: tok, Mail: m})
	f.wantErr("UpdateUser to another user's email key", err, store.ErrDuplicateEmail)
	f.checkUser("user after a duplicate UpdateUser", f.getUser(b.ID), b)
	f.checkUser("other user after a duplicate UpdateUser", f.getUser(a.ID), a)
	f.tokenGone(tok.Hash, "after a duplicate UpdateUser")
	f.noMail("after a duplicate UpdateUser")

	// A user may keep its own key (a change of case in the address).
	got, err := f.s.UpdateUser(f.ctx, a.ID, store.Condition{}, store.UserChange{
		Email: ptr("ALICE@example.com"), EmailKey: ptr("alice@example.com"), UpdatedAt: base.Add(time.Hour),
	}, store.Effects{})
	if err != nil {
		f.Fatalf("UpdateUser keeping its own email key: %v", err)
	}
	if got.Email != "ALICE@example.com" {
		f.Errorf("Email = %q, want %q", got.Email, "ALICE@example.com")
	}
	// Two users may both drop their email.
	for _, id := range []string{a.ID, b.ID} {
		f.update(id, store.UserChange{Email: ptr(""), EmailKey: ptr(""), UpdatedAt: base.Add(2 * time.Hour)}, store.Effects{})
	}
}

func updateUserMetadata(f *fixture) {
	u := newUser("alice@example.com")
	u.Metadata = map[string]any{
		"plan":    "pro",
		"seats":   3.0,
		"beta":    true,
		"nothing": nil,
		"tags":    []any{"a", 1.5, false},
		"address": map[string]any{"city": "Oxford", "zip": "OX1"},
	}
	f.createUser(u)
	f.checkUser("GetUser with metadata", f.getUser(u.ID), u)
	want := clone(u)

	step := func(what string, meta map[string]any, wantMeta map[string]any) {
		f.Helper()
		got := f.update(u.ID, store.UserChange{Metadata: meta, UpdatedAt: base.Add(time.Minute)}, store.Effects{})
		want.Metadata, want.UpdatedAt = wantMeta, base.Add(time.Minute)
		f.checkUser(what, got, want)
		f.checkUser(what+" (GetUser)", f.getUser(u.ID), want)
	}
	step("UpdateUser with nil Metadata keeps it", nil, clone(u).Metadata)
	step("UpdateUser with Metadata replaces it (no merge)", map[string]any{"plan": "free"}, map[string]any{"plan": "free"})
	step("UpdateUser with an empty Metadata clears it", map[string]any{}, nil)
}

func updateUserNotFound(f *fixture) {
	u := f.user("alice@example.com")
	id := newID()
	tok := newToken(id, store.PurposeInvite, base.Add(day))
	m := newMail(id, "ghost@example.com", base)
	_, err := f.s.UpdateUser(f.ctx, id, store.Condition{}, store.UserChange{FirstName: ptr("X"), UpdatedAt: base}, store.Effects{Token: tok, Mail: m})
	f.wantErr("UpdateUser of an unknown id", err, store.ErrNotFound)
	_, err = f.s.UpdateUser(f.ctx, id, store.Condition{Status: store.StatusInvited}, store.UserChange{FirstName: ptr("X"), UpdatedAt: base}, store.Effects{})
	f.wantErr("UpdateUser of an unknown id with a condition", err, store.ErrNotFound)
	f.userGone(id, "after UpdateUser of an unknown id")
	f.tokenGone(tok.Hash, "after UpdateUser of an unknown id")
	f.noMail("after UpdateUser of an unknown id")
	f.checkUser("the existing user", f.getUser(u.ID), u)
}

func updateUserUnknownRole(f *fixture) {
	u := f.user("alice@example.com")
	f.updateRefused(u, "UpdateUser with an unknown role", store.UserChange{SetRole: true, Role: ptr(newID())}, store.ErrRoleNotFound)
}

func updateUserUnknownPolicy(f *fixture) {
	p := f.policy("a")
	u := newUser("alice@example.com")
	u.Policies = []string{p.ID}
	f.createUser(u)
	f.updateRefused(u, "UpdateUser with an unknown policy", store.UserChange{SetPolicies: true, Policies: []string{newID(), p.ID}}, store.ErrPolicyNotFound)
}

// updateRefused checks that UpdateUser of u with ch (plus a new first name)
// and effects (a token, a mail) fails with want and writes nothing.
func (f *fixture) updateRefused(u *store.User, what string, ch store.UserChange, want error) {
	f.Helper()
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	ch.FirstName, ch.UpdatedAt = ptr("X"), base.Add(time.Hour)
	_, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{}, ch, store.Effects{Token: tok, Mail: newMail(u.ID, u.Email, base)})
	f.wantErr(what, err, want)
	f.checkUser("user after it", f.getUser(u.ID), u)
	f.tokenGone(tok.Hash, "after "+what)
	f.noMail("after " + what)
}

func updateUserWithEffects(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusInvited
	f.createUser(u)
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	m := newMail(u.ID, u.Email, base.Add(time.Minute))
	m.Kind = "invite"
	got, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{Status: store.StatusInvited}, store.UserChange{
		FirstName: ptr("Invited"), UpdatedAt: base.Add(time.Minute),
	}, store.Effects{Token: tok, Mail: m})
	if err != nil {
		f.Fatalf("UpdateUser with effects: %v", err)
	}
	if got.FirstName != "Invited" {
		f.Errorf("FirstName = %q, want %q", got.FirstName, "Invited")
	}
	f.checkToken("GetToken after UpdateUser with a token", f.getToken(tok.Hash), tok)
	ms := f.listMail(store.MailQuery{})
	f.checkIDs("ListMail after UpdateUser with a mail", mailIDs(ms), []string{m.ID})
	if len(ms) == 1 {
		f.checkMail("mail written by UpdateUser", ms[0], m)
	}
}

// unicodeSamples are strings a store must keep byte for byte: emoji (with
// a zero-width joiner and a skin-tone modifier), right-to-left scripts
// with embedding marks, combining marks that NFC would compose, CJK.
var unicodeSamples = []string{
	"👩🏽‍💻 🇺🇦 ✓",
	"مرحبا بالعالم",
	"שָׁלוֹם \u202bעולם\u202c",
	"e\u0301le\u0300ve cafe\u0301 A\u030a",
	"Zoë Ångström — «naïve» ‘quotes’",
	"管理者のメモ 한국어",
	"\u200bzero\u200dwidth\ufeff",
}

// metaDepth is how deeply the suite nests metadata: objects and arrays
// 32 levels deep, counting the metadata object itself.
const metaDepth = 32

// nested returns an object depth levels deep (itself the first),
// alternating objects and arrays, with a Unicode leaf.
func nested(depth int) map[string]any {
	var v any = "leaf ✓ 🌿"
	for i := depth - 1; i > 0; i-- {
		if i%2 == 0 {
			v = []any{v, float64(i)}
		} else {
			v = map[string]any{fmt.Sprintf("ниво-%d", i): v, "n": float64(i)}
		}
	}
	return map[string]any{"deep": v}
}

// depthOf returns how deeply v nests objects and arrays.
func depthOf(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d = max(d, depthOf(e))
		}
	case []any:
		for _, e := range v {
			d = max(d, depthOf(e))
		}
	default:
		return 0
	}
	return d + 1
}

func updateUserUnicodeAndDeepMetadata(f *fixture) {
	meta := map[string]any{"nested": nested(metaDepth - 1)}
	for i, s := range unicodeSamples {
		meta[fmt.Sprintf("text-%d-%s", i, s)] = s
	}
	meta["list"] = slices.Collect(func(yield func(any) bool) {
		for _, s := range unicodeSamples {
			if !yield(s) {
				return
			}
		}
	})
	if d := depthOf(meta); d != metaDepth {
		f.Fatalf("suite bug: metadata %d levels deep, want %d", d, metaDepth)
	}
	u := newUser("ünïcødé@exämple.com")
	u.FirstName, u.LastName = unicodeSamples[3], unicodeSamples[1]
	u.Metadata = meta
	want := clone(u)
	f.createUser(u)
	f.checkUser("GetUser of a user with Unicode names and metadata nested 32 levels deep", f.getUser(u.ID), want)
	if us := f.listUsers(store.UserQuery{}); len(us) == 1 {
		f.checkUser("ListUsers of it", us[0], want)
	}
	byKey, err := f.s.GetUserByEmailKey(f.ctx, u.EmailKey)
	if err != nil {
		f.Fatalf("GetUserByEmailKey of a Unicode email key: %v", err)
	}
	f.checkUser("GetUserByEmailKey of it", byKey, want)

	for i, s := range unicodeSamples {
		at := base.Add(time.Duration(i+1) * time.Minute)
		m := map[string]any{"s": s, s: nested(metaDepth - 1)}
		if d := depthOf(m); d != metaDepth {
			f.Fatalf("suite bug: metadata %d levels deep, want %d", d, metaDepth)
		}
		got := f.update(u.ID, store.UserChange{FirstName: ptr(s), LastName: ptr(strings.ToUpper(s)), Metadata: m, UpdatedAt: at}, store.Effects{})
		want.FirstName, want.LastName, want.Metadata, want.UpdatedAt = s, strings.ToUpper(s), m, at
		f.checkUser(fmt.Sprintf("UpdateUser with Unicode sample %d", i), got, want)
		f.checkUser(fmt.Sprintf("GetUser after UpdateUser with Unicode sample %d", i), f.getUser(u.ID), want)
	}
	// Search and filters find the combining-mark name as it was written,
	// not composed.
	f.update(u.ID, store.UserChange{FirstName: ptr(unicodeSamples[3]), UpdatedAt: base.Add(time.Hour)}, store.Effects{})
	f.checkQuery("Search for a decomposed name", store.UserQuery{Search: "e\u0301le\u0300ve"}, []string{u.ID})
	f.checkQuery("Search for its composed form", store.UserQuery{Search: "élève"}, nil)
	f.checkQuery("filter _eq on a decomposed name", store.UserQuery{Filter: cond(store.FieldFirstName, store.OpEq, unicodeSamples[3])}, []string{u.ID})
}

// ---------------------------------------------------------------------------
// UpdateUsers

func updateUsersApplies(f *fixture) {
	r := f.role("editor")
	p := f.policy("a")
	a, b, c := f.user("a@example.com"), f.user("b@example.com"), f.user("c@example.com")
	at := base.Add(time.Hour)
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{}, store.UserChange{
		SetRole: true, Role: ptr(r.ID), SetPolicies: true, Policies: []string{p.ID}, Status: ptr(store.StatusSuspended), UpdatedAt: at,
	})
	if err != nil {
		f.Fatalf("UpdateUsers: %v", err)
	}
	for _, u := range []*store.User{a, b} {
		want := clone(u)
		want.Role, want.Policies, want.Status, want.UpdatedAt = ptr(r.ID), []string{p.ID}, store.StatusSuspended, at
		f.checkUser("user after UpdateUsers", f.getUser(u.ID), want)
	}
	f.checkUser("user not in UpdateUsers' ids", f.getUser(c.ID), c)
	f.checkIDs("ListUsers by the role after UpdateUsers", userIDs(f.listUsers(store.UserQuery{Role: ptr(r.ID)})), userIDs(inListOrder(a, b)))

	// Removing the role from one of them.
	if err := f.s.UpdateUsers(f.ctx, []string{b.ID}, store.Condition{}, store.UserChange{SetRole: true, UpdatedAt: at.Add(time.Minute)}); err != nil {
		f.Fatalf("UpdateUsers removing a role: %v", err)
	}
	if got := f.getUser(b.ID); got.Role != nil {
		f.Errorf("after UpdateUsers with SetRole and a nil Role: Role = %q, want nil", *got.Role)
	}
	if got := f.getUser(a.ID); roleString(got.Role) != roleString(&r.ID) {
		f.Errorf("user left out of the second UpdateUsers: Role = %s, want %q", roleString(got.Role), r.ID)
	}
}

// inListOrder returns us in ListUsers order.
func inListOrder(us ...*store.User) []*store.User {
	s := slices.Clone(us)
	sortUsers(s)
	return s
}

func updateUsersAllOrNothing(f *fixture) {
	r := f.role("editor")
	a, b := f.user("a@example.com"), f.user("b@example.com")
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, newID(), b.ID}, store.Condition{}, store.UserChange{
		SetRole: true, Role: ptr(r.ID), FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
	})
	f.wantErr("UpdateUsers with one unknown id", err, store.ErrNotFound)
	f.checkUser("first user after a failed UpdateUsers", f.getUser(a.ID), a)
	f.checkUser("last user after a failed UpdateUsers", f.getUser(b.ID), b)
}

func updateUsersUnknownRole(f *fixture) {
	a, b := f.user("a@example.com"), f.user("b@example.com")
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{}, store.UserChange{
		SetRole: true, Role: ptr(newID()), FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
	})
	f.wantErr("UpdateUsers with an unknown role", err, store.ErrRoleNotFound)
	f.checkUser("first user after it", f.getUser(a.ID), a)
	f.checkUser("second user after it", f.getUser(b.ID), b)
}

func updateUsersUnknownPolicy(f *fixture) {
	p := f.policy("a")
	a, b := f.user("a@example.com"), f.user("b@example.com")
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{}, store.UserChange{
		SetPolicies: true, Policies: []string{p.ID, newID()}, FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
	})
	f.wantErr("UpdateUsers with an unknown policy", err, store.ErrPolicyNotFound)
	f.checkUser("first user after it", f.getUser(a.ID), a)
	f.checkUser("second user after it", f.getUser(b.ID), b)
}
