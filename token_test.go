package users_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/memstore"
)

// spyStore is a Store that records the conditions, changes and effects of
// the writes the Manager asks for, and how many calls reached it.
type spyStore struct {
	store.Store
	mu      sync.Mutex
	calls   int
	updates []spyWrite
}

type spyWrite struct {
	method string
	cond   store.Condition
	ch     store.UserChange
	fx     store.Effects
}

func (s *spyStore) note(w spyWrite) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.method != "" {
		s.updates = append(s.updates, w)
	}
	s.calls++
}

// take returns the writes recorded since the last take.
func (s *spyStore) take() []spyWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.updates
	s.updates = nil
	return w
}

func (s *spyStore) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *spyStore) UpdateUser(ctx context.Context, id string, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	s.note(spyWrite{"UpdateUser", cond, ch, fx})
	return s.Store.UpdateUser(ctx, id, cond, ch, fx)
}

func (s *spyStore) UpdateUsers(ctx context.Context, ids []string, cond store.Condition, ch store.UserChange, events ...*store.Event) error {
	s.note(spyWrite{"UpdateUsers", cond, ch, store.Effects{}})
	return s.Store.UpdateUsers(ctx, ids, cond, ch, events...)
}

func (s *spyStore) ConsumeToken(ctx context.Context, hash []byte, p store.Purpose, now time.Time, cond store.Condition, ch store.UserChange, fx store.Effects) (*store.User, error) {
	s.note(spyWrite{"ConsumeToken", cond, ch, fx})
	return s.Store.ConsumeToken(ctx, hash, p, now, cond, ch, fx)
}

func (s *spyStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	s.note(spyWrite{})
	return s.Store.GetUser(ctx, id)
}

func (s *spyStore) GetRole(ctx context.Context, id string) (*users.Role, error) {
	s.note(spyWrite{})
	return s.Store.GetRole(ctx, id)
}

func (s *spyStore) CreateRole(ctx context.Context, r *users.Role) error {
	s.note(spyWrite{})
	return s.Store.CreateRole(ctx, r)
}

func (s *spyStore) CreateUser(ctx context.Context, u *store.User, fx store.Effects) error {
	s.note(spyWrite{})
	return s.Store.CreateUser(ctx, u, fx)
}

func (s *spyStore) CountUsers(ctx context.Context, q store.UserQuery) (int, error) {
	s.note(spyWrite{})
	return s.Store.CountUsers(ctx, q)
}

func (s *spyStore) ListUsers(ctx context.Context, q store.UserQuery) ([]*store.User, error) {
	s.note(spyWrite{})
	return s.Store.ListUsers(ctx, q)
}

func tokenHash(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// A token is bound to the address it was mailed to. An invitation sent to
// a mistyped address, then corrected by the administrator: the link in the
// typo's mailbox no longer works (its holder would otherwise set the
// password of john.doe's account), while a new invitation to the corrected
// address does. The same for an unverified user's verification link.
//
// Checked against the old behaviour: the typo's token was accepted after
// the change and this test failed.
func TestTokenBoundToItsAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	res, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"jonh.doe@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	typo := memmailer.Token(e.onlyMail("jonh.doe@example.com"))
	fixed := "john.doe@example.com"
	_, err = e.m.UpdateUser(e.ctx, res[0].UserID, users.UserPatch{Email: &fixed})
	require.NoError(t, err)

	_, err = e.m.AcceptInvite(e.ctx, typo, "typo-holders-password")
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.store.GetToken(e.ctx, tokenHash(typo))
	require.ErrorIs(t, err, store.ErrNotFound, "revoked by the change")
	assert.Equal(t, users.StatusInvited, e.userByEmail(fixed).Status)

	// Changing it back does not revive it.
	back := "jonh.doe@example.com"
	_, err = e.m.UpdateUser(e.ctx, res[0].UserID, users.UserPatch{Email: &back})
	require.NoError(t, err)
	_, err = e.m.AcceptInvite(e.ctx, typo, "typo-holders-password")
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.UpdateUser(e.ctx, res[0].UserID, users.UserPatch{Email: &fixed})
	require.NoError(t, err)

	res, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{fixed}, Role: e.member.ID})
	require.NoError(t, err)
	good := memmailer.Token(e.onlyMail(fixed))
	_, err = e.m.AcceptInvite(e.ctx, good, "johns-password")
	require.NoError(t, err)

	// An unverified user's verification link, after an email change.
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "ann@example.com", Password: "pw"}))
	link := memmailer.Token(e.onlyMail("ann@example.com"))
	ann := e.userByEmail("ann@example.com")
	other := "ann.other@example.com"
	_, err = e.m.UpdateUser(e.ctx, ann.ID, users.UserPatch{Email: &other})
	require.NoError(t, err)
	_, err = e.m.VerifyEmail(e.ctx, link)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	assert.Equal(t, users.StatusUnverified, e.userByEmail(other).Status)
}

