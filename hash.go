package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Hasher hashes and verifies passwords. Implementations must be safe for
// concurrent use and must never put the password in an error.
type Hasher interface {
	// Hash returns an encoded hash of password, salted.
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded. An encoded string
	// the Hasher cannot read is an error, not a mismatch.
	Verify(password, encoded string) (bool, error)
	// NeedsRehash reports whether encoded should be replaced by a new hash
	// of the same password: it was made with other parameters than the
	// Hasher's own, or by another scheme. After a successful login the
	// Manager hashes the password again when it says so. A Hasher with a
	// single, fixed scheme returns false for its own hashes.
	NeedsRehash(encoded string) bool
}

// Argon2id hashes passwords with argon2id and encodes them as PHC strings
// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, unpadded standard
// base64), the format Directus (and the node argon2 package) writes, so
// hashes imported from Directus verify. Verify reads the parameters from the
// stored string, so hashes made with other parameters verify too.
//
// A zero field takes its default, so Argon2id{} is the default hasher
// (m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte key) and
// Argon2id{Memory: 65536, Time: 3, Threads: 4} hashes as Directus does.
type Argon2id struct {
	Memory  uint32 // KiB, at least 8 × Threads; default 19456 (19 MiB, the OWASP minimum)
	Time    uint32 // iterations; default 2
	Threads uint8  // parallelism; default 1
	SaltLen uint32 // bytes, at least 8; default 16
	KeyLen  uint32 // bytes, at least 16; default 32
}

// params returns a with its zero fields set to their defaults.
func (a Argon2id) params() Argon2id {
	def := func(v *uint32, d uint32) {
		if *v == 0 {
			*v = d
		}
	}
	def(&a.Memory, 19456)
	def(&a.Time, 2)
	if a.Threads == 0 {
		a.Threads = 1
	}
	def(&a.SaltLen, 16)
	def(&a.KeyLen, 32)
	return a
}

// argon2idOf returns h's parameters when h is an Argon2id (or a pointer
// to one).
func argon2idOf(h Hasher) (Argon2id, bool) {
	switch a := h.(type) {
	case Argon2id:
		return a, true
	case *Argon2id:
		if a != nil {
			return *a, true
		}
	}
	return Argon2id{}, false
}

// Limits on stored parameters, so that a crafted hash cannot make Verify
// allocate gigabytes or spin for minutes.
const (
	maxArgonMemory  = 4 << 20 // KiB (4 GiB)
	maxArgonTime    = 1 << 10
	maxArgonKeyLen  = 1 << 10
	maxArgonSaltLen = 1 << 10
)

var errBadHash = errors.New("users: password hash is not a valid argon2id PHC string")

func (a Argon2id) validate() error {
	switch {
	case a.Memory < 8*uint32(a.Threads) || a.Memory > maxArgonMemory:
		return fmt.Errorf("users: argon2id memory %d KiB out of range (8*threads..%d)", a.Memory, maxArgonMemory)
	case a.Time < 1 || a.Time > maxArgonTime:
		return fmt.Errorf("users: argon2id time %d out of range (1..%d)", a.Time, maxArgonTime)
	case a.Threads < 1:
		return errors.New("users: argon2id threads must be at least 1")
	case a.SaltLen < 8 || a.SaltLen > maxArgonSaltLen:
		return fmt.Errorf("users: argon2id salt length %d out of range (8..%d)", a.SaltLen, maxArgonSaltLen)
	case a.KeyLen < 16 || a.KeyLen > maxArgonKeyLen:
		return fmt.Errorf("users: argon2id key length %d out of range (16..%d)", a.KeyLen, maxArgonKeyLen)
	}
	return nil
}

// Hash implements Hasher.
func (a Argon2id) Hash(password string) (string, error) {
	a = a.params()
	if err := a.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, a.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("users: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, a.Time, a.Memory, a.Threads, a.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, a.Memory, a.Time, a.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify implements Hasher. It uses the parameters stored in encoded and
// compares in constant time.
func (a Argon2id) Verify(password, encoded string) (bool, error) {
	p, salt, key, err := decodeArgon2id(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash implements Hasher: it reports whether encoded was made with
// other parameters than a's (memory, time, threads, salt or key length),
// or is not an argon2id hash this package reads.
func (a Argon2id) NeedsRehash(encoded string) bool {
	p, _, _, err := decodeArgon2id(encoded)
	return err != nil || p != a.params()
}

// decodeArgon2id parses `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
func decodeArgon2id(encoded string) (p Argon2id, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, errBadHash
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return p, nil, nil, errBadHash
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, errBadHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errBadHash
		}
	}
	// Directus's encoder may pad; accept both.
	dec := func(s string) ([]byte, error) {
		return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	if salt, err = dec(parts[4]); err != nil {
		return p, nil, nil, errBadHash
	}
	if key, err = dec(parts[5]); err != nil {
		return p, nil, nil, errBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if p.validate() != nil {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
