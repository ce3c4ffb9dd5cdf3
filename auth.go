package users

import (
	"context"
	"fmt"
	"strings"
)

// Authenticate returns the user with this email and password, only if the
// user is active and has a password that matches. Every failure — unknown
// email, malformed input, wrong password, inactive user, no password — is
// ErrInvalidCredentials, and each takes the same hashing work: a user
// without a usable hash is checked against a dummy hash at the same
// parameters.
func (m *Manager) Authenticate(ctx context.Context, email, password string) (*User, error) {
	u, err := m.authenticate(ctx, email, password)
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
	u, err := m.store.GetUserByEmailKey(ctx, NormalizeEmail(email))
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	stored := m.dummyHash
	if u != nil && u.PasswordHash != "" {
		stored = u.PasswordHash
	}
	ok, err := m.verify(ctx, password, stored)
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	if err != nil || !ok || u == nil || u.PasswordHash == "" || u.Status != StatusActive {
		return nil, ErrInvalidCredentials
	}
	return publicUser(u), nil
}
