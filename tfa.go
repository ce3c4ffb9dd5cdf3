package users

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gousers/users/store"
)

// The rules of two-factor sign-in are in the package doc (doc.go).

const (
	// tfaSetupLifetime is how long a secret drawn by
	// GenerateTwoFactorSecret may be enabled.
	tfaSetupLifetime = 10 * time.Minute
	// recoveryCodeCount is how many recovery codes a user gets.
	recoveryCodeCount = 10
	// recoveryCodeBytes is the randomness of a recovery code (80 bits: 16
	// base32 characters).
	recoveryCodeBytes = 10
	// tfaSkew is how many 30-second steps before and after now a TOTP
	// code may belong to (clock drift, typing time).
	tfaSkew = 1
	// tfaSealVersion prefixes a sealed secret, so that another scheme can
	// follow.
	tfaSealVersion = 1
)

// totpOpts are the parameters of every code: Directus's, and what
// authenticator apps assume.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// GenerateTwoFactorSecret draws a new TOTP secret for the user, who must
// be active, have an email address and no second factor yet, and answers
// it (base32) with its otpauth:// URL, labelled with the project name and
// the user's address, for an authenticator app or a QR code. The password
// is checked as ChangePassword checks the current one
// (ErrInvalidCredentials; limited by Limits.Login). The secret can be
// enabled (EnableTwoFactor) by this user only, within 10 minutes; drawing
// another replaces it. Show the secret to the user only: it is the second
// factor itself.
func (m *Manager) GenerateTwoFactorSecret(ctx context.Context, userID, password string) (secret, otpauthURL string, err error) {
	secret, otpauthURL, err = m.generateTwoFactor(ctx, userID, password)
	if err != nil {
		return "", "", opErr("generate two-factor secret", err)
	}
	return secret, otpauthURL, nil
}

