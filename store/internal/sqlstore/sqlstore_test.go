package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// The backoff grows, is jittered, and stays bounded: [base, 2·base) with a
// base of 1 ms doubling up to 64 ms, so never 128 ms or more.
func TestBackoff(t *testing.T) {
	t.Parallel()
	for attempt := range 10 {
		base := time.Millisecond << min(attempt, 6)
		for range 20 {
			d := sqlstore.Backoff(attempt)
			require.GreaterOrEqual(t, d, base, "attempt %d", attempt)
			require.Less(t, d, 2*base, "attempt %d", attempt)
			require.Less(t, d, 128*time.Millisecond)
		}
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	t.Parallel()
	require.NoError(t, sqlstore.Sleep(t.Context(), time.Microsecond))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, sqlstore.Sleep(ctx, time.Hour), context.Canceled)
}

// The errors a store decided on are sentinels, wrapped or not; a failure of
// the database is not. The token errors other than ErrInvalidToken are
// left out, as every SQL store left them out before they shared the list.
func TestIsSentinel(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		store.ErrNotFound, store.ErrConflict, store.ErrDuplicateEmail, store.ErrDuplicateID,
		store.ErrRoleNotFound, store.ErrPolicyNotFound, store.ErrInvalidToken, store.ErrLastAdmin,
		fmt.Errorf("op: %w", store.ErrConflict),
	} {
		assert.True(t, sqlstore.IsSentinel(err), "%v", err)
	}
	for _, err := range []error{
		nil, errors.New("connection reset"), context.Canceled, sql.ErrNoRows,
		store.ErrTokenUsed, store.ErrTokenExpired, store.ErrTokenReused,
	} {
		assert.False(t, sqlstore.IsSentinel(err), "%v", err)
	}
}

type result int64

func (r result) LastInsertId() (int64, error) { return 0, errors.New("none") }
func (r result) RowsAffected() (int64, error) { return int64(r), nil }

func TestAffected(t *testing.T) {
	t.Parallel()
	n, err := sqlstore.Affected(result(3), nil)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	boom := errors.New("boom")
	n, err = sqlstore.Affected(nil, boom)
	assert.ErrorIs(t, err, boom)
	assert.Zero(t, n)
}

// The change is refused only when it removes the last admin; the question
// is asked again only when there was an admin to lose.
func TestKeepAdmin(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		before, after bool
		asked         int
		want          error
	}{
		{before: true, after: true, asked: 2},
		{before: true, after: false, asked: 2, want: store.ErrLastAdmin},
		{before: false, after: false, asked: 1},
	} {
		asked, changed := 0, false
		exists := func() (bool, error) {
			asked++
			if changed {
				return c.after, nil
			}
			return c.before, nil
		}
		err := sqlstore.KeepAdmin(exists, func() error { changed = true; return nil })
		assert.Equal(t, c.want, err, "%+v", c)
		assert.Equal(t, c.asked, asked, "%+v", c)
	}
	boom := errors.New("boom")
	err := sqlstore.KeepAdmin(func() (bool, error) { return true, nil }, func() error { return boom })
	assert.Equal(t, boom, err, "the change's error as it is")
	err = sqlstore.KeepAdmin(func() (bool, error) { return false, boom }, func() error { t.Error("changed"); return nil })
	assert.Equal(t, boom, err, "no change when the first question fails")
}

func TestFirst(t *testing.T) {
	t.Parallel()
	v, err := sqlstore.First([]string{"a", "b"}, nil)
	assert.NoError(t, err)
	assert.Equal(t, "a", v)
	_, err = sqlstore.First([]string{}, nil)
	assert.ErrorIs(t, err, store.ErrNotFound, "no rows")
	boom := errors.New("boom")
	_, err = sqlstore.First([]string{"a"}, boom)
	assert.Equal(t, boom, err, "the query's error as it is")
}

func TestFound(t *testing.T) {
	t.Parallel()
	assert.NoError(t, sqlstore.Found(1, nil))
	assert.ErrorIs(t, sqlstore.Found(0, nil), store.ErrNotFound, "no row changed")
	boom := errors.New("boom")
	assert.Equal(t, boom, sqlstore.Found(0, boom), "the statement's error as it is")
}

