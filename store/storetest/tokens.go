package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/gousers/users/store"
)

// ---------------------------------------------------------------------------
// Tokens: GetToken and re-issuing.

func tokenRoundTrip(f *fixture) {
	u := f.user("alice@example.com")
	tok := newToken(u.ID, store.PurposeInvite, base.Add(7*day))
	tok.CreatedAt = base.Add(-time.Minute)
	f.issue(tok)
	f.checkToken("GetToken", f.getToken(tok.Hash), tok)
}

func tokenNotFound(f *fixture) {
	_, err := f.s.GetToken(f.ctx, make([]byte, 32))
	f.wantErr("GetToken on an empty store", err, store.ErrNotFound)
	u := f.user("alice@example.com")
	tok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	f.issue(tok)
	other := newToken(u.ID, store.PurposeInvite, base.Add(day)) // never stored
	_, err = f.s.GetToken(f.ctx, other.Hash)
	f.wantErr("GetToken of an unknown hash", err, store.ErrNotFound)
	_, err = f.s.GetToken(f.ctx, tok.Hash[:16])
	f.wantErr("GetToken of a prefix of a stored hash", err, store.ErrNotFound)
}

// tokenWithUser: GetTokenUser answers the token as GetToken does and its
// user as GetUser does (role, policies in order, metadata), consumed or
// not; ErrNotFound for a hash it does not hold.
func tokenWithUser(f *fixture) {
	_, _, err := f.s.GetTokenUser(f.ctx, make([]byte, 32))
	f.wantErr("GetTokenUser on an empty store", err, store.ErrNotFound)
	r := f.role("editor")
	p1, p2 := f.policy("p1"), f.policy("p2")
	u := newUser("tu@example.com")
	u.Role = &r.ID
	u.Policies = []string{p2.ID, p1.ID}
	u.Metadata = map[string]any{"plan": "pro"}
	f.createUser(u)
	other := f.user("other@example.com")
	tok := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	f.issue(tok)
	f.issue(newToken(other.ID, store.PurposeVerifyEmail, base.Add(day)))
	for _, when := range []string{"unused", "consumed"} {
		gt, gu, err := f.s.GetTokenUser(f.ctx, tok.Hash)
		if err != nil {
			f.Fatalf("GetTokenUser (%s): %v", when, err)
		}
		f.checkToken("GetTokenUser ("+when+")", gt, f.getToken(tok.Hash))
		f.checkUser("GetTokenUser's user ("+when+")", gu, f.getUser(u.ID))
		if when == "unused" {
			if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, tok.Purpose, base, store.Condition{}, store.UserChange{UpdatedAt: base}, store.Effects{}); err != nil {
				f.Fatalf("ConsumeToken: %v", err)
			}
		}
	}
	_, _, err = f.s.GetTokenUser(f.ctx, tok.Hash[:16])
	f.wantErr("GetTokenUser of a prefix of a stored hash", err, store.ErrNotFound)
}

func tokenReissueRevokes(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	first := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	f.createUserFx(u, store.Effects{Token: first})
	invite := newToken(u.ID, store.PurposeInvite, base.Add(day))
	f.issue(invite)
	v := newUser("bob@example.com")
	v.Status = store.StatusUnverified
	others := newToken(v.ID, store.PurposeVerifyEmail, base.Add(day))
	f.createUserFx(v, store.Effects{Token: others})

	second := newToken(u.ID, store.PurposeVerifyEmail, base.Add(2*day))
	f.issue(second)

	f.tokenGone(first.Hash, "the first token after a second was issued for the same user and purpose")
	now := base.Add(time.Minute)
	_, err := f.s.ConsumeToken(f.ctx, first.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{})
	f.wantErr("ConsumeToken of a revoked token", err, store.ErrInvalidToken)
	f.tokenLive(second.Hash, "the second token")
	f.tokenLive(invite.Hash, "a token of another purpose")
	f.tokenLive(others.Hash, "another user's token of the same purpose")

	for _, tok := range []*store.Token{second, invite, others} {
		if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, tok.Purpose, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{}); err != nil {
			f.Errorf("ConsumeToken of a token that must still be valid (%s): %v", tok.Purpose, err)
		}
	}
}

