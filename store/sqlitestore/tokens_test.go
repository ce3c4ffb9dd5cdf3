package sqlitestore_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/sqlitestore"
)

// Two *sql.DB handles on one file stand in for two processes: each has its
// own connections and its own Store, so only SQLite's locking stands
// between them. 50 goroutines consume one token; exactly one wins, the
// others see it used, and nobody sees "database is locked". The deferred
// case is a handle an application opened without _txlock=immediate.
func TestConsumeTokenAcrossHandles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, params string }{
		{"Immediate", ""},
		{"Deferred", "?_foreign_keys=on&_busy_timeout=5000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "users.db")
			dsn := sqlitestore.DSN(path)
			if tc.params != "" {
				dsn = "file:" + path + tc.params
			}
			var stores [2]*sqlitestore.Store
			for i := range stores {
				db := openApp(t, dsn)
				db.SetMaxOpenConns(8)
				s, err := sqlitestore.New(db)
				require.NoError(t, err)
				stores[i] = s
			}
			ctx := t.Context()
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			for round := range 5 {
				u := &store.User{ID: fmt.Sprintf("u%d", round), Status: store.StatusInvited, CreatedAt: now, UpdatedAt: now}
				hash := sha256.Sum256([]byte(u.ID))
				tok := &store.Token{Hash: hash[:], Purpose: store.PurposeInvite, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
				require.NoError(t, stores[round%2].CreateUser(ctx, u, store.Effects{Token: tok}))

				const n = 50
				var (
					wg                sync.WaitGroup
					mu                sync.Mutex
					wins, used, other int
					otherErr          error
				)
				for i := range n {
					s := stores[i%2]
					wg.Go(func() {
						got, err := s.ConsumeToken(ctx, hash[:], store.PurposeInvite, now.Add(time.Minute),
							store.Condition{Status: store.StatusInvited},
							store.UserChange{Status: ptr(store.StatusActive), PasswordHash: ptr(fmt.Sprintf("hash-%d", i)), UpdatedAt: now.Add(time.Minute)},
							store.Effects{Mail: &store.Mail{ID: fmt.Sprintf("m-%d-%d", round, i), Kind: "invite", UserID: u.ID, To: "x@example.com", Status: store.MailPending, CreatedAt: now, NextAttemptAt: now}})
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							wins++
							assert.Equal(t, store.StatusActive, got.Status)
						case errors.Is(err, store.ErrTokenUsed):
							used++
						default:
							other++
							otherErr = err
						}
					})
				}
				wg.Wait()
				require.Zero(t, other, "unexpected error: %v", otherErr)
				require.Equal(t, 1, wins)
				require.Equal(t, n-1, used)
				// Exactly one change and one mail were written.
				ms, err := stores[0].ListMail(ctx, store.MailQuery{})
				require.NoError(t, err)
				require.Len(t, ms, round+1)
			}
		})
	}
}
