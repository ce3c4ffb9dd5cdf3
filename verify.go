package users

import (
	"context"
	"errors"
	"fmt"
)

// VerifyEmail consumes a verification token (from the link Register
// mailed) and activates its user. The token must be live — well formed,
// known, of the verify-email purpose, not expired, not used — and its user
// still unverified; otherwise the error matches ErrInvalidToken (and, more
// precisely, ErrTokenExpired or ErrTokenUsed) and nothing changes.
//
// A contested account (registered again with a different password before
// it was verified) becomes invited instead, with no password, and a
// set-password mail goes to the address: only whoever reads that mailbox
// chooses the password (SPEC §2 step 6). VerifyEmail returns the user as it
// is afterwards.
func (m *Manager) VerifyEmail(ctx context.Context, token string) (*User, error) {
	u, err := m.verifyEmail(ctx, token)
	m.observeFlow(FlowVerifyEmail, OutcomeVerified, err)
	if err != nil {
		return nil, fmt.Errorf("users: verify email: %w", err)
	}
	return u, nil
}

func (m *Manager) verifyEmail(ctx context.Context, token string) (*User, error) {
	rec, user, err := m.liveToken(ctx, token, PurposeVerifyEmail, StatusUnverified)
	if err != nil {
		return nil, err
	}
	now := m.clock()
	contested := user.Contested
	cond := Condition{Status: StatusUnverified, Contested: &contested}
	active, invited, no := StatusActive, StatusInvited, false
	ch := UserChange{Status: &active, UpdatedAt: now}
	var fx Effects
	if contested {
		empty := ""
		ch = UserChange{Status: &invited, PasswordHash: &empty, Contested: &no, UpdatedAt: now}
		s, err := m.settings(ctx) // the project name, for the mail
		if err != nil {
			return nil, err
		}
		if fx, err = m.inviteMail(MailSetPassword, user.ID, user.Email, "", s.ProjectName, now); err != nil {
			return nil, err
		}
	}
	after, err := m.store.ConsumeToken(ctx, rec, PurposeVerifyEmail, now, cond, ch, fx)
	if err != nil {
		return nil, tokenError(err)
	}
	if fx.Mail != nil {
		m.queued()
	}
	return publicUser(after), nil
}

// liveToken parses a token and checks it against the store before any
// expensive work: known, of the purpose, unused, unexpired, and its user in
// the given status. It returns the token hash and the user. ConsumeToken
// checks all of it again atomically.
func (m *Manager) liveToken(ctx context.Context, token string, purpose TokenPurpose, status Status) ([]byte, *UserRecord, error) {
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
	if user.Status != status {
		return nil, nil, ErrInvalidToken
	}
	return hash, user, nil
}

// tokenError maps a Store error met while handling a token: not found and
// precondition failures are an invalid token.
func tokenError(err error) error {
	switch {
	case isNotFound(err), errors.Is(err, ErrConflict):
		return ErrInvalidToken
	}
	return err
}
