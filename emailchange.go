package users

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/gousers/users/store"
)

// RequestEmailChange asks to move an active user's account to the address
// newEmail. Nothing changes yet: sign-in stays on the current address until
// the change is confirmed from the new one.
//
// Three mails go out. The current address gets a notice that names the new
// one partly (n***@example.com) with a link to cancel the change
// (Links.CancelEmailChangePath, under Links.PublicURL) and a password-reset
// link, for an owner who did not ask for it. The new address gets a link
// to confirm the change: confirmURL — which must be on the email-change
// allow-list (Links.EmailChangeURLs; else ErrURLNotAllowed naming
// confirm_url) — or <public URL>/admin/confirm-email
// (Links.ConfirmEmailPath), with token=<token> added. The confirm link
// works once, for Lifetimes.EmailChange (1 hour by default), and only
// while the user is active with the address it had when asking; the
// cancel link works as long and stops at the confirmation. A new request
// revokes the links of the one before.
//
// A malformed newEmail is a *ValidationError, and so is the user's own
// address. An address another user has is answered like a free one — nil,
// the same notice to the current address — so that the answer does not
// tell who has an account; no confirm link is minted and nothing is mailed
// to that address, so that an account holder cannot have this server mail
// other account holders. The change is confirmed or refused only when the
// link is used (ConfirmEmailChange).
//
// The mails count against the mail limit (Limits.Mail) of the current
// address: over it, *RateLimitError and nothing is sent. An unknown id is
// ErrUserNotFound; a user who is not active, ErrInvalidCredentials.
func (m *Manager) RequestEmailChange(ctx context.Context, userID, newEmail, confirmURL string) error {
	if err := m.requestEmailChange(ctx, userID, newEmail, confirmURL); err != nil {
		return opErr("request email change", err)
	}
	return nil
}

func (m *Manager) requestEmailChange(ctx context.Context, userID, newEmail, confirmURL string) error {
	newEmail = strings.TrimSpace(newEmail)
	if err := validateEmail(newEmail); err != nil {
		return err
	}
	if confirmURL != "" && !m.emailChange.Allowed(confirmURL) {
		return urlNotAllowed("confirm_url", confirmURL, "confirm email changes")
	}
	u, err := m.store.GetUser(ctx, userID)
	if err != nil {
		return notFoundAs(err, ErrUserNotFound)
	}
	if u.Status != StatusActive || u.EmailKey == "" {
		return ErrInvalidCredentials
	}
	newKey := NormalizeEmail(newEmail)
	if newKey == u.EmailKey {
		return invalid("email", "is already this account's address")
	}
	denied, err := m.allowMail(ctx, u.EmailKey)
	if err != nil {
		return err
	}
	if denied != nil {
		m.mailHeld(ctx, mailEmailChangeNotice, u.ID)
		return denied
	}
	taken := false
	switch other, err := m.store.GetUserByEmailKey(ctx, newKey); {
	case err == nil && other.ID != u.ID:
		taken = true
	case err != nil && !isNotFound(err):
		return err
	}
	now := m.clock()
	key := u.EmailKey
	cond := store.Condition{Status: StatusActive, EmailKey: &key}
	write := func(id string, fx store.Effects) error {
		// UpdatedAt stays: asking changes nothing about the user.
		_, err := m.store.UpdateUser(ctx, id, cond, store.UserChange{UpdatedAt: u.UpdatedAt}, fx)
		if errors.Is(err, store.ErrConflict) || isNotFound(err) {
			return ErrInvalidCredentials // changed or removed meanwhile
		}
		return err
	}

	// The notice to the current address, with its cancel link, first: a
	// confirm link never goes out without it.
	cancelTok, cancelRec, err := newToken(m.sess.tokenKey, u.ID, key, store.PurposeEmailChangeCancel, now, m.lifetimes.EmailChange)
	if err != nil {
		return err
	}
	cancelRec.NewEmail = newEmail
	cancelLink, err := m.link("", m.links.CancelEmailChangePath, cancelTok)
	if err != nil {
		return err
	}
	resetTok, resetRec, err := newToken(m.sess.tokenKey, u.ID, key, store.PurposePasswordReset, now, m.lifetimes.PasswordReset)
	if err != nil {
		return err
	}
	resetLink, err := m.link("", m.links.ResetPasswordPath, resetTok)
	if err != nil {
		return err
	}
	notice, err := m.newMail(ctx, mailEmailChangeNotice, u.ID, u.Email,
		mailData{Link: cancelLink, ResetLink: resetLink, NewEmail: maskEmail(newEmail)}, now)
	if err != nil {
		return err
	}
	// The earlier request's confirm link goes with the new notice.
	if err := write(u.ID, store.Effects{RevokeTokens: []store.Purpose{store.PurposeEmailChange}, Token: cancelRec, Mail: notice}); err != nil {
		return err
	}
	m.queued()
	if err := write(u.ID, store.Effects{Token: resetRec}); err != nil {
		return err
	}

	confirmTok, confirmRec, err := newToken(m.sess.tokenKey, u.ID, key, store.PurposeEmailChange, now, m.lifetimes.EmailChange)
	if err != nil {
		return err
	}
	confirmRec.NewEmail = newEmail
	confirmLink, err := m.link(confirmURL, m.links.ConfirmEmailPath, confirmTok)
	if err != nil {
		return err
	}
	mail, err := m.newMail(ctx, mailEmailChange, u.ID, newEmail, mailData{Link: confirmLink}, now)
	if err != nil {
		return err
	}
	target := u.ID
	if taken {
		// The same write, aimed at a user that does not exist, which the
		// Store refuses: the work matches a free address's.
		target = uuid.NewString()
		confirmRec.UserID, mail.UserID = target, target
	}
	err = write(target, store.Effects{Token: confirmRec, Mail: mail})
	switch {
	case taken:
		return nil
	case err != nil:
		return err
	}
	m.queued()
	return nil
}

