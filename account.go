package users

import (
	"context"
	"errors"
	"fmt"

	"github.com/gousers/users/store"
)

// ChangePassword sets a user's password, given the current one (a user
// changing their own password; an administrator uses UpdateUser). The
// user must be active with a password, and current must match it (else
// ErrInvalidCredentials; such attempts count against the address's login
// limit, Limits.Login, so a stolen access token cannot be used to
// guess the password faster than a login could). The new password must
// match the password policy (*ValidationError). Every session of the user
// ends, the caller's included: log in again with the new password. A
// password-reset link mailed before stops working.
// ErrUserNotFound for an unknown id.
func (m *Manager) ChangePassword(ctx context.Context, userID, current, newPassword string) (*User, error) {
	u, err := m.changePassword(ctx, userID, current, newPassword)
	if err != nil {
		return nil, opErr("change password", err)
	}
	return u, nil
}

func (m *Manager) changePassword(ctx context.Context, userID, current, newPassword string) (*User, error) {
	u, err := m.store.GetUser(ctx, userID)
	if err != nil {
		return nil, notFoundAs(err, ErrUserNotFound)
	}
	s, err := m.settings(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.checkNewPassword(ctx, s, newPassword); err != nil {
		return nil, err
	}
	if u.Status != StatusActive || u.PasswordHash == "" || current == "" || len(current) > maxPassBytes {
		return nil, ErrInvalidCredentials
	}
	if m.authLimit != nil && u.EmailKey != "" {
		if _, err := m.authLimit.Allow(ctx, u.EmailKey); err != nil {
			if errors.Is(err, ErrRateLimited) {
				return nil, err
			}
			return nil, fmt.Errorf("login limiter: %w", err)
		}
	}
	ok, err := m.verify(ctx, current, u.PasswordHash)
	if err != nil && (ctx.Err() != nil || errors.Is(err, ErrBusy)) {
		return nil, err
	}
	if err != nil || !ok {
		return nil, ErrInvalidCredentials
	}
	hash, err := m.hash(ctx, newPassword)
	if err != nil {
		return nil, err
	}
	old := u.PasswordHash
	now := m.clock()
	after, err := m.store.UpdateUser(ctx, u.ID, store.Condition{Status: StatusActive, PasswordHash: &old},
		store.UserChange{PasswordHash: &hash, UpdatedAt: now}, store.Effects{EndSessions: true, RevokeTokens: passwordPurposes,
			Events: m.events(m.event(ctx, flowPasswordChanged, u, u.ID, now))})
	switch {
	case errors.Is(err, store.ErrConflict), isNotFound(err):
		return nil, ErrInvalidCredentials // changed or removed meanwhile
	case err != nil:
		return nil, err
	}
	if m.authLimit != nil && u.EmailKey != "" {
		if err := m.authLimit.Reset(ctx, u.EmailKey); err != nil {
			m.log.WarnContext(ctx, "users: login limiter reset failed", "user_id", u.ID, "error", err)
		}
	}
	return publicUser(after), nil
}

// checkNewPassword checks a new password — its shape, then the policy —
// under the hashing limit, as newPasswordHash does, without hashing it: a
// policy may backtrack, and its check must not run beside the limit.
func (m *Manager) checkNewPassword(ctx context.Context, s *Settings, pw string) error {
	if err := validatePasswordShape(pw); err != nil {
		return err
	}
	if s.PasswordPolicy == nil {
		return nil
	}
	sl, err := m.acquireHash(ctx)
	if err != nil {
		return err
	}
	if err := m.checkPolicy(s, pw, sl); err != nil {
		return err // checkPolicy released the slot
	}
	sl.release()
	return nil
}

// UserSessions lists the sessions of a user, the most recent first, for a
// page where its owner sees where it is signed in: each with its ID, when
// it started (CreatedAt), when its tokens were last renewed (RefreshedAt:
// a client renews them when its access token, Lifetimes.Access, runs
// out), until when it lasts (ExpiresAt), and the IP and user agent it was
// opened from. Sessions that have ended are not listed. TokenHash is
// always nil. An unknown id lists nothing.
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]*store.Session, error) {
	list, err := m.store.ListSessions(ctx, userID)
	if err != nil {
		return nil, opErr("user sessions", err)
	}
	now := m.clock()
	out := list[:0]
	for _, s := range list {
		if now.Before(s.ExpiresAt) {
			s.TokenHash = nil
			out = append(out, s)
		}
	}
	return out, nil
}

// EndUserSessions ends sessions of a user — its tokens stop working at
// once — and returns how many it ended: the session sessionID when
// others is false (a session of another user, or one that no longer
// exists, is left alone: 0), or every session of the user but sessionID
// when others is true ("sign out everywhere else").
func (m *Manager) EndUserSessions(ctx context.Context, userID, sessionID string, others bool) (int, error) {
	list, err := m.store.ListSessions(ctx, userID)
	if err != nil {
		return 0, opErr("end user sessions", err)
	}
	n := 0
	for _, s := range list {
		if (s.ID == sessionID) == others {
			continue
		}
		switch err := m.store.DeleteSession(ctx, s.ID, m.events(m.event(ctx, flowSignedOut, nil, userID, m.clock()))...); {
		case err == nil:
			n++
		case !isNotFound(err):
			return n, opErr("end user sessions", err)
		}
	}
	return n, nil
}
