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

// Every instance of the app runs this: the Store and the login limiter
// live in one database, so ten failed logins for an address in any 15
// minutes lock it out on every instance, not ten per instance.
func ExampleNewLimiter() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool)
	if err != nil {
		log.Fatal(err)
	}
	logins, err := pgstore.NewLimiter(ctx, pool, "login", 10, 15*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	m, err := users.New(store, logmailer.New(os.Stderr), users.WithLoginLimiter(logins))
	if err != nil {
		log.Fatal(err)
	}
	_ = m
}