func TestEncodeMetadata(t *testing.T) {
	t.Parallel()
	v, err := sqlstore.EncodeMetadata(nil)
	require.NoError(t, err)
	assert.Nil(t, v, "a nil map is NULL")
	v, err = sqlstore.EncodeMetadata(map[string]any{})
	require.NoError(t, err)
	assert.Equal(t, "{}", v, "an empty map is not NULL")
	v, err = sqlstore.EncodeMetadata(map[string]any{"b": 1, "a": []any{"x"}})
	require.NoError(t, err)
	assert.Equal(t, `{"a":["x"],"b":1}`, v)
	_, err = sqlstore.EncodeMetadata(map[string]any{"f": func() {}})
	assert.ErrorContains(t, err, "metadata: ")
}

func TestLowerPtr(t *testing.T) {
	t.Parallel()
	assert.Nil(t, sqlstore.LowerPtr(nil))
	s := "ÅSA@Example.COM"
	assert.Equal(t, "åsa@example.com", *sqlstore.LowerPtr(&s), "folded beyond ASCII")
	assert.Equal(t, "ÅSA@Example.COM", s, "the original is left as it was")
}

func TestMicros(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	v := sqlstore.Micros(at)
	back := sqlstore.FromMicros(v)
	assert.Equal(t, time.UTC, back.Location())
	assert.True(t, back.Equal(at.Truncate(time.Microsecond)), "%v", back)
	assert.Nil(t, sqlstore.MicrosPtr(nil))
	assert.Equal(t, v, sqlstore.MicrosPtr(&at))
	assert.Nil(t, sqlstore.FromMicrosNull(sql.NullInt64{}))
	assert.Equal(t, back, *sqlstore.FromMicrosNull(sql.NullInt64{Int64: v, Valid: true}))
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	ms, err := sqlstore.Migrations(fstest.MapFS{
		"migrations/0010_later.sql": file("B"),
		"migrations/0002_init.sql":  file("A"),
		"migrations/README":         file("not a migration"),
		"other/0001_elsewhere.sql":  file("C"),
	}, "migrations")
	require.NoError(t, err)
	assert.Equal(t, []sqlstore.Migration{
		{Version: 2, Name: "0002_init", SQL: "A"},
		{Version: 10, Name: "0010_later", SQL: "B"},
	}, ms, "in version order, numerically; the name without .sql")
	assert.Equal(t, 10, sqlstore.Latest(ms))
	assert.Zero(t, sqlstore.Latest(nil))

	for name, fsys := range map[string]fstest.MapFS{
		"no version":   {"migrations/init.sql": file("")},
		"zero":         {"migrations/0000_init.sql": file("")},
		"no separator": {"migrations/0001.sql": file("")},
	} {
		_, err := sqlstore.Migrations(fsys, "migrations")
		assert.ErrorContains(t, err, "name must start with a positive version", name)
	}
	_, err = sqlstore.Migrations(fstest.MapFS{
		"migrations/0001_a.sql": file(""), "migrations/01_b.sql": file(""),
	}, "migrations")
	assert.ErrorContains(t, err, "share a version")
}

// The name is length-prefixed: no two (name, key) pairs hash alike. The
// value is stored: it must not change between releases.
func TestLimiterKey(t *testing.T) {
	t.Parallel()
	a := sqlstore.LimiterKey("login", "1.2.3.4")
	// SHA-256 of 0x05 "login" "1.2.3.4".
	assert.Equal(t, "72feb23f128ff4a58eafe3f4a6ec48676c1fad4c50f42bb7301f089322c3749b", hex.EncodeToString(a))
	assert.Equal(t, a, sqlstore.LimiterKey("login", "1.2.3.4"), "deterministic")
	assert.False(t, bytes.Equal(a, sqlstore.LimiterKey("login1", ".2.3.4")))
	assert.False(t, bytes.Equal(a, sqlstore.LimiterKey("mail", "1.2.3.4")))
}

func TestCheckLimiter(t *testing.T) {
	t.Parallel()
	assert.NoError(t, sqlstore.CheckLimiter("login", 1, time.Nanosecond))
	for _, c := range []struct {
		name   string
		points int
		window time.Duration
	}{
		{"", 1, time.Hour}, {"login", 0, time.Hour}, {"login", 1, 0}, {"login", 1, -time.Second},
	} {
		assert.Error(t, sqlstore.CheckLimiter(c.name, c.points, c.window), "%+v", c)
	}
}
