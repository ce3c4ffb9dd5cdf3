package webui

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The QR code is a PNG in a data: URL, of the otpauth:// URL it was given.
func TestQRDataURL(t *testing.T) {
	u, err := qrDataURL("otpauth://totp/Acme:ann@example.com?issuer=Acme&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	require.NoError(t, err)
	b64, ok := strings.CutPrefix(string(u), "data:image/png;base64,")
	require.True(t, ok, "%.40s", u)
	raw, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, qrSize, img.Bounds().Dx())
	assert.Equal(t, qrSize, img.Bounds().Dy())

	_, err = qrDataURL("https://not-an-otpauth-url.example/")
	assert.Error(t, err)
}
