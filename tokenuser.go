package users

import (
	"context"
	"fmt"

	"github.com/gousers/users/store"
)

// TokenUser returns the user a mailed token belongs to, without consuming
// it, so that a page behind a mailed link can show the address before its
// owner acts (and say at once when the link is no longer good). The token
// must be live for purpose — well formed, known, of that purpose, unused,
// unexpired — and its user in the status the consuming call requires
// (unverified for PurposeVerifyEmail, invited for PurposeInvite, active for
// PurposePasswordReset); otherwise the error matches ErrInvalidToken (and,
// more precisely, ErrTokenExpired or ErrTokenUsed). It changes nothing.
func (m *Manager) TokenUser(ctx context.Context, token string, purpose store.Purpose) (*User, error) {
	var status Status
	switch purpose {
	case store.PurposeVerifyEmail:
		status = StatusUnverified
	case store.PurposeInvite:
		status = StatusInvited
	case store.PurposePasswordReset:
		status = StatusActive
	default:
		return nil, opErr("token user", invalid("purpose", fmt.Sprintf("names no token purpose: %q", purpose)))
	}
	_, u, err := m.liveToken(ctx, token, purpose, status)
	if err != nil {
		return nil, opErr("token user", err)
	}
	return publicUser(u), nil
}
