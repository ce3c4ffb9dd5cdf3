package storetest

import (
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Effects.RevokeTokens and Effects.EndSessions.

// tokenSet is a user's tokens for the RevokeTokens clauses.
type tokenSet struct {
	consumed, verify, invite, reset *store.Token
}

// tokensOf gives u a consumed verification token and an unconsumed token
// of each purpose.
func (f *fixture) tokensOf(u *store.User) tokenSet {
	f.Helper()
	var ts tokenSet
	ts.consumed = newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	f.issue(ts.consumed)
	if _, err := f.s.ConsumeToken(f.ctx, ts.consumed.Hash, store.PurposeVerifyEmail, base, store.Condition{}, store.UserChange{UpdatedAt: base}, store.Effects{}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	ts.consumed.ConsumedAt = ptr(base)
	ts.verify = newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	ts.invite = newToken(u.ID, store.PurposeInvite, base.Add(day))
	ts.reset = newToken(u.ID, store.PurposePasswordReset, base.Add(day))
	for _, t := range []*store.Token{ts.verify, ts.invite, ts.reset} {
		t.EmailKey = u.EmailKey
		f.issue(t)
	}
	return ts
}

func effectsRevokeTokens(f *fixture) {
	u := f.user("alice@example.com")
	v := f.user("bob@example.com")
	mine, theirs := f.tokensOf(u), f.tokensOf(v)
	fresh := newToken(u.ID, store.PurposeVerifyEmail, base.Add(2*day))
	fresh.EmailKey = "alice.new@example.com"
	at := base.Add(time.Hour)
	if _, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{}, store.UserChange{
		Email: ptr("Alice.New@example.com"), EmailKey: ptr("alice.new@example.com"), UpdatedAt: at,
	}, store.Effects{RevokeTokens: []store.Purpose{store.PurposeVerifyEmail, store.PurposeInvite}, Token: fresh}); err != nil {
		f.Fatalf("UpdateUser with RevokeTokens: %v", err)
	}
	f.tokenGone(mine.verify.Hash, "unconsumed token of a revoked purpose")
	f.tokenGone(mine.invite.Hash, "unconsumed token of the other revoked purpose")
	f.tokenLive(mine.reset.Hash, "token of a purpose not revoked")
	f.checkToken("consumed token of a revoked purpose (kept: it still answers ErrTokenUsed)", f.getToken(mine.consumed.Hash), mine.consumed)
	f.checkToken("token inserted after the revocation", f.getToken(fresh.Hash), fresh)
	for _, t := range []*store.Token{theirs.verify, theirs.invite, theirs.reset} {
		f.tokenLive(t.Hash, "another user's token")
	}
	_, err := f.s.ConsumeToken(f.ctx, mine.consumed.Hash, store.PurposeVerifyEmail, at, store.Condition{}, store.UserChange{UpdatedAt: at}, store.Effects{})
	f.wantErr("ConsumeToken of the consumed token after a revocation", err, store.ErrTokenUsed)

	// In CreateUser the new user has nothing to revoke; the rest applies.
	w := newUser("carol@example.com")
	wt := newToken(w.ID, store.PurposeInvite, base.Add(day))
	f.createUserFx(w, store.Effects{RevokeTokens: []store.Purpose{store.PurposeInvite}, Token: wt, EndSessions: true})
	f.tokenLive(wt.Hash, "token inserted by CreateUser with RevokeTokens of its purpose")
	for _, t := range []*store.Token{theirs.verify, theirs.invite, theirs.reset} {
		f.tokenLive(t.Hash, "another user's token after CreateUser with RevokeTokens")
	}
}

func effectsRevokeTokensInConsume(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusInvited
	f.createUser(u)
	v := f.user("bob@example.com")
	mine, theirs := f.tokensOf(u), f.tokensOf(v)
	now := base.Add(time.Minute)
	if _, err := f.s.ConsumeToken(f.ctx, mine.invite.Hash, store.PurposeInvite, now, store.Condition{Status: store.StatusInvited},
		store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: now},
		store.Effects{RevokeTokens: []store.Purpose{store.PurposeInvite, store.PurposeVerifyEmail}}); err != nil {
		f.Fatalf("ConsumeToken with RevokeTokens: %v", err)
	}
	consumed := *mine.invite
	consumed.ConsumedAt = &now
	f.checkToken("the consumed token (RevokeTokens deletes only unconsumed ones)", f.getToken(mine.invite.Hash), &consumed)
	f.tokenGone(mine.verify.Hash, "the user's unconsumed token of a revoked purpose")
	f.tokenLive(mine.reset.Hash, "the user's token of another purpose")
	for _, t := range []*store.Token{theirs.verify, theirs.invite, theirs.reset} {
		f.tokenLive(t.Hash, "another user's token")
	}
	_, err := f.s.ConsumeToken(f.ctx, mine.invite.Hash, store.PurposeInvite, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{})
	f.wantErr("ConsumeToken of the token a second time", err, store.ErrTokenUsed)
}