func (m *Manager) generateTwoFactor(ctx context.Context, userID, password string) (string, string, error) {
	if password == "" {
		return "", "", invalid("password", "is required")
	}
	u, err := m.userForTwoFactor(ctx, userID)
	if err != nil {
		return "", "", err
	}
	if u.TwoFactor {
		return "", "", tfaAlreadySet()
	}
	if u.Email == "" {
		return "", "", &ValidationError{Reason: "User must have a valid email to enable TFA", whole: true}
	}
	if err := m.checkPassword(ctx, u, password); err != nil {
		return "", "", err
	}
	s, err := m.settings(ctx)
	if err != nil {
		return "", "", err
	}
	issuer := s.ProjectName
	if issuer == "" {
		issuer = "Directus"
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: u.Email, Period: totpOpts.Period, SecretSize: 20,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm,
	})
	if err != nil {
		return "", "", fmt.Errorf("drawing a secret: %w", err)
	}
	now := m.clock()
	pw := u.PasswordHash
	_, err = m.store.UpdateUser(ctx, u.ID, store.Condition{Status: StatusActive, PasswordHash: &pw},
		store.UserChange{UpdatedAt: u.UpdatedAt}, store.Effects{Token: &store.Token{
			Hash: setupHash(key.Secret()), Purpose: store.PurposeTwoFactorSetup, UserID: u.ID,
			EmailKey: u.EmailKey, CreatedAt: now, ExpiresAt: now.Add(tfaSetupLifetime),
		}})
	switch {
	case errors.Is(err, store.ErrConflict), isNotFound(err):
		return "", "", ErrInvalidCredentials // changed meanwhile
	case err != nil:
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// EnableTwoFactor turns on the second factor for the user with secret,
// which GenerateTwoFactorSecret must have drawn for this same user less
// than 10 minutes before (else a *ValidationError for "secret"), once
// code, a TOTP code of that secret, proves the user's app holds it (else
// a *ValidationError for "otp"; attempts limited as Login's codes). It
// answers the ten recovery codes: show them once; they are kept only
// hashed. A user who already has a second factor, or is not active, is
// refused.
func (m *Manager) EnableTwoFactor(ctx context.Context, userID, secret, code string) (recoveryCodes []string, err error) {
	codes, err := m.enableTwoFactor(ctx, userID, secret, code)
	if err != nil {
		return nil, opErr("enable two-factor", err)
	}
	return codes, nil
}

func (m *Manager) enableTwoFactor(ctx context.Context, userID, secret, code string) ([]string, error) {
	secret = strings.TrimSpace(secret)
	code = normalizeCode(code)
	switch {
	case secret == "":
		return nil, invalid("secret", "is required")
	case code == "":
		return nil, invalid("otp", "is required")
	}
	u, err := m.userForTwoFactor(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.TwoFactor {
		return nil, tfaAlreadySet()
	}
	now := m.clock()
	hash := setupHash(secret)
	tok, err := m.store.GetToken(ctx, hash)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if err != nil || tok.Purpose != store.PurposeTwoFactorSetup || tok.UserID != u.ID ||
		tok.ConsumedAt != nil || !now.Before(tok.ExpiresAt) {
		return nil, invalid("secret", "was not generated for this user, or has expired: generate a new one")
	}
	if err := m.allowCode(ctx, u.ID); err != nil {
		return nil, err
	}
	step, ok := totpStep(secret, code, now)
	if !ok {
		return nil, invalid("otp", "is invalid")
	}
	if _, err := m.store.ConsumeToken(ctx, hash, store.PurposeTwoFactorSetup, now,
		store.Condition{Status: StatusActive}, store.UserChange{UpdatedAt: now}, store.Effects{}); err != nil {
		if errors.Is(err, ErrInvalidToken) || errors.Is(err, store.ErrConflict) {
			return nil, invalid("secret", "was not generated for this user, or has expired: generate a new one")
		}
		return nil, err
	}
	sealed, err := m.sealTOTP(u.ID, secret)
	if err != nil {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	err = m.store.CreateTwoFactor(ctx, u.ID, store.TwoFactorRecord{Secret: sealed, LastStep: step, CreatedAt: now}, hashes)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, tfaAlreadySet()
	case isNotFound(err):
		return nil, ErrUserNotFound
	case err != nil:
		return nil, err
	}
	m.codeSucceeded(ctx, u.ID)
	return codes, nil
}

// DisableTwoFactor turns the user's second factor off, on a valid code
// (a TOTP code or a recovery code; else a *ValidationError for "otp",
// attempts limited as Login's codes). Its recovery codes go with it.
func (m *Manager) DisableTwoFactor(ctx context.Context, userID, code string) error {
	return opErr("disable two-factor", m.disableTwoFactor(ctx, userID, code))
}

func (m *Manager) disableTwoFactor(ctx context.Context, userID, code string) error {
	u, err := m.userWithTwoFactor(ctx, userID, code)
	if err != nil {
		return err
	}
	if err := m.store.DeleteTwoFactor(ctx, u.ID); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// RemoveTwoFactor removes a user's second factor and recovery codes
// without a code: an administrator's action, for a user who lost both
// phone and recovery codes (authorise the caller first; package httpapi
// allows it to administrators only). A user without a second factor is
// not an error; an unknown id is ErrUserNotFound.
func (m *Manager) RemoveTwoFactor(ctx context.Context, userID string) error {
	if !possibleID(userID) {
		return opErr("remove two-factor", ErrUserNotFound)
	}
	if _, err := m.store.GetUser(ctx, userID); err != nil {
		return opErr("remove two-factor", notFoundAs(err, ErrUserNotFound))
	}
	if err := m.store.DeleteTwoFactor(ctx, userID); err != nil && !isNotFound(err) {
		return opErr("remove two-factor", err)
	}
	return nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes with ten new
// ones, on a valid code (as DisableTwoFactor), and answers them: show them
// once.
func (m *Manager) RegenerateRecoveryCodes(ctx context.Context, userID, code string) ([]string, error) {
	u, err := m.userWithTwoFactor(ctx, userID, code)
	if err != nil {
		return nil, opErr("regenerate recovery codes", err)
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, opErr("regenerate recovery codes", err)
	}
	if err := m.store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, opErr("regenerate recovery codes", notFoundAs(err, tfaNotSet()))
	}
	return codes, nil
}

// RecoveryCodesLeft reports how many unused recovery codes the user has:
// 0 without a second factor (User.TwoFactor says which).
func (m *Manager) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if !possibleID(userID) {
		return 0, opErr("recovery codes left", ErrUserNotFound)
	}
	rec, err := m.store.GetTwoFactor(ctx, userID)
	switch {
	case isNotFound(err):
		return 0, nil
	case err != nil:
		return 0, opErr("recovery codes left", err)
	}
	return rec.RecoveryCodes, nil
}

// userForTwoFactor reads the active user userID is.
func (m *Manager) userForTwoFactor(ctx context.Context, userID string) (*store.User, error) {
	if !possibleID(userID) {
		return nil, ErrUserNotFound
	}
	u, err := m.store.GetUser(ctx, userID)
	if err != nil {
		return nil, notFoundAs(err, ErrUserNotFound)
	}
	if u.Status != StatusActive {
		return nil, ErrInvalidCredentials
	}
	return u, nil
}

// userWithTwoFactor reads the active user userID is, which must have a
// second factor, and checks code against it.
func (m *Manager) userWithTwoFactor(ctx context.Context, userID, code string) (*store.User, error) {
	if normalizeCode(code) == "" {
		return nil, invalid("otp", "is required")
	}
	u, err := m.userForTwoFactor(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !u.TwoFactor {
		return nil, tfaNotSet()
	}
	ok, err := m.checkCode(ctx, u, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalid("otp", "is invalid")
	}
	return u, nil
}

// checkPassword checks the password of u, an active user, as
// ChangePassword checks the current one.
func (m *Manager) checkPassword(ctx context.Context, u *store.User, password string) error {
	if u.PasswordHash == "" || len(password) > maxPassBytes {
		return ErrInvalidCredentials
	}
	if m.authLimit != nil && u.EmailKey != "" {
		if _, err := m.authLimit.Allow(ctx, u.EmailKey); err != nil {
			if errors.Is(err, ErrRateLimited) {
				return err
			}
			return fmt.Errorf("login limiter: %w", err)
		}
	}
	ok, err := m.verify(ctx, password, u.PasswordHash)
	if err != nil && (ctx.Err() != nil || errors.Is(err, ErrBusy)) {
		return err
	}
	if err != nil || !ok {
		return ErrInvalidCredentials
	}
	if m.authLimit != nil && u.EmailKey != "" {
		if err := m.authLimit.Reset(ctx, u.EmailKey); err != nil {
			m.log.WarnContext(ctx, "users: login limiter reset failed", "user_id", u.ID, "error", err)
		}
	}
	return nil
}

// checkSecondFactor is Login's second step for u, a user with a second
// factor: ErrInvalidOTP without a code or with one that is not accepted.
func (m *Manager) checkSecondFactor(ctx context.Context, u *store.User, code string) error {
	if normalizeCode(code) == "" {
		return ErrInvalidOTP
	}
	ok, err := m.checkCode(ctx, u, code)
	if err != nil {
		return err
	}
	if !ok {
		return ErrInvalidOTP
	}
	return nil
}

// checkCode reports whether code is a TOTP code of u's secret, of a time
// step later than the last one accepted (which it then becomes), or one
// of u's unused recovery codes (which it then consumes). It counts the
// attempt against u's code limit first (a *RateLimitError over it).
func (m *Manager) checkCode(ctx context.Context, u *store.User, code string) (bool, error) {
	code = normalizeCode(code)
	if err := m.allowCode(ctx, u.ID); err != nil {
		return false, err
	}
	ok, err := m.matchCode(ctx, u.ID, code)
	if err != nil || !ok {
		return false, err
	}
	m.codeSucceeded(ctx, u.ID)
	return true, nil
}

func (m *Manager) matchCode(ctx context.Context, userID, code string) (bool, error) {
	if len(code) == int(totpOpts.Digits) {
		rec, err := m.store.GetTwoFactor(ctx, userID)
		switch {
		case isNotFound(err):
			return false, nil
		case err != nil:
			return false, err
		}
		secret, err := m.openTOTP(userID, rec.Secret)
		if err != nil {
			// The secret changed (WithSecret), or the row was tampered with.
			m.log.ErrorContext(ctx, "users: a stored two-factor secret cannot be opened; was the Manager's secret changed?", "user_id", userID)
			return false, nil
		}
		step, ok := totpStep(secret, code, m.clock())
		if !ok {
			return false, nil
		}
		err = m.store.ClaimTOTPStep(ctx, userID, step)
		switch {
		case errors.Is(err, store.ErrConflict), isNotFound(err):
			return false, nil // already used, or removed meanwhile
		case err != nil:
			return false, err
		}
		return true, nil
	}
	if len(code) != base32.StdEncoding.WithPadding(base32.NoPadding).EncodedLen(recoveryCodeBytes) {
		return false, nil
	}
	err := m.store.ConsumeRecoveryCode(ctx, userID, recoveryHash(code))
	switch {
	case isNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// allowCode counts a code attempt against the user's limit.
func (m *Manager) allowCode(ctx context.Context, userID string) error {
	if m.authLimit == nil {
		return nil
	}
	if _, err := m.authLimit.Allow(ctx, codeLimitKey(userID)); err != nil {
		if errors.Is(err, ErrRateLimited) {
			m.observe(Observation{Kind: KindRateLimited, Limiter: "tfa"})
			return err
		}
		return fmt.Errorf("code limiter: %w", err)
	}
	return nil
}

// codeSucceeded forgets the user's failed code attempts.
func (m *Manager) codeSucceeded(ctx context.Context, userID string) {
	if m.authLimit == nil {
		return
	}
	if err := m.authLimit.Reset(ctx, codeLimitKey(userID)); err != nil {
		m.log.WarnContext(ctx, "users: code limiter reset failed", "user_id", userID, "error", err)
	}
}

// codeLimitKey is the Login limiter's key of a user's code attempts: no
// normalised address has a space in it, so it meets no address's key.
func codeLimitKey(userID string) string { return "tfa " + userID }

// normalizeCode drops the spaces and dashes users type or copy with a
// code, and upper-cases it (recovery codes are base32).
func normalizeCode(code string) string {
	if len(code) > 64 {
		return "x" // no code is that long: refused, without echoing it
	}
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code))
}

// totpStep reports the time step, within tfaSkew steps of now, of which
// code is the TOTP code of secret. Every candidate step is computed and
// compared in constant time.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != int(totpOpts.Digits) {
		return 0, false
	}
	period := int64(totpOpts.Period)
	cur := now.Unix() / period
	var found int64
	ok := 0
	for s := cur - tfaSkew; s <= cur+tfaSkew; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*period, 0), totpOpts)
		if err != nil {
			return 0, false // not base32
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found, ok = s, 1
		}
	}
	return found, ok == 1
}

