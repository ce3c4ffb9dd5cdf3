package users

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/gousers/users/store"
)

// Device cookies, after OWASP's "Slow Down Online Guessing Attacks with
// Device Cookies": a successful login hands the client a cookie bound to
// the address it logged in with and to the password it logged in with. A
// later attempt for that address that presents it is "from a known
// device": it is limited per device (Limits.Device) and skips the
// per-IP and per-address limits, which strangers can exhaust. So after any
// number of wrong guesses from any number of addresses, an owner on a
// device that logged in before gets in at once.
//
// The cookie is base64url(nonce ‖ issued ‖ tag) "." base64url(HMAC-SHA256(
// key, normalised address ‖ nonce ‖ issued ‖ tag)), with a key derived
// from the secret (WithSecret); tag is 8 bytes of an HMAC (under another
// derived key) of the address and the password hash stored when the cookie
// was issued. It holds no address, no user id and nothing readable of the
// hash. The MAC is checked against the address being tried without a
// Store lookup, before any limit is asked; the tag after the lookup,
// before any hashing. One cookie serves one address: a login with another
// address replaces it. After a new password — reset, changed, set by an
// administrator, or rehashed at new parameters — a cookie issued before it
// still skips the limits strangers can exhaust, but counts against one
// device count shared by every such cookie of the address as well as its
// own: whoever collected cookies with the old password (the reason its
// owner changed it) gets one device's guesses in all, not one per cookie.
// A login with the new password issues a current cookie.

const (
	deviceNonceBytes   = 16
	deviceTagBytes     = 8
	devicePayloadBytes = deviceNonceBytes + 8 + deviceTagBytes
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

// deviceTag binds a device cookie to the password hash cred stored for the
// address with this key.
func (m *Manager) deviceTag(key, cred string) []byte {
	h := hmac.New(sha256.New, deriveKey(m.sess.deviceKey, "password tag"))
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(cred))
	return h.Sum(nil)[:deviceTagBytes]
}

// newDevice issues a device cookie for the address with this key and the
// password hash cred stored for it.
func (m *Manager) newDevice(key, cred string, now time.Time) string {
	var p [devicePayloadBytes]byte
	if _, err := rand.Read(p[:deviceNonceBytes]); err != nil {
		return "" // no cookie: the client stays an unknown device
	}
	binary.BigEndian.PutUint64(p[deviceNonceBytes:], uint64(now.Unix()))
	copy(p[deviceNonceBytes+8:], m.deviceTag(key, cred))
	b64 := base64.RawURLEncoding
	return b64.EncodeToString(p[:]) + "." + b64.EncodeToString(m.deviceMAC(key, p[:]))
}

// device is a device cookie whose MAC holds for an address.
type device struct {
	id  string // its payload: nonce, issue time and tag, unique per cookie
	tag []byte
}

// deviceFor returns the device of a device cookie issued for the address
// with this key and still within its lifetime, else nil. Whether it was
// issued under the password stored now is current's to say.
func (m *Manager) deviceFor(cookie, key string, now time.Time) *device {
	if cookie == "" || len(cookie) > maxDeviceBytes {
		return nil
	}
	ps, ms, ok := strings.Cut(cookie, ".")
	if !ok {
		return nil
	}
	b64 := base64.RawURLEncoding.Strict()
	p, err1 := b64.DecodeString(ps)
	mac, err2 := b64.DecodeString(ms)
	if err1 != nil || err2 != nil || len(p) != devicePayloadBytes {
		return nil
	}
	if !hmac.Equal(mac, m.deviceMAC(key, p)) {
		return nil
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(p[deviceNonceBytes:])), 0)
	if now.Sub(issued) > DeviceCookieLifetime || issued.After(now.Add(time.Minute)) {
		return nil
	}
	return &device{id: ps, tag: p[deviceNonceBytes+8:]}
}

// staleDevices is the device-limiter key shared by the cookies of the
// address with this key that were issued under an older password. Device
// ids are base64url, so no device's own key looks like it.
func staleDevices(key string) string { return "stale " + key }

// current reports whether d was issued while u (the user at the address
// with this key, or nil) had the password it has now.
func (m *Manager) current(d *device, key string, u *store.User) bool {
	return u != nil && u.PasswordHash != "" && hmac.Equal(d.tag, m.deviceTag(key, u.PasswordHash))
}
