package userstest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/userstest"
)

var _ users.Hasher = userstest.Hasher{}

func TestHasher(t *testing.T) {
	t.Parallel()
	h := userstest.Hasher{}
	enc, err := h.Hash("secret")
	require.NoError(t, err)
	assert.NotContains(t, enc, "secret")
	again, err := h.Hash("secret")
	require.NoError(t, err)
	assert.NotEqual(t, enc, again, "salted")
	ok, err := h.Verify("secret", enc)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = h.Verify("secreT", enc)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.False(t, h.NeedsRehash(enc))
	// An argon2id hash (Directus's parameters) is not one of its own.
	const argon = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$9uEW6OvIbyGYvGo8PMmiY1RmwtJ3xMXzsUhhIRfVEWk"
	_, err = h.Verify("secret", argon)
	assert.Error(t, err)
	assert.True(t, h.NeedsRehash(argon))
}
