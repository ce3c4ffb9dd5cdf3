package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Authenticate returns the user with this email and password, only if the
// user is active and has a password that matches. Every failure — unknown
// email, malformed input, wrong password, inactive user, no password — is
// ErrInvalidCredentials, and each takes the same hashing work: a user
// without a usable hash is checked against a dummy hash at the same
// parameters.
//
// Before any lookup, every well-formed address — whether or not a user has
// it — counts against the login limiter (WithLoginLimiter): over the
// limit, Authenticate returns a *RateLimitError matching ErrRateLimited
// without hashing. A successful login resets the address's count when the
// limiter is a ResettableLimiter. Under load the hashing limit may answer
// ErrBusy (WithHashConcurrency).
func (m *Manager) Authenticate(ctx context.Context, email, password string) (*User, error) {
	u, err := m.authenticate(ctx, email, password)
	m.observeFlow(FlowLogin, OutcomeAuthenticated, err)
	if err != nil {
		return nil, fmt.Errorf("users: authenticate: %w", err)
	}
	return u, nil
}

func (m *Manager) authenticate(ctx context.Context, email, password string) (*User, error) {
	email = strings.TrimSpace(email)
	if emailProblem(email) != "" || password == "" || len(password) > maxPassBytes {
		// Malformed input cannot name a user; the cost here differs from a
		// real check, but it reveals nothing about any account.
		return nil, ErrInvalidCredentials
	}
	key := NormalizeEmail(email)
	if err := ctx.Err(); err != nil {
		return nil, err // not an attempt: count nothing
	}
	if m.authLimit != nil {
		if _, err := m.authLimit.Allow(ctx, key); err != nil {
			if errors.Is(err, ErrRateLimited) {
				m.observe(Event{Kind: EventRateLimited, Limiter: "login"})
				return nil, err
			}
			return nil, fmt.Errorf("login limiter: %w", err)
		}
	}
	u, err := m.store.GetUserByEmailKey(ctx, key)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	stored := m.dummyHash
	if u != nil && u.PasswordHash != "" {
		stored = u.PasswordHash
	}
	ok, err := m.verify(ctx, password, stored)
	if err != nil && (ctx.Err() != nil || errors.Is(err, ErrBusy)) {
		return nil, err
	}
	if err != nil || !ok || u == nil || u.PasswordHash == "" || u.Status != StatusActive {
		return nil, ErrInvalidCredentials
	}
	if r, ok := m.authLimit.(ResettableLimiter); ok {
		if err := r.Reset(ctx, key); err != nil {
			// The login stands; the address merely keeps its count.
			m.log.WarnContext(ctx, "users: login limiter reset failed", "user_id", u.ID, "error", err)
		}
	}
	return publicUser(u), nil
}