func effectsEndSessions(f *fixture) {
	u := f.user("alice@example.com")
	v := f.user("bob@example.com")
	s1 := f.session(u.ID)
	earlier := f.rotate(s1, base.Add(time.Minute))
	s2 := f.session(u.ID)
	theirs := f.session(v.ID)
	if _, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{}, store.UserChange{PasswordHash: ptr("$argon2id$new"), UpdatedAt: base.Add(time.Hour)},
		store.Effects{EndSessions: true}); err != nil {
		f.Fatalf("UpdateUser with EndSessions: %v", err)
	}
	f.sessionGone(s1.ID, "a session of the user after EndSessions")
	f.sessionGone(s2.ID, "another session of the user after EndSessions")
	f.hashUnknown(s1.TokenHash, "the current token of an ended session")
	f.hashUnknown(earlier, "an earlier token of an ended session")
	f.sessionIs(theirs, "another user's session")
	f.rotate(theirs, base.Add(2*time.Hour))
	// A new session starts afresh.
	f.session(u.ID)
}

func effectsEndSessionsInConsume(f *fixture) {
	u := newUser("alice@example.com")
	u.PasswordHash = "$argon2id$old"
	tok := newToken(u.ID, store.PurposePasswordReset, base.Add(time.Hour))
	f.createUserFx(u, store.Effects{Token: tok})
	v := f.user("bob@example.com")
	s1, s2, theirs := f.session(u.ID), f.session(u.ID), f.session(v.ID)
	now := base.Add(time.Minute)
	if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposePasswordReset, now, store.Condition{},
		store.UserChange{PasswordHash: ptr("$argon2id$new"), UpdatedAt: now}, store.Effects{EndSessions: true}); err != nil {
		f.Fatalf("ConsumeToken with EndSessions: %v", err)
	}
	f.sessionGone(s1.ID, "a session of the token's user after ConsumeToken with EndSessions")
	f.sessionGone(s2.ID, "another session of the token's user")
	f.sessionIs(theirs, "another user's session")
}

// A call that fails applies none of its effects.
func effectsNothingOnFailure(f *fixture) {
	u := f.user("alice@example.com")
	ts := f.tokensOf(u)
	s := f.session(u.ID)
	fx := store.Effects{RevokeTokens: []store.Purpose{store.PurposeVerifyEmail, store.PurposeInvite, store.PurposePasswordReset}, EndSessions: true}
	check := func(what string, err error) {
		f.Helper()
		if err == nil {
			f.Fatalf("%s succeeded; want it refused", what)
		}
		for _, t := range []*store.Token{ts.verify, ts.invite, ts.reset} {
			f.tokenLive(t.Hash, what+": token")
		}
		f.sessionIs(s, what+": session")
	}
	at := base.Add(time.Hour)
	_, err := f.s.UpdateUser(f.ctx, u.ID, store.Condition{Status: store.StatusSuspended}, store.UserChange{UpdatedAt: at}, fx)
	check("UpdateUser whose condition fails", err)
	_, err = f.s.UpdateUser(f.ctx, u.ID, store.Condition{}, store.UserChange{SetRole: true, Role: ptr(newID()), UpdatedAt: at}, fx)
	check("UpdateUser with an unknown role", err)
	_, err = f.s.ConsumeToken(f.ctx, ts.verify.Hash, store.PurposeVerifyEmail, ts.verify.ExpiresAt, store.Condition{}, store.UserChange{UpdatedAt: at}, fx)
	check("ConsumeToken of an expired token", err)
	_, err = f.s.ConsumeToken(f.ctx, ts.verify.Hash, store.PurposeVerifyEmail, base, store.Condition{EmailKey: ptr("other@example.com")}, store.UserChange{UpdatedAt: at}, fx)
	check("ConsumeToken whose condition fails", err)
}

