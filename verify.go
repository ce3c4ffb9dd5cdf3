package users

import (
	"context"

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
		if fx, err = m.inviteMail(ctx, mailSetPassword, user.ID, user.Email, user.EmailKey, "", now); err != nil {
			return nil, err
		}
	}
	fx.RevokeTokens = otherPurposes(store.PurposeVerifyEmail)
	fx.Events = m.events(m.event(ctx, flowVerified, user, user.ID, now))
	after, err := m.store.ConsumeToken(ctx, tok.Hash, store.PurposeVerifyEmail, now, cond, ch, fx)
	if err != nil {
		return nil, tokenError(err)
	}
	if fx.Mail != nil {
		m.queued()
	}
	return publicUser(after), nil
}