func tokenReissueInConsumeRevokes(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	verify := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	oldInvite := newToken(u.ID, store.PurposeInvite, base.Add(day))
	f.createUserFx(u, store.Effects{Token: verify})
	f.issue(oldInvite)

	newInvite := newToken(u.ID, store.PurposeInvite, base.Add(2*day))
	now := base.Add(time.Minute)
	if _, err := f.s.ConsumeToken(f.ctx, verify.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{Token: newInvite}); err != nil {
		f.Fatalf("ConsumeToken issuing a token: %v", err)
	}
	f.tokenGone(oldInvite.Hash, "an invite token after ConsumeToken issued a new one")
	f.tokenLive(newInvite.Hash, "the invite token ConsumeToken issued")
}

// Re-issuing deletes the unconsumed tokens only: a consumed one still
// answers ErrTokenUsed.
func tokenReissueKeepsConsumed(f *fixture) {
	u := newUser("alice@example.com")
	u.Status = store.StatusUnverified
	first := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	f.createUserFx(u, store.Effects{Token: first})
	now := base.Add(time.Minute)
	if _, err := f.s.ConsumeToken(f.ctx, first.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	f.issue(newToken(u.ID, store.PurposeVerifyEmail, base.Add(day)))
	got, err := f.s.GetToken(f.ctx, first.Hash)
	if err != nil {
		f.Fatalf("GetToken of a consumed token after a re-issue: %v (the consumed token was deleted)", err)
	}
	if got.ConsumedAt == nil {
		f.Error("consumed token after a re-issue: ConsumedAt = nil")
	}
	_, err = f.s.ConsumeToken(f.ctx, first.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{})
	f.wantErr("ConsumeToken of a consumed token after a re-issue", err, store.ErrTokenUsed)
}

func tokenEmailKeyRoundTrip(f *fixture) {
	u := newUser("Alice@Example.com")
	u.Status = store.StatusUnverified
	bound := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	bound.EmailKey = u.EmailKey
	f.createUserFx(u, store.Effects{Token: bound})
	f.checkToken("GetToken of a token bound to an address (CreateUser)", f.getToken(bound.Hash), bound)

	unbound := newToken(u.ID, store.PurposeInvite, base.Add(day))
	f.issue(unbound)
	f.checkToken("GetToken of a token bound to no address", f.getToken(unbound.Hash), unbound)

	// A token issued by ConsumeToken keeps its address too, and so does a
	// consumed one.
	now := base.Add(time.Minute)
	next := newToken(u.ID, store.PurposePasswordReset, base.Add(day))
	next.EmailKey = "ünïcødé@exämple.com"
	if _, err := f.s.ConsumeToken(f.ctx, bound.Hash, store.PurposeVerifyEmail, now, store.Condition{EmailKey: ptr(bound.EmailKey)}, activate(), store.Effects{Token: next}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	f.checkToken("GetToken of a token issued by ConsumeToken", f.getToken(next.Hash), next)
	consumed := *bound
	consumed.ConsumedAt = &now
	f.checkToken("GetToken of the consumed token", f.getToken(bound.Hash), &consumed)
}

// ---------------------------------------------------------------------------
// ConsumeToken

// unverified creates an unverified user holding a live verification token
// that expires a day after base.
func (f *fixture) unverified(email string) (*store.User, *store.Token) {
	f.Helper()
	u := newUser(email)
	u.Status = store.StatusUnverified
	u.PasswordHash = "hash"
	tok := newToken(u.ID, store.PurposeVerifyEmail, base.Add(day))
	tok.EmailKey = u.EmailKey
	f.createUserFx(u, store.Effects{Token: tok})
	return u, tok
}

// activate is the change of a verification: the user becomes active.
func activate() store.UserChange {
	return store.UserChange{Status: ptr(store.StatusActive), UpdatedAt: base.Add(time.Minute)}
}

func consumeSuccess(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	got, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusUnverified}, activate(), store.Effects{})
	if err != nil {
		f.Fatalf("ConsumeToken of a live token: %v", err)
	}
	want := clone(u)
	want.Status, want.UpdatedAt = store.StatusActive, activate().UpdatedAt
	f.checkUser("ConsumeToken result", got, want)
	f.checkUser("GetUser after ConsumeToken", f.getUser(u.ID), want)
	consumed := *tok
	consumed.ConsumedAt = &now
	f.checkToken("GetToken after ConsumeToken", f.getToken(tok.Hash), &consumed)

	// A second, unrelated token still works.
	v, tok2 := f.unverified("bob@example.com")
	got, err = f.s.ConsumeToken(f.ctx, tok2.Hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{FirstName: ptr("Bob"), UpdatedAt: now}, store.Effects{})
	if err != nil {
		f.Fatalf("ConsumeToken of another user's token: %v", err)
	}
	if got.ID != v.ID || got.FirstName != "Bob" {
		f.Errorf("ConsumeToken changed user %s (FirstName %q); want %s with FirstName %q", got.ID, got.FirstName, v.ID, "Bob")
	}
	f.checkUser("first user after the second ConsumeToken", f.getUser(u.ID), want)
}

