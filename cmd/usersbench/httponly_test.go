package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users"
	"github.com/gousers/users/httpapi"
	"github.com/gousers/users/mailer/memmailer"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/userstest"
)

// list fills the server up to -list-users users first, then reads pages;
// me reads the caller's own user with an access token. Both succeed on
// the real handler, and neither runs in process.
func TestHTTPOnlyOps(t *testing.T) {
	t.Parallel()
	m, err := users.New(memstore.New(), memmailer.New(), users.WithHasher(userstest.Hasher{}),
		users.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	srv := httptest.NewServer(httpapi.New(m, httpapi.WithAuthorizer(httpapi.BearerToken("admin-token-0123456789"))))
	t.Cleanup(srv.Close)

	cfg, err := parseArgs([]string{"-http", srv.URL, "-admin-token", "admin-token-0123456789", "-ops", "me,list",
		"-list-users", "120", "-c", "2", "-d", "100ms", "-ceiling=false", "-json"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{opList, opMe}, cfg.Ops)
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), cfg, &out, io.Discard))
	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Len(t, rep.Results, 2)
	for _, r := range rep.Results {
		assert.Positive(t, r.OK, r.Op)
		assert.Zero(t, r.Errors, "%s: %v", r.Op, r.ErrKinds)
	}
	n, err := m.CountUsers(t.Context(), users.UserQuery{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 120, "the server was filled to -list-users")
	assert.Less(t, n, 130, "and not beyond (the me phase adds its own few)")

	cfg, err = parseArgs([]string{"-store", "memory", "-ops", "list", "-argon2", "fake", "-ceiling=false"}, io.Discard)
	require.NoError(t, err)
	assert.ErrorContains(t, run(t.Context(), cfg, io.Discard, io.Discard), "list runs over HTTP only")
}