// setupHash is the token hash under which a secret drawn by
// GenerateTwoFactorSecret waits to be enabled.
func setupHash(secret string) []byte {
	sum := sha256.Sum256([]byte("users tfa setup\x00" + strings.ToUpper(secret)))
	return sum[:]
}

// recoveryHash is the stored form of a normalised recovery code.
func recoveryHash(code string) []byte {
	sum := sha256.Sum256([]byte("users recovery code\x00" + code))
	return sum[:]
}

// newRecoveryCodes draws the recovery codes, formatted for display, and
// their hashes.
func newRecoveryCodes() ([]string, [][]byte, error) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	codes := make([]string, recoveryCodeCount)
	hashes := make([][]byte, recoveryCodeCount)
	for i := range codes {
		var raw [recoveryCodeBytes]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, nil, err
		}
		c := enc.EncodeToString(raw[:])
		hashes[i] = recoveryHash(c)
		codes[i] = c[0:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:16]
	}
	return codes, hashes, nil
}

// tfaAEAD is the cipher that seals TOTP secrets: AES-256-GCM under a key
// derived from the Manager's secret by HKDF-SHA256.
func (m *Manager) tfaAEAD() (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, m.sess.key, nil, "users tfa secret v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealTOTP encrypts a user's TOTP secret, bound to the user's id.
func (m *Manager) sealTOTP(userID, secret string) ([]byte, error) {
	aead, err := m.tfaAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(secret)+aead.Overhead())
	nonce[0] = tfaSealVersion
	if _, err := rand.Read(nonce[1:]); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce[1:], []byte(secret), []byte("users tfa\x00"+userID)), nil
}