// UpdateUsers takes no Effects: UserChange.RevokeTokens and EndSessions
// apply to every user it changes, as the Effects fields do.
func updateUsersRevokeAndEnd(f *fixture) {
	a, b, c := f.user("a@example.com"), f.user("b@example.com"), f.user("c@example.com")
	ta, tb, tc := f.tokensOf(a), f.tokensOf(b), f.tokensOf(c)
	sa, sb, sc := f.session(a.ID), f.session(b.ID), f.session(c.ID)
	earlier := f.rotate(sa, base.Add(time.Minute))
	ch := store.UserChange{
		Status: ptr(store.StatusSuspended), UpdatedAt: base.Add(time.Hour),
		RevokeTokens: []store.Purpose{store.PurposeVerifyEmail, store.PurposeInvite}, EndSessions: true,
	}

	// Refused: nothing is revoked, no session ends.
	err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{Status: store.StatusInvited}, ch)
	f.wantErr("UpdateUsers whose condition fails", err, store.ErrConflict)
	for _, ts := range []tokenSet{ta, tb} {
		f.tokenLive(ts.verify.Hash, "token after a refused UpdateUsers")
	}
	f.sessionIs(sa, "session after a refused UpdateUsers")

	if err := f.s.UpdateUsers(f.ctx, []string{a.ID, b.ID}, store.Condition{}, ch); err != nil {
		f.Fatalf("UpdateUsers with RevokeTokens and EndSessions: %v", err)
	}
	for _, ts := range []tokenSet{ta, tb} {
		f.tokenGone(ts.verify.Hash, "a changed user's unconsumed token of a revoked purpose")
		f.tokenGone(ts.invite.Hash, "a changed user's unconsumed token of the other revoked purpose")
		f.tokenLive(ts.reset.Hash, "a changed user's token of a purpose not revoked")
		f.checkToken("a changed user's consumed token", f.getToken(ts.consumed.Hash), ts.consumed)
	}
	f.sessionGone(sa.ID, "a changed user's session")
	f.sessionGone(sb.ID, "the other changed user's session")
	f.hashUnknown(earlier, "an earlier token of an ended session")
	for _, t := range []*store.Token{tc.verify, tc.invite, tc.reset} {
		f.tokenLive(t.Hash, "a token of a user left out")
	}
	f.sessionIs(sc, "the session of a user left out")
}

// The methods that take Effects ignore UserChange.RevokeTokens and
// EndSessions (those are UpdateUsers'): only Effects revokes and ends.
func effectsChangeFieldsIgnored(f *fixture) {
	u := f.user("alice@example.com")
	ts := f.tokensOf(u)
	s := f.session(u.ID)
	ch := store.UserChange{FirstName: ptr("Changed"), UpdatedAt: base.Add(time.Hour),
		RevokeTokens: []store.Purpose{store.PurposeVerifyEmail, store.PurposeInvite, store.PurposePasswordReset}, EndSessions: true}
	f.update(u.ID, ch, store.Effects{})
	if _, err := f.s.ConsumeToken(f.ctx, ts.reset.Hash, store.PurposePasswordReset, base, store.Condition{}, ch, store.Effects{}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	f.tokenLive(ts.verify.Hash, "token after UpdateUser and ConsumeToken with UserChange.RevokeTokens")
	f.tokenLive(ts.invite.Hash, "token after UpdateUser and ConsumeToken with UserChange.RevokeTokens")
	f.sessionIs(s, "session after UpdateUser and ConsumeToken with UserChange.EndSessions")
}