// Suspending an invited user, then setting it back to invited, does not
// revive the invitation mailed before: a token never comes back to life.
// In bulk as well as one by one. A change that keeps the address (letter
// case aside) and the status revokes nothing.
//
// Checked against the old behaviour: the old invite token was accepted
// after the round trip and this test failed.
func TestStatusChangeRevokesTokensForGood(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"a@example.com", "b@example.com", "c@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	toks := map[string]string{}
	for _, m := range e.deliver() {
		toks[m.To] = memmailer.Token(m)
	}
	ids := map[string]string{}
	for _, r := range res {
		ids[r.Email] = r.UserID
	}
	suspended, invited := users.StatusSuspended, users.StatusInvited

	// One by one.
	_, err = e.m.UpdateUser(e.ctx, ids["a@example.com"], users.UserPatch{Status: &suspended})
	require.NoError(t, err)
	_, err = e.m.UpdateUser(e.ctx, ids["a@example.com"], users.UserPatch{Status: &invited})
	require.NoError(t, err)
	_, err = e.m.AcceptInvite(e.ctx, toks["a@example.com"], "pw")
	require.ErrorIs(t, err, users.ErrInvalidToken)

	// In bulk.
	require.NoError(t, e.m.UpdateUsers(e.ctx, []string{ids["b@example.com"]}, users.UserPatch{Status: &suspended}))
	require.NoError(t, e.m.UpdateUsers(e.ctx, []string{ids["b@example.com"]}, users.UserPatch{Status: &invited}))
	_, err = e.m.AcceptInvite(e.ctx, toks["b@example.com"], "pw")
	require.ErrorIs(t, err, users.ErrInvalidToken)

	// Same status, same address in other letters, another field: the
	// invitation stands.
	upper, name := "C@EXAMPLE.com", "Cee"
	_, err = e.m.UpdateUser(e.ctx, ids["c@example.com"], users.UserPatch{Status: &invited, Email: &upper, FirstName: &name})
	require.NoError(t, err)
	_, err = e.m.AcceptInvite(e.ctx, toks["c@example.com"], "pw")
	require.NoError(t, err)
}

// What each change asks the store to do: a new address or status revokes
// every token; a new address, or a status that leaves active, ends the
// sessions; the change is made only if the user is still as it was read;
// consuming a token requires the user to still have the token's address.
func TestRevocationEffects(t *testing.T) {
	t.Parallel()
	spy := &spyStore{Store: memstore.New()}
	e := newEnvOn(t, spy)
	e.open()
	all := []store.Purpose{store.PurposeVerifyEmail, store.PurposeInvite, store.PurposePasswordReset}
	u, err := e.m.CreateUser(e.ctx, users.CreateUserInput{Email: "u@example.com", Password: "pw"})
	require.NoError(t, err)
	key := "u@example.com"
	spy.take()

	patch := func(p users.UserPatch) spyWrite {
		t.Helper()
		_, err := e.m.UpdateUser(e.ctx, u.ID, p)
		require.NoError(t, err)
		w := spy.take()
		require.Len(t, w, 1)
		return w[0]
	}
	s := func(st users.Status) *users.Status { return &st }
	str := func(v string) *string { return &v }

	w := patch(users.UserPatch{Email: str("new@example.com")})
	assert.ElementsMatch(t, all, w.fx.RevokeTokens)
	assert.True(t, w.fx.EndSessions, "a new address logs the user out")
	require.NotNil(t, w.cond.EmailKey)
	assert.Equal(t, key, *w.cond.EmailKey, "only if the address is still the one read")
	assert.Equal(t, users.StatusActive, w.cond.Status)

	w = patch(users.UserPatch{Status: s(users.StatusSuspended)})
	assert.ElementsMatch(t, all, w.fx.RevokeTokens)
	assert.True(t, w.fx.EndSessions, "leaving active logs the user out")

	w = patch(users.UserPatch{Status: s(users.StatusDraft)})
	assert.ElementsMatch(t, all, w.fx.RevokeTokens)
	assert.False(t, w.fx.EndSessions, "not active before: no session to end")

	w = patch(users.UserPatch{Status: s(users.StatusActive)})
	assert.ElementsMatch(t, all, w.fx.RevokeTokens)
	assert.False(t, w.fx.EndSessions)

	w = patch(users.UserPatch{Status: s(users.StatusActive), Email: str("NEW@example.com"), FirstName: str("U")})
	assert.Empty(t, w.fx.RevokeTokens, "nothing changed that a token is bound to")
	assert.False(t, w.fx.EndSessions)

	require.NoError(t, e.m.UpdateUsers(e.ctx, []string{u.ID}, users.UserPatch{Status: s(users.StatusArchived)}))
	bulk := spy.take()
	require.Len(t, bulk, 1)
	assert.ElementsMatch(t, all, bulk[0].ch.RevokeTokens)
	assert.True(t, bulk[0].ch.EndSessions)
	require.NoError(t, e.m.UpdateUsers(e.ctx, []string{u.ID}, users.UserPatch{Status: s(users.StatusActive)}))
	bulk = spy.take()
	assert.ElementsMatch(t, all, bulk[0].ch.RevokeTokens)
	assert.False(t, bulk[0].ch.EndSessions, "becoming active ends no session")
	require.NoError(t, e.m.UpdateUsers(e.ctx, []string{u.ID}, users.UserPatch{FirstName: str("V")}))
	bulk = spy.take()
	assert.Empty(t, bulk[0].ch.RevokeTokens)

	// Verify and accept consume only while the address is the token's,
	// and revoke the user's other tokens (the status changes).
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "r@example.com", Password: "pw"}))
	spy.take()
	_, err = e.m.VerifyEmail(e.ctx, memmailer.Token(e.onlyMail("r@example.com")))
	require.NoError(t, err)
	w = spy.take()[0]
	assert.Equal(t, "ConsumeToken", w.method)
	require.NotNil(t, w.cond.EmailKey)
	assert.Equal(t, "r@example.com", *w.cond.EmailKey)
	assert.ElementsMatch(t, []store.Purpose{store.PurposeInvite, store.PurposePasswordReset}, w.fx.RevokeTokens)

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	spy.take()
	_, err = e.m.AcceptInvite(e.ctx, memmailer.Token(e.onlyMail("i@example.com")), "pw")
	require.NoError(t, err)
	w = spy.take()[0]
	require.NotNil(t, w.cond.EmailKey)
	assert.Equal(t, "i@example.com", *w.cond.EmailKey)
	assert.ElementsMatch(t, []store.Purpose{store.PurposeVerifyEmail, store.PurposePasswordReset}, w.fx.RevokeTokens)
}

