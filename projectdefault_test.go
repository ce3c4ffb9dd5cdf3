package users_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
)

// Settings reports WithProjectName's name while the stored settings carry
// none, so a host saving the settings it read (a console form, PATCH
// /settings changing another field) hands that default back. It must not
// be stored as if chosen: the configured name would then never change
// again (PROJECT_NAME edited, the mails still show the old one).
func TestSavingSettingsDoesNotStoreTheDefaultProjectName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memstore.New()
	open := func(name string) *users.Manager {
		m, err := users.New(store, memmailer.New(), users.WithHasher(users.InsecureHasher{}), users.WithProjectName(name))
		require.NoError(t, err)
		return m
	}
	m := open("Acme")
	s, err := m.Settings(ctx)
	require.NoError(t, err)
	require.Equal(t, "Acme", s.ProjectName)
	s.PublicRegistration = true
	saved, err := m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, "Acme", saved.ProjectName, "still reported")

	s, err = open("Acme Corp").Settings(ctx)
	require.NoError(t, err)
	assert.True(t, s.PublicRegistration)
	assert.Equal(t, "Acme Corp", s.ProjectName, "the configured name follows the configuration")

	// A name chosen apart from the configured one is stored, and wins.
	m = open("Acme Corp")
	s.ProjectName = "Chosen"
	_, err = m.UpdateSettings(ctx, s)
	require.NoError(t, err)
	s, err = open("Other").Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Chosen", s.ProjectName)
}