func consumeWrongPurpose(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	for _, p := range []store.Purpose{store.PurposeInvite, store.PurposePasswordReset} {
		_, err := f.s.ConsumeToken(f.ctx, tok.Hash, p, now, store.Condition{}, activate(), store.Effects{Mail: newMail(u.ID, u.Email, now)})
		what := fmt.Sprintf("ConsumeToken of a %s token as %s", tok.Purpose, p)
		f.wantErr(what, err, store.ErrInvalidToken)
		if errors.Is(err, store.ErrTokenUsed) || errors.Is(err, store.ErrTokenExpired) {
			f.Errorf("%s: err = %v; want plain ErrInvalidToken, as for an unknown token", what, err)
		}
	}
	f.checkUser("user after wrong-purpose ConsumeToken", f.getUser(u.ID), u)
	f.tokenLive(tok.Hash, "token after wrong-purpose ConsumeToken")
	f.noMail("after wrong-purpose ConsumeToken")
	if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{}); err != nil {
		f.Errorf("ConsumeToken with the right purpose afterwards: %v", err)
	}
}

func consumeUnknown(f *fixture) {
	now := base.Add(time.Minute)
	unknown := sha256.Sum256([]byte("unknown"))
	_, err := f.s.ConsumeToken(f.ctx, unknown[:], store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{})
	f.wantErr("ConsumeToken on an empty store", err, store.ErrInvalidToken)
	u, tok := f.unverified("alice@example.com")
	for _, h := range [][]byte{unknown[:], tok.Hash[:16], {}, nil} {
		_, err = f.s.ConsumeToken(f.ctx, h, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{Mail: newMail(u.ID, u.Email, now)})
		f.wantErr(fmt.Sprintf("ConsumeToken of unknown hash %x", h), err, store.ErrInvalidToken)
		if errors.Is(err, store.ErrTokenUsed) || errors.Is(err, store.ErrTokenExpired) {
			f.Errorf("ConsumeToken of an unknown hash: err = %v, want plain ErrInvalidToken", err)
		}
	}
	f.checkUser("user after unknown ConsumeToken", f.getUser(u.ID), u)
	f.tokenLive(tok.Hash, "token after unknown ConsumeToken")
	f.noMail("after unknown ConsumeToken")
}

