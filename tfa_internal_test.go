package users

import (
	"context"

	"github.com/gousers/users/store"
)

// The TwoFactor methods of failing (see TestBackendTranslatesEveryMethod).

func (failing) CreateTwoFactor(context.Context, string, store.TwoFactorRecord, [][]byte) error {
	return errFailing
}
func (failing) GetTwoFactor(context.Context, string) (*store.TwoFactorRecord, error) {
	return nil, errFailing
}
func (failing) DeleteTwoFactor(context.Context, string) error                { return errFailing }
func (failing) ClaimTOTPStep(context.Context, string, int64) error           { return errFailing }
func (failing) ConsumeRecoveryCode(context.Context, string, []byte) error    { return errFailing }
func (failing) ReplaceRecoveryCodes(context.Context, string, [][]byte) error { return errFailing }
