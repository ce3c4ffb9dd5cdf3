package users

import (
	"context"
	"errors"

	"github.com/gousers/users/store"
)

// VerifyEmail consumes a verification token (from the link Register
// mailed) and activates its user. The token must be live — well formed,
// known, of the verify-email purpose, not expired, not used, and its user
// must still have the address it was mailed to and still be unverified;
// otherwise the error matches ErrInvalidToken (and, more precisely,
// ErrTokenExpired or ErrTokenUsed) and nothing changes.
//
// A contested account (registered again with a different password before
// it was verified) becomes invited instead, with no password, and a
// set-password mail goes to the address: someone else typed this address
// with another password, so neither password is kept, and only whoever
// reads the mailbox chooses one. The user's other pending tokens are
// revoked either way (its status changes). VerifyEmail returns the user as
// it is afterwards.
func (m *Manager) VerifyEmail(ctx context.Context, token string) (*User, error) {
	u, err := m.verifyEmail(ctx, token)
	m.observeFlow(FlowVerifyEmail, OutcomeVerified, err)
	if err != nil {
		return nil, opErr("verify email", err)
	}
	return u, nil
}

func (m *Manager) verifyEmail(ctx context.Context, token string) (*User, error) {
	tok, user, err := m.liveToken(ctx, token, store.PurposeVerifyEmail, StatusUnverified)
	if err != nil {
		return nil, err
	}
	now := m.clock()
	contested := user.Contested
	cond := store.Condition{Status: StatusUnverified, Contested: &contested, EmailKey: &tok.EmailKey}
	active, invited, no := StatusActive, StatusInvited, false
	ch := store.UserChange{Status: &active, UpdatedAt: now}
	var fx store.Effects
	if contested {
		empty := ""
		ch = store.UserChange{Status: &invited, PasswordHash: &empty, Contested: &no, UpdatedAt: now}
		if fx, err = m.inviteMail(ctx, MailSetPassword, user.ID, user.Email, user.EmailKey, "", now); err != nil {
			return nil, err
		}
	}
	fx.RevokeTokens = otherPurposes(store.PurposeVerifyEmail)
	after, err := m.store.ConsumeToken(ctx, tok.Hash, store.PurposeVerifyEmail, now, cond, ch, fx)
	if err != nil {
		return nil, tokenError(err)
	}
	if fx.Mail != nil {
		m.queued()
	}
	return publicUser(after), nil
}

// liveToken parses a token and checks it against the store before any
// expensive work: known, of the purpose, unused, unexpired, and its user
// still at the address it was mailed to and in the given status. It
// returns the token's record and its user. ConsumeToken checks all of it
// again atomically (the caller passes Condition.EmailKey and the status).
func (m *Manager) liveToken(ctx context.Context, token string, purpose store.Purpose, status Status) (*store.Token, *store.User, error) {
	hash, ok := parseToken(token)
	if !ok {
		return nil, nil, ErrInvalidToken
	}
	rec, err := m.store.GetToken(ctx, hash)
	if err != nil {
		return nil, nil, tokenError(err)
	}
	switch {
	case rec.Purpose != purpose:
		return nil, nil, ErrInvalidToken
	case rec.ConsumedAt != nil:
		return nil, nil, ErrTokenUsed
	case !m.clock().Before(rec.ExpiresAt):
		return nil, nil, ErrTokenExpired
	}
	user, err := m.store.GetUser(ctx, rec.UserID)
	if err != nil {
		return nil, nil, tokenError(err)
	}
	// A token minted before tokens were bound to an address has no
	// EmailKey: it is refused like one whose address changed.
	if user.Status != status || rec.EmailKey == "" || user.EmailKey != rec.EmailKey {
		return nil, nil, ErrInvalidToken
	}
	rec.Hash = hash
	return rec, user, nil
}

// tokenError maps a Store error met while handling a token: not found and
// precondition failures are an invalid token.
func tokenError(err error) error {
	switch {
	case isNotFound(err), errors.Is(err, store.ErrConflict):
		return ErrInvalidToken
	}
	return err
}