// EmailChange returns what a mailed email-change link stands for, without
// consuming it: the user as it is now and the address the link moves it
// to. purpose is store.PurposeEmailChange (the confirm link mailed to the
// new address) or store.PurposeEmailChangeCancel (the cancel link mailed
// to the current one). The link must be live, as ConfirmEmailChange and
// CancelEmailChange require; otherwise the error matches ErrInvalidToken
// (ErrTokenExpired, ErrTokenUsed). It changes nothing.
func (m *Manager) EmailChange(ctx context.Context, token string, purpose store.Purpose) (u *User, newEmail string, err error) {
	if purpose != store.PurposeEmailChange && purpose != store.PurposeEmailChangeCancel {
		return nil, "", opErr("email change", invalid("purpose", "names no email-change purpose"))
	}
	rec, su, err := m.liveToken(ctx, token, purpose, StatusActive)
	if err != nil {
		return nil, "", opErr("email change", err)
	}
	return publicUser(su), rec.NewEmail, nil
}

// ConfirmEmailChange consumes the token of a confirm link (mailed to the
// new address by RequestEmailChange) and moves its user to the new
// address, in one transaction that also revokes every link mailed to the
// user (the cancel link included) and ends every session of the user. The
// token must be live — known, of the email-change purpose, unused,
// unexpired — and its user still active with the address it had when
// asking; otherwise the error matches ErrInvalidToken (ErrTokenExpired,
// ErrTokenUsed) and nothing changes. When another user has taken the new
// address meanwhile, ErrDuplicateEmail and nothing changes. It returns the
// user as it is afterwards.
func (m *Manager) ConfirmEmailChange(ctx context.Context, token string) (*User, error) {
	u, err := m.confirmEmailChange(ctx, token)
	if err != nil {
		return nil, opErr("confirm email change", err)
	}
	return u, nil
}

func (m *Manager) confirmEmailChange(ctx context.Context, token string) (*User, error) {
	rec, user, err := m.liveToken(ctx, token, store.PurposeEmailChange, StatusActive)
	if err != nil {
		return nil, err
	}
	if err := validateEmail(rec.NewEmail); err != nil {
		return nil, ErrInvalidToken // not one RequestEmailChange minted
	}
	now := m.clock()
	newEmail, newKey := rec.NewEmail, NormalizeEmail(rec.NewEmail)
	ch := store.UserChange{Email: &newEmail, EmailKey: &newKey, UpdatedAt: now}
	after, err := m.store.ConsumeToken(ctx, rec.Hash, store.PurposeEmailChange, now,
		store.Condition{Status: StatusActive, EmailKey: &rec.EmailKey}, ch,
		store.Effects{RevokeTokens: emailChangeRevokes, EndSessions: true,
			Events: m.events(m.event(ctx, flowUpdated, changedView(user, ch), user.ID, now))})
	switch {
	case errors.Is(err, ErrDuplicateEmail):
		return nil, ErrDuplicateEmail
	case err != nil:
		return nil, tokenError(err)
	}
	return publicUser(after), nil
}

// CancelEmailChange consumes the token of a cancel link (mailed to the
// current address by RequestEmailChange): the pending change's confirm
// link stops working, and every session of the user ends — whoever asked
// for a change the owner did not want had a session, or the password (the
// notice's reset link replaces it). The address stays as it is. The token
// must be live and its user still active with that address: once the
// change is confirmed, the cancel link no longer works (ErrInvalidToken);
// otherwise, as ConfirmEmailChange.
func (m *Manager) CancelEmailChange(ctx context.Context, token string) (*User, error) {
	u, err := m.cancelEmailChange(ctx, token)
	if err != nil {
		return nil, opErr("cancel email change", err)
	}
	return u, nil
}

func (m *Manager) cancelEmailChange(ctx context.Context, token string) (*User, error) {
	rec, u, err := m.liveToken(ctx, token, store.PurposeEmailChangeCancel, StatusActive)
	if err != nil {
		return nil, err
	}
	now := m.clock()
	after, err := m.store.ConsumeToken(ctx, rec.Hash, store.PurposeEmailChangeCancel, now,
		store.Condition{Status: StatusActive, EmailKey: &rec.EmailKey},
		store.UserChange{UpdatedAt: u.UpdatedAt},
		store.Effects{RevokeTokens: []store.Purpose{store.PurposeEmailChange}, EndSessions: true})
	if err != nil {
		return nil, tokenError(err)
	}
	return publicUser(after), nil
}

// emailChangeRevokes is what a confirmed email change revokes: every link
// mailed to either address.
var emailChangeRevokes = []store.Purpose{store.PurposeVerifyEmail, store.PurposeInvite, store.PurposePasswordReset,
	store.PurposeEmailChangeCancel}

// maskEmail returns an address with its local part hidden but for its
// first character: "nina@example.com" becomes "n***@example.com". The
// notice RequestEmailChange mails to the current address names the new one
// so.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(strings.TrimSpace(email), "@")
	if !ok || local == "" {
		return "***"
	}
	r := []rune(local)
	return string(r[0]) + "***@" + domain
}
