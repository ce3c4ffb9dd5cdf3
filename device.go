package users

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
)

// Device cookies, after OWASP's "Slow Down Online Guessing Attacks with
// Device Cookies": a successful login hands the client a cookie bound to
// the address it logged in with. A later attempt for that address that
// presents it is "from a known device": it is limited per device
// (WithDeviceLimiter) and skips the per-IP and per-address limits, which
// strangers can exhaust. So after any number of wrong guesses from any
// number of addresses, an owner on a device that logged in before gets in
// at once.
//
// The cookie is base64url(nonce ‖ issued) "." base64url(HMAC-SHA256(key,
// normalised address ‖ nonce ‖ issued)), with a key derived from the
// secret (WithSecret). It holds no address and no user id; it is checked
// against the address being tried, without a Store lookup, before any
// limit is asked. One cookie serves one address: a login with another
// address replaces it.

// DeviceCookieLifetime is how long a device cookie is honoured after the
// login that issued it.
const DeviceCookieLifetime = 365 * 24 * time.Hour

const (
	deviceNonceBytes   = 16
	devicePayloadBytes = deviceNonceBytes + 8
	maxDeviceBytes     = 128
)

// deriveKey derives a purpose-bound key from the secret.
func deriveKey(secret []byte, purpose string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(purpose))
	return h.Sum(nil)
}

func (m *Manager) deviceMAC(key string, payload []byte) []byte {
	h := hmac.New(sha256.New, m.sess.deviceKey)
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)
}

// newDevice issues a device cookie for the address with this key.
func (m *Manager) newDevice(key string, now time.Time) string {
	var p [devicePayloadBytes]byte
	if _, err := rand.Read(p[:deviceNonceBytes]); err != nil {
		return "" // no cookie: the client stays an unknown device
	}
	binary.BigEndian.PutUint64(p[deviceNonceBytes:], uint64(now.Unix()))
	b64 := base64.RawURLEncoding
	return b64.EncodeToString(p[:]) + "." + b64.EncodeToString(m.deviceMAC(key, p[:]))
}

// deviceFor returns the device id (its payload) of a device cookie issued
// for the address with this key and still within its lifetime, else "".
func (m *Manager) deviceFor(cookie, key string, now time.Time) string {
	if cookie == "" || len(cookie) > maxDeviceBytes {
		return ""
	}
	ps, ms, ok := strings.Cut(cookie, ".")
	if !ok {
		return ""
	}
	b64 := base64.RawURLEncoding.Strict()
	p, err1 := b64.DecodeString(ps)
	mac, err2 := b64.DecodeString(ms)
	if err1 != nil || err2 != nil || len(p) != devicePayloadBytes {
		return ""
	}
	if !hmac.Equal(mac, m.deviceMAC(key, p)) {
		return ""
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(p[deviceNonceBytes:])), 0)
	if now.Sub(issued) > DeviceCookieLifetime || issued.After(now.Add(time.Minute)) {
		return ""
	}
	return ps // nonce and issue time: unique per device cookie
}
