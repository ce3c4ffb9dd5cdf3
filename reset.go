package users

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gousers/users/store"
)

// RequestPasswordReset mails a password-reset link to the address when it
// belongs to an active user. The link is resetURL — which must be on the
// password-reset allow-list (Links.PasswordResetURLs, Directus's
// PASSWORD_RESET_URL_ALLOW_LIST; else ErrURLNotAllowed naming reset_url) —
// or <public URL>/admin/reset-password (Links.ResetPasswordPath), with
// token=<token> added to its query. The token works once, for
// Lifetimes.PasswordReset (1 hour by default), and only
// while the user is active with the same address; a new request revokes
// the earlier link.
//
// A malformed email is a *ValidationError. A client IP over its request
// limit (Limits.ResetRequestIP; the IP of ctx's RequestInfo) gets a
// *RateLimitError, whatever the address. Otherwise RequestPasswordReset
// answers nil whether or not the address has an active account, and does
// the same work either way: one lookup, one call to the mail limiter
// (Limits.Mail), one token minted and one mail rendered, and one write
// transaction attempted — for an address without an active account, the
// same conditional write aimed at a user that does not exist, which the
// Store refuses. Mail is written to the outbox and sent by the worker,
// never on the request path. Over the mail limit, no token is minted and
// no mail queued (the last link stays valid), and the answer is still nil.
// The write is committed on one path and refused on the other, which a
// database tells apart by a fraction of a millisecond: every call is
// therefore padded to Limits.RequestStall (250 ms by default).
func (m *Manager) RequestPasswordReset(ctx context.Context, email, resetURL string) error {
	defer m.padTo(ctx, time.Now())
	if err := m.requestReset(ctx, email, resetURL); err != nil {
		return opErr("request password reset", err)
	}
	return nil
}

func (m *Manager) requestReset(ctx context.Context, email, resetURL string) error {
	email = strings.TrimSpace(email)
	if err := validateEmail(email); err != nil {
		return err
	}
	if resetURL != "" && !m.sess.reset.Allowed(resetURL) {
		return urlNotAllowed("reset_url", resetURL, "reset passwords")
	}
	if ip := requestFrom(ctx).IP; ip != "" {
		// Per client, whatever the address: a refusal tells nothing.
		denied, err := m.askLimiter(ctx, m.resetLimit, gateClientOf(ip), "reset request limiter", "reset_request_ip")
		if err != nil {
			return err
		}
		if denied != nil {
			return denied
		}
	}
	key := NormalizeEmail(email)
	now := m.clock()
	u, err := m.store.GetUserByEmailKey(ctx, key)
	if err != nil && !isNotFound(err) {
		return err
	}
	// A user that does not exist stands in when the address has no active
	// account, so that the work below is the same on every path.
	active := u != nil && u.Status == StatusActive
	target := &store.User{ID: uuid.NewString(), Email: email, UpdatedAt: now}
	if active {
		target = u
	}
	denied, err := m.allowMail(ctx, key)
	if err != nil {
		return err
	}
	fx, err := m.resetMail(ctx, target.ID, target.Email, key, resetURL, now)
	if err != nil {
		return err
	}
	if denied != nil {
		if active {
			m.mailHeld(ctx, mailPasswordReset, target.ID)
		}
		fx = store.Effects{} // keep the link already sent
	}
	// UpdatedAt stays: asking for a link changes nothing about the user.
	_, err = m.store.UpdateUser(ctx, target.ID, store.Condition{Status: StatusActive, EmailKey: &key},
		store.UserChange{UpdatedAt: target.UpdatedAt}, fx)
	switch {
	case err == nil:
		if fx.Mail != nil {
			m.queued()
		}
		return nil
	case errors.Is(err, store.ErrConflict), isNotFound(err):
		return nil
	default:
		return err
	}
}

// resetMail mints a password-reset token bound to the address and renders
// its mail.
func (m *Manager) resetMail(ctx context.Context, userID, to, key, base string, now time.Time) (store.Effects, error) {
	tok, rec, err := newToken(m.sess.tokenKey, userID, key, store.PurposePasswordReset, now, m.lifetimes.PasswordReset)
	if err != nil {
		return store.Effects{}, err
	}
	rec.EmailKey = key
	link, err := m.link(base, m.links.ResetPasswordPath, tok)
	if err != nil {
		return store.Effects{}, err
	}
	mail, err := m.newMail(ctx, mailPasswordReset, userID, to, mailData{Link: link}, now)
	if err != nil {
		return store.Effects{}, err
	}
	return store.Effects{Token: rec, Mail: mail}, nil
}

// ResetPassword consumes a password-reset token (from the link
// RequestPasswordReset mailed) and sets the password, in one transaction
// that also ends every session of the user. The token must be live —
// known, of the password-reset purpose, unused, unexpired — and its user
// still active with the address it was mailed to; otherwise the error
// matches ErrInvalidToken (ErrTokenExpired, ErrTokenUsed) and nothing
// changes. The password must be present, at most 1 KiB and match the
// password policy (*ValidationError); the token is checked before the
// password is hashed. Afterwards the address's failed-login count
// (Limits.Login) is cleared, so an owner locked out by strangers'
// guesses gets in with the new password at once.
func (m *Manager) ResetPassword(ctx context.Context, token, password string) (*User, error) {
	u, err := m.resetPassword(ctx, token, password)
	if err != nil {
		return nil, opErr("reset password", err)
	}
	return u, nil
}

func (m *Manager) resetPassword(ctx context.Context, token, password string) (*User, error) {
	hashTok, ok := parseMailedToken(m.sess.tokenKey, token)
	if !ok {
		return nil, ErrInvalidToken
	}
	rec, user, err := m.store.GetTokenUser(ctx, hashTok)
	if err != nil {
		return nil, tokenError(err)
	}
	switch {
	case rec.Purpose != store.PurposePasswordReset:
		return nil, ErrInvalidToken
	case rec.ConsumedAt != nil:
		return nil, ErrTokenUsed
	case !m.clock().Before(rec.ExpiresAt):
		return nil, ErrTokenExpired
	}
	if user.Status != StatusActive || rec.EmailKey == "" || user.EmailKey != rec.EmailKey {
		return nil, ErrInvalidToken
	}
	s, err := m.settings(ctx)
	if err != nil {
		return nil, err
	}
	hash, err := m.newPasswordHash(ctx, s, password)
	if err != nil {
		return nil, err
	}
	now := m.clock()
	key := rec.EmailKey
	after, err := m.store.ConsumeToken(ctx, hashTok, store.PurposePasswordReset, now,
		store.Condition{Status: StatusActive, EmailKey: &key},
		store.UserChange{PasswordHash: &hash, UpdatedAt: now},
		store.Effects{EndSessions: true, Events: m.events(m.event(ctx, flowPasswordReset, user, user.ID, now))})
	if err != nil {
		return nil, tokenError(err)
	}
	if m.authLimit != nil {
		if err := m.authLimit.Reset(ctx, key); err != nil {
			m.log.WarnContext(ctx, "users: login limiter reset failed", "user_id", after.ID, "error", err)
		}
	}
	return publicUser(after), nil
}

// padTo returns when Limits.RequestStall has passed since start (in real
// time: what an observer measures), or when ctx is done.
func (m *Manager) padTo(ctx context.Context, start time.Time) {
	d := m.stall - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
