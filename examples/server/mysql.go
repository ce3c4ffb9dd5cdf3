package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/gousers/users"
	"github.com/gousers/users/store"
	"github.com/gousers/users/store/mysqlstore"
)

// mysqlDSN is the go-sql-driver/mysql DSN of the MySQL or MariaDB
// database: DB_CONNECTION_STRING when set — a driver DSN
// (user:password@tcp(host:3306)/dbname) or a mysql:// URL, as Directus
// takes — else one built from DB_HOST, DB_PORT, DB_DATABASE, DB_USER and
// DB_PASSWORD. It always sets interpolateParams=true, which sends each
// statement with its arguments in one round trip. Its errors never quote
// the connection string, which may hold a password.
func (c config) mysqlDSN() (string, error) {
	var mc *mysql.Config
	switch cs := c.DBConnectionString; {
	case strings.HasPrefix(cs, "mysql://"):
		u, err := url.Parse(cs)
		if err != nil || u.Host == "" {
			return "", errors.New("is not a valid mysql:// URL")
		}
		mc = mysql.NewConfig()
		mc.User = u.User.Username()
		mc.Passwd, _ = u.User.Password()
		mc.Net = "tcp"
		mc.Addr = u.Host
		if u.Port() == "" {
			mc.Addr = net.JoinHostPort(u.Hostname(), "3306")
		}
		mc.DBName = strings.TrimPrefix(u.Path, "/")
		if q := u.RawQuery; q != "" {
			// The query takes the driver's DSN parameters.
			parsed, err := mysql.ParseDSN("/" + mc.DBName + "?" + q)
			if err != nil {
				return "", errors.New("has a query the MySQL driver does not take")
			}
			parsed.User, parsed.Passwd, parsed.Net, parsed.Addr = mc.User, mc.Passwd, mc.Net, mc.Addr
			mc = parsed
		}
	case cs != "":
		var err error
		if mc, err = mysql.ParseDSN(cs); err != nil {
			return "", errors.New("is neither a MySQL driver DSN (user:password@tcp(host:3306)/dbname) nor a mysql:// URL")
		}
	default:
		if c.DBHost == "" || c.DBDatabase == "" {
			return "", errors.New("or DB_HOST and DB_DATABASE are required with DB_CLIENT=mysql")
		}
		mc = mysql.NewConfig()
		mc.User, mc.Passwd = c.DBUser, c.DBPassword
		mc.Net = "tcp"
		mc.Addr = net.JoinHostPort(c.DBHost, strconv.Itoa(c.DBPort))
		mc.DBName = c.DBDatabase
	}
	if mc.Net != "tcp" && mc.Net != "unix" {
		return "", errors.New("must connect with tcp(host:port) or unix(/path/to/socket)")
	}
	if mc.DBName == "" {
		return "", errors.New("names no database")
	}
	mc.InterpolateParams = true
	return mc.FormatDSN(), nil
}

// openMySQL opens the MySQL or MariaDB database of cfg and its store, and
// returns the limiter constructor on it.
func openMySQL(ctx context.Context, cfg config) (store.Store, limiterFunc, func(), error) {
	dsn, err := cfg.mysqlDSN()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("DB_CONNECTION_STRING: %w", err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("DB_CLIENT=mysql: %w", err)
	}
	// Connections are cheap to keep and dear to open under load: keep as
	// many idle as may be open, and renew them before a server's
	// wait_timeout (8 h by default) or a proxy's idle cut-off closes them.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxLifetime(30 * time.Minute)
	s, err := mysqlstore.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	newLimiter := func(ctx context.Context, name string, points int, window time.Duration) (users.Limiter, error) {
		return mysqlstore.NewLimiter(ctx, db, name, points, window)
	}
	return s, newLimiter, func() { _ = db.Close() }, nil
}