// Every token is minted with the address it is mailed to; one without
// (issued before tokens were bound) is refused.
func TestTokensCarryTheirAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.open()
	require.NoError(t, e.m.Register(e.ctx, users.RegisterInput{Email: "Reg@Example.com", Password: "pw"}))
	reg := memmailer.Token(e.onlyMail("Reg@Example.com"))
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"Inv@Example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	inv := memmailer.Token(e.onlyMail("Inv@Example.com"))
	for tok, key := range map[string]string{reg: "reg@example.com", inv: "inv@example.com"} {
		rec, err := e.store.GetToken(e.ctx, tokenHash(tok))
		require.NoError(t, err)
		assert.Equal(t, key, rec.EmailKey)
	}

	// A token record without an address, for a user who has one.
	u := e.userByEmail("reg@example.com")
	legacy := "L" + reg[1:]
	if legacy == reg {
		legacy = "M" + reg[1:]
	}
	now := e.clock.Now()
	require.NoError(t, e.store.CreateUser(e.ctx, &store.User{
		ID: "legacy-user", Email: "legacy@example.com", Status: users.StatusUnverified, CreatedAt: now, UpdatedAt: now,
		EmailKey: "legacy@example.com",
	}, store.Effects{Token: &store.Token{Hash: tokenHash(legacy), Purpose: store.PurposeVerifyEmail, UserID: "legacy-user", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}))
	_, err = e.m.VerifyEmail(e.ctx, legacy)
	require.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.VerifyEmail(e.ctx, reg)
	require.NoError(t, err)
	assert.Equal(t, u.ID, e.userByEmail("reg@example.com").ID)
}

func TestTokenUser(t *testing.T) {
	e := newEnv(t)
	_, err := e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"i@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	tok := tokenIn(t, memmailer.Link(e.onlyMail("i@example.com")))

	u, err := e.m.TokenUser(e.ctx, tok, store.PurposeInvite)
	require.NoError(t, err)
	assert.Equal(t, "i@example.com", u.Email)
	assert.Equal(t, users.StatusInvited, u.Status, "reading changes nothing")
	_, err = e.m.TokenUser(e.ctx, tok, store.PurposeInvite)
	require.NoError(t, err, "and can be repeated")

	_, err = e.m.TokenUser(e.ctx, tok, store.PurposeVerifyEmail)
	assert.ErrorIs(t, err, users.ErrInvalidToken, "another purpose")
	_, err = e.m.TokenUser(e.ctx, "garbage", store.PurposeInvite)
	assert.ErrorIs(t, err, users.ErrInvalidToken)
	_, err = e.m.TokenUser(e.ctx, tok, "other")
	assert.ErrorIs(t, err, users.ErrInvalidPayload)

	e.clock.Advance(8 * 24 * time.Hour)
	_, err = e.m.TokenUser(e.ctx, tok, store.PurposeInvite)
	assert.ErrorIs(t, err, users.ErrTokenExpired)

	_, err = e.m.Invite(e.ctx, users.InviteInput{Emails: []string{"j@example.com"}, Role: e.member.ID})
	require.NoError(t, err)
	tok = tokenIn(t, memmailer.Link(e.onlyMail("j@example.com")))
	_, err = e.m.AcceptInvite(e.ctx, tok, "a password")
	require.NoError(t, err)
	_, err = e.m.TokenUser(e.ctx, tok, store.PurposeInvite)
	assert.ErrorIs(t, err, users.ErrTokenUsed)
	assert.False(t, errors.Is(err, users.ErrTokenExpired))
}

func tokenIn(t *testing.T, link string) string {
	t.Helper()
	i := strings.Index(link, "token=")
	require.GreaterOrEqual(t, i, 0, link)
	return link[i+len("token="):]
}
