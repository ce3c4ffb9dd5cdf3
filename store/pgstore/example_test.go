package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/store/pgstore"
)

// newManager is how every instance of the app builds its Manager: the
// Store and the login limiter live in one database, so ten failed logins
// for an address in any 15 minutes lock it out on every instance, not ten
// per instance.
func newManager(ctx context.Context, pool *pgxpool.Pool) (*users.Manager, error) {
	store, err := pgstore.New(ctx, pool)
	if err != nil {
		return nil, err
	}
	logins, err := pgstore.NewLimiter(ctx, pool, "login", 10, 15*time.Minute)
	if err != nil {
		return nil, err
	}
	limits := users.DefaultLimits()
	limits.Login = logins
	return users.New(store, logmailer.New(os.Stderr), limits)
}

func ExampleNewLimiter() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	m, err := newManager(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	_ = m // serve requests with m
}
