package webui

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strings"

	"github.com/pquerna/otp"

	"github.com/gousers/users"
)

// Two-factor sign-in in the console: the user page shows whether a user
// has a second factor and lets an administrator remove it; the sign-in
// form takes a code. Setting one up is the user's own business (the
// account page), which qrDataURL serves.

// qrSize is the side, in pixels, of the QR code of a TOTP secret.
const qrSize = 200

// qrDataURL renders the QR code of an otpauth:// URL (what
// users.Manager.GenerateTwoFactorSecret answers) as a PNG data: URL, for
// an <img src> that needs no script and no request of its own (the
// Content-Security-Policy allows data: images). Show the secret beside it
// as text, for apps that cannot scan.
func qrDataURL(otpauthURL string) (template.URL, error) {
	if !strings.HasPrefix(otpauthURL, "otpauth://") {
		return "", errors.New("webui: not an otpauth:// URL")
	}
	key, err := otp.NewKeyFromURL(otpauthURL)
	if err != nil {
		return "", err
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	// The URL is built here from PNG bytes only: safe to mark as such.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// removeTwoFactor removes a user's second factor and recovery codes (the
// user lost them); the user signs in with the password alone until it
// sets up a new one.
func (h *handler) removeTwoFactor(w http.ResponseWriter, r *http.Request) {
	u, err := h.m.User(r.Context(), r.PathValue("id"))
	if err == nil {
		err = h.m.RemoveTwoFactor(r.Context(), u.ID)
	}
	switch {
	case errors.Is(err, users.ErrUserNotFound):
		h.notFound(w, r)
		return
	case err != nil:
		h.fail(w, r, "message", &page{Title: "User"}, err)
		return
	}
	h.redirect(w, r, h.userURL(r), &flash{Status: []string{"Removed the two-factor sign-in of " + display(u) + "."}})
}
