package users_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
)

// Vectors from the reference argon2 CLI (Debian package argon2):
//
//	echo -n "correct horse" | argon2 saltsaltsalt1234 -id -t 3 -m 16 -p 4 -l 32 -e
//	echo -n "hunter2" | argon2 0123456789abcdef -id -t 2 -k 19456 -p 1 -l 32 -e
const (
	directusParamsVector = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0MTIzNA$N5hNRChmGdpFBmnQAZMTMuuLfNzBVs2SsLUL0/4Qk+w"
	defaultParamsVector  = "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$nUxirfVK2I/vOT6f2ly2wSgjwZ1oqwTLCmrcpDyjicA"
)

func TestArgon2idVerifiesReferenceVectors(t *testing.T) {
	t.Parallel()
	h := &users.Argon2id{}
	ok, err := h.Verify("correct horse", directusParamsVector)
	require.NoError(t, err)
	assert.True(t, ok, "a hash made with Directus's parameters verifies")
	ok, err = h.Verify("correct horsf", directusParamsVector)
	require.NoError(t, err)
	assert.False(t, ok)

	ok, err = h.Verify("hunter2", defaultParamsVector)
	require.NoError(t, err)
	assert.True(t, ok)
	// Padded base64 (some encoders write it) verifies too, in the salt
	// (16 bytes: two '=') and in the hash (32 bytes: one '=').
	paddedSalt := strings.Replace(defaultParamsVector, "$MDEyMzQ1Njc4OWFiY2RlZg$", "$MDEyMzQ1Njc4OWFiY2RlZg==$", 1)
	require.NotEqual(t, defaultParamsVector, paddedSalt)
	for name, enc := range map[string]string{"salt": paddedSalt, "hash": defaultParamsVector + "=", "both": paddedSalt + "="} {
		ok, err = h.Verify("hunter2", enc)
		require.NoError(t, err, "padded %s", name)
		assert.True(t, ok, "padded %s", name)
		ok, err = h.Verify("hunter3", enc)
		require.NoError(t, err, "padded %s", name)
		assert.False(t, ok, "padded %s, wrong password", name)
	}
}

func TestArgon2idHashFormat(t *testing.T) {
	t.Parallel()
	h := &users.Argon2id{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	enc, err := h.Hash("pw")
	require.NoError(t, err)
	assert.Regexp(t, `^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, enc)
	enc2, err := h.Hash("pw")
	require.NoError(t, err)
	assert.NotEqual(t, enc, enc2, "salted")
	ok, err := users.Argon2id{}.Verify("pw", enc)
	require.NoError(t, err)
	assert.True(t, ok, "Verify reads the parameters from the string, not from the hasher")
}

func TestArgon2idRejectsMalformedAndHostileHashes(t *testing.T) {
	t.Parallel()
	h := &users.Argon2id{}
	for _, enc := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // 95 GiB: refused, not allocated
		"$argon2id$v=19$m=64,t=99999,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$short",
	} {
		ok, err := h.Verify("pw", enc)
		assert.Error(t, err, enc)
		assert.False(t, ok, enc)
		if err != nil {
			assert.NotContains(t, err.Error(), "pw")
		}
	}
}

func TestArgon2idParameterValidation(t *testing.T) {
	t.Parallel()
	_, err := users.New(nopStore{}, nopMailer{}, users.WithHasher(&users.Argon2id{Memory: 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	require.Error(t, err)
	_, err = users.New(nopStore{}, nopMailer{}, users.WithHasher(users.Argon2id{Memory: 64, Threads: 16}))
	require.ErrorContains(t, err, "users: WithHasher: argon2id memory 64 KiB out of range")
	_, err = users.New(nopStore{}, nopMailer{}, users.WithHasher(users.Argon2id{SaltLen: 4}))
	require.ErrorContains(t, err, "users: WithHasher: argon2id salt length 4")
}

// A zero field takes its default: Argon2id{} hashes at m=19456, t=2, p=1
// with a 16-byte salt and a 32-byte key, and the same parameters spelt
// out need no rehash of its hashes; other parameters do.
func TestArgon2idZeroFieldsAreDefaults(t *testing.T) {
	t.Parallel()
	enc, err := users.Argon2id{}.Hash("pw")
	require.NoError(t, err)
	assert.Regexp(t, `^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, enc)
	assert.False(t, users.Argon2id{}.NeedsRehash(enc))
	assert.False(t, (&users.Argon2id{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}).NeedsRehash(enc))
	assert.True(t, users.Argon2id{Time: 3}.NeedsRehash(enc))
	assert.True(t, users.Argon2id{}.NeedsRehash("$insecure-sha256$x$y"))
}

// nopStore and nopMailer satisfy the interfaces for tests of New that fail
// before any store or mail work.
type nopStore struct{ store.Store }

type nopMailer struct{ users.Mailer }