func consumeExpired(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	for _, now := range []time.Time{tok.ExpiresAt, tok.ExpiresAt.Add(time.Millisecond), tok.ExpiresAt.Add(30 * day)} {
		_, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{Mail: newMail(u.ID, u.Email, now)})
		f.wantErr(fmt.Sprintf("ConsumeToken at %v of a token expiring at %v", now, tok.ExpiresAt), err, store.ErrTokenExpired)
	}
	f.checkUser("user after expired ConsumeToken", f.getUser(u.ID), u)
	f.tokenLive(tok.Hash, "token after expired ConsumeToken")
	f.noMail("after expired ConsumeToken")
	// Just before expiry it is still good: nothing was written.
	if _, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, tok.ExpiresAt.Add(-time.Millisecond), store.Condition{}, activate(), store.Effects{}); err != nil {
		f.Errorf("ConsumeToken a millisecond before expiry: %v", err)
	}
}

func consumeUsed(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	after, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{}, activate(), store.Effects{})
	if err != nil {
		f.Fatalf("first ConsumeToken: %v", err)
	}
	newTok := newToken(u.ID, store.PurposeInvite, base.Add(day))
	later := now.Add(time.Minute)
	_, err = f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, later, store.Condition{},
		store.UserChange{FirstName: ptr("Again"), UpdatedAt: later}, store.Effects{Token: newTok, Mail: newMail(u.ID, u.Email, later)})
	f.wantErr("second ConsumeToken of the same token", err, store.ErrTokenUsed)
	f.checkUser("user after a used ConsumeToken", f.getUser(u.ID), after)
	f.tokenGone(newTok.Hash, "token issued by a used ConsumeToken")
	f.noMail("after a used ConsumeToken")
	if got := f.getToken(tok.Hash); got.ConsumedAt == nil || timeDiff(*got.ConsumedAt, now) != "" {
		f.Errorf("ConsumedAt after a second ConsumeToken = %v, want the first consumption's %v", got.ConsumedAt, now)
	}
	// Used wins over expired.
	_, err = f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, tok.ExpiresAt.Add(day), store.Condition{}, activate(), store.Effects{})
	f.wantErr("ConsumeToken of a used token after its expiry", err, store.ErrTokenUsed)
}

func consumeConditionFails(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	for _, cond := range []store.Condition{
		{Status: store.StatusInvited},
		{Contested: ptr(true)},
		{Status: store.StatusUnverified, Contested: ptr(true)},
	} {
		newTok := newToken(u.ID, store.PurposeInvite, base.Add(day))
		_, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, cond, activate(), store.Effects{Token: newTok, Mail: newMail(u.ID, u.Email, now)})
		what := fmt.Sprintf("ConsumeToken with an unmet condition (status %q, contested %s)", cond.Status, boolString(cond.Contested))
		f.wantErr(what, err, store.ErrConflict)
		f.checkUser(what+": user", f.getUser(u.ID), u)
		f.tokenLive(tok.Hash, what+": the token is not consumed")
		f.tokenGone(newTok.Hash, what+": effects token")
		f.noMail(what)
	}
	got, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusUnverified, Contested: ptr(false)}, activate(), store.Effects{})
	if err != nil {
		f.Fatalf("ConsumeToken with the condition met, after the failures: %v", err)
	}
	if got.Status != store.StatusActive {
		f.Errorf("Status = %q, want %q", got.Status, store.StatusActive)
	}
}

