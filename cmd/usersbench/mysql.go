package main

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"

	"github.com/go-sql-driver/mysql"

	"github.com/gousers/users/store/mysqlstore"
)

// openMySQL creates a fresh database on the -dsn server, named after the
// run, and a Store on it; the database is dropped at close unless -keep.
// The pool is sized as pgxpool sizes the PostgreSQL one by default (one
// connection per CPU, at least 4), so that the stores compare on equal
// pools, sends statements with interpolated parameters (one round trip
// each), lets the store send several at once (multiStatements) and opens
// its sessions at READ COMMITTED, as the store's documentation recommends.
func (d *inproc) openMySQL(ctx context.Context) error {
	cfg, err := mysql.ParseDSN(d.cfg.DSN)
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	cfg.InterpolateParams = true
	cfg.MultiStatements = true
	name := "usersbench_" + d.seq.prefix
	admin := cfg.Clone()
	admin.DBName = ""
	adb, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	d.closers = append(d.closers, adb.Close)
	if _, err := adb.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		return err
	}
	if !d.cfg.Keep {
		d.closers = append(d.closers, func() error {
			_, err := adb.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`")
			return err
		})
	}
	cfg.DBName = name
	// The session at READ COMMITTED, as the store's documentation
	// recommends: its transactions then skip the SET of the level.
	cfg.Params = readCommitted(ctx, adb)
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	if d.counter != nil {
		conn = &countingConnector{next: conn, c: d.counter, rowsf: mysqlRows}
	}
	db := sql.OpenDB(conn)
	n := max(4, runtime.NumCPU())
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	d.closers = append(d.closers, db.Close)
	s, err := mysqlstore.New(ctx, db)
	if err != nil {
		return err
	}
	d.store, d.where = s, "mysql database "+name
	return nil
}

// readCommitted returns the DSN parameter that sets a session's isolation
// level to READ COMMITTED on the server behind db: transaction_isolation
// (MySQL, MariaDB 11.1 and later) or tx_isolation (older MariaDB); nil
// when neither is known.
func readCommitted(ctx context.Context, db *sql.DB) map[string]string {
	for _, v := range []string{"transaction_isolation", "tx_isolation"} {
		var s string
		if db.QueryRowContext(ctx, "SELECT @@SESSION."+v).Scan(&s) == nil {
			return map[string]string{v: "'READ-COMMITTED'"}
		}
	}
	return nil
}
