package mysqlstore_test

import (
	"context"
	"database/sql"
	"log"
	"os"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver

	"github.com/gousers/users"
	"github.com/gousers/users/mailer/logmailer"
	"github.com/gousers/users/store/mysqlstore"
)

// Every instance of the app runs this: the Store and the login limiter
// live in one MySQL or MariaDB database, so ten failed logins for an
// address in any 15 minutes lock it out on every instance, not ten per
// instance.
func ExampleNewLimiter() {
	ctx := context.Background()
	db, err := sql.Open("mysql", "app:secret@tcp(db.internal:3306)/app?interpolateParams=true")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := mysqlstore.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	logins, err := mysqlstore.NewLimiter(ctx, db, "login", 10, 15*time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	limits := users.DefaultLimits()
	limits.Login = logins
	m, err := users.New(store, logmailer.New(os.Stderr), limits)
	if err != nil {
		log.Fatal(err)
	}
	_ = m
}