func consumeWithEffects(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	invite := newToken(u.ID, store.PurposeInvite, now.Add(7*day))
	invite.CreatedAt = now
	m := newMail(u.ID, u.Email, now)
	m.Kind = "set-password"
	got, err := f.s.ConsumeToken(f.ctx, tok.Hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusUnverified},
		store.UserChange{Status: ptr(store.StatusInvited), PasswordHash: ptr(""), Contested: ptr(false), UpdatedAt: now},
		store.Effects{Token: invite, Mail: m})
	if err != nil {
		f.Fatalf("ConsumeToken with effects: %v", err)
	}
	want := clone(u)
	want.Status, want.PasswordHash, want.UpdatedAt = store.StatusInvited, "", now
	f.checkUser("ConsumeToken with effects: result", got, want)
	f.checkToken("token issued by ConsumeToken", f.getToken(invite.Hash), invite)
	ms := f.listMail(store.MailQuery{})
	f.checkIDs("ListMail after ConsumeToken with a mail", mailIDs(ms), []string{m.ID})
	if len(ms) == 1 {
		f.checkMail("mail written by ConsumeToken", ms[0], m)
	}
	if got := f.getToken(tok.Hash); got.ConsumedAt == nil {
		f.Error("consumed token: ConsumedAt = nil")
	}
}

func consumeConcurrent(f *fixture) {
	u, tok := f.unverified("alice@example.com")
	now := base.Add(time.Minute)
	const n = 50
	mails := make([]*store.Mail, n)
	for i := range mails {
		mails[i] = newMail(u.ID, u.Email, now)
	}
	errs := make([]error, n)
	f.race("concurrent ConsumeToken of one token", n, func(ctx context.Context, i int) {
		_, errs[i] = f.s.ConsumeToken(ctx, tok.Hash, store.PurposeVerifyEmail, now,
			store.Condition{Status: store.StatusUnverified},
			store.UserChange{Status: ptr(store.StatusActive), FirstName: ptr(fmt.Sprintf("winner-%d", i)), UpdatedAt: now},
			store.Effects{Mail: mails[i]})
	})

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			f.Errorf("ConsumeToken calls %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrTokenUsed) && !errors.Is(err, store.ErrInvalidToken):
			f.Errorf("concurrent ConsumeToken %d: err = %v, want one matching ErrTokenUsed or ErrInvalidToken", i, err)
		}
	}
	if winner < 0 {
		f.Fatalf("none of %d concurrent ConsumeToken calls succeeded", n)
	}
	got := f.getUser(u.ID)
	if want := fmt.Sprintf("winner-%d", winner); got.FirstName != want || got.Status != store.StatusActive {
		f.Errorf("user after the race: FirstName %q, Status %q; want %q, %q", got.FirstName, got.Status, want, store.StatusActive)
	}
	f.checkIDs("outbox after the race (the winner's mail only)", mailIDs(f.listMail(store.MailQuery{})), []string{mails[winner].ID})
}

// tokenNewEmailRoundTrip: the new address an email-change token carries
// comes back as it was written, from UpdateUser's Effects and from
// ConsumeToken's, and the cancel token keeps its own.
func tokenNewEmailRoundTrip(f *fixture) {
	u := f.user("alice@example.com")
	change := newToken(u.ID, store.PurposeEmailChange, base.Add(day))
	change.EmailKey, change.NewEmail = u.EmailKey, "Ålice.New@Exämple.com"
	f.issue(change)
	f.checkToken("GetToken of an email-change token", f.getToken(change.Hash), change)

	cancel := newToken(u.ID, store.PurposeEmailChangeCancel, base.Add(day))
	cancel.EmailKey, cancel.NewEmail = u.EmailKey, change.NewEmail
	f.issue(cancel)
	f.checkToken("GetToken of an email-change cancel token", f.getToken(cancel.Hash), cancel)
	f.checkToken("GetToken of the email-change token after the cancel token was issued", f.getToken(change.Hash), change)

	now := base.Add(time.Minute)
	next := newToken(u.ID, store.PurposeEmailChange, base.Add(day))
	next.EmailKey, next.NewEmail = u.EmailKey, "bob@example.com"
	if _, err := f.s.ConsumeToken(f.ctx, cancel.Hash, store.PurposeEmailChangeCancel, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{Token: next}); err != nil {
		f.Fatalf("ConsumeToken: %v", err)
	}
	f.checkToken("GetToken of an email-change token issued by ConsumeToken", f.getToken(next.Hash), next)
}
