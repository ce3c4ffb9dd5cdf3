package mysqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/mysqlstore"
)

// A handle whose driver is wrapped by something that hands back only the
// first result of a statement (as some instrumentation wrappers do) gets
// neither the anonymous blocks nor the batches that read several results,
// whatever its DSN: ConsumeToken still consumes a token once, and refuses
// it then.
func TestWrappedDriverWithoutResultSets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := mysql.ParseDSN(newDatabase(t))
	require.NoError(t, err)
	cfg.InterpolateParams, cfg.MultiStatements = true, true
	conn, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(firstResultConnector{conn})
	t.Cleanup(func() { db.Close() })
	s, err := mysqlstore.New(ctx, db)
	require.NoError(t, err)
	assert.False(t, mysqlstore.CompoundStatements(s), "anonymous blocks through a wrapper that hides their results")
	assert.False(t, mysqlstore.MultiStatements(s), "batches that read several results through a wrapper that hides them")

	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &store.User{ID: "u1", Email: "a@example.com", EmailKey: "a@example.com", Status: store.StatusUnverified, CreatedAt: now, UpdatedAt: now}
	hash := make([]byte, 32)
	require.NoError(t, s.CreateUser(ctx, u, store.Effects{Token: &store.Token{Hash: hash, Purpose: store.PurposeVerifyEmail, UserID: "u1",
		EmailKey: "a@example.com", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}))
	active := store.StatusActive
	got, err := s.ConsumeToken(ctx, hash, store.PurposeVerifyEmail, now, store.Condition{Status: store.StatusUnverified},
		store.UserChange{Status: &active, UpdatedAt: now}, store.Effects{})
	require.NoError(t, err)
	assert.Equal(t, store.StatusActive, got.Status)
	_, err = s.ConsumeToken(ctx, hash, store.PurposeVerifyEmail, now, store.Condition{}, store.UserChange{UpdatedAt: now}, store.Effects{})
	assert.ErrorIs(t, err, store.ErrTokenUsed)
}

// firstResultConnector wraps a connector; its connections' rows have no
// further results.
type firstResultConnector struct{ driver.Connector }

// fullConn is what go-sql-driver/mysql's connections implement.
type fullConn interface {
	driver.Conn
	driver.QueryerContext
	driver.ExecerContext
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.NamedValueChecker
}

func (c firstResultConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return firstResultConn{conn.(fullConn)}, nil
}

type firstResultConn struct{ fullConn }

func (c firstResultConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.fullConn.QueryContext(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return firstResultRows{rows}, nil
}

// firstResultRows is driver.Rows without driver.RowsNextResultSet.
type firstResultRows struct{ driver.Rows }