// openTOTP decrypts what sealTOTP sealed for the user.
func (m *Manager) openTOTP(userID string, sealed []byte) (string, error) {
	aead, err := m.tfaAEAD()
	if err != nil {
		return "", err
	}
	n := aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != tfaSealVersion {
		return "", errors.New("users: not a sealed secret")
	}
	plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte("users tfa\x00"+userID))
	if err != nil {
		return "", errors.New("users: the sealed secret does not open")
	}
	return string(plain), nil
}

// tfaAlreadySet is Directus's refusal to set up a second factor twice.
func tfaAlreadySet() error {
	return &ValidationError{Field: "tfa_secret", Reason: "TFA Secret is already set for this user", whole: true}
}

// tfaNotSet refuses a code-checked change to a second factor the user
// does not have.
func tfaNotSet() error {
	return &ValidationError{Field: "otp", Reason: "TFA is not enabled for this user", whole: true}
}

// The Store's TwoFactor methods, through storeErr.

func (b backend) CreateTwoFactor(ctx context.Context, userID string, tf store.TwoFactorRecord, codes [][]byte) error {
	return storeErr(b.s.CreateTwoFactor(ctx, userID, tf, codes))
}

func (b backend) GetTwoFactor(ctx context.Context, userID string) (*store.TwoFactorRecord, error) {
	return call(b.s.GetTwoFactor(ctx, userID))
}

func (b backend) DeleteTwoFactor(ctx context.Context, userID string) error {
	return storeErr(b.s.DeleteTwoFactor(ctx, userID))
}

func (b backend) ClaimTOTPStep(ctx context.Context, userID string, step int64) error {
	return storeErr(b.s.ClaimTOTPStep(ctx, userID, step))
}

func (b backend) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	return storeErr(b.s.ConsumeRecoveryCode(ctx, userID, hash))
}

func (b backend) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	return storeErr(b.s.ReplaceRecoveryCodes(ctx, userID, codes))
}
