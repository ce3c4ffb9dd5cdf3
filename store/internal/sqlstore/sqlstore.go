// Package sqlstore holds what this module's SQL stores (sqlitestore,
// pgstore, mysqlstore) do alike whatever their driver: which errors are the
// contract's sentinels, how long to wait before retrying a transaction,
// how times, metadata and lower-cased copies are stored, how the embedded
// migration files are read, and the key under which a limiter counts. It
// imports no driver.
package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gousers/users/store"
)

// sentinels are the store errors a store returns as they are, never
// mistaken for an interrupted statement when the context ends meanwhile.
var sentinels = [...]error{
	store.ErrNotFound, store.ErrConflict, store.ErrDuplicateEmail, store.ErrDuplicateID,
	store.ErrRoleNotFound, store.ErrPolicyNotFound, store.ErrInvalidToken, store.ErrLastAdmin,
}

// IsSentinel reports whether err is, or wraps, one of the store errors a
// store decided on (not found, conflict, duplicates, a missing role or
// policy, an invalid token, the last admin), as opposed to a failure of
// the database or of the connection.
func IsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// Affected is the number of rows that res, the result of an Exec that
// returned err, changed. Pass the Exec's two results as they are:
//
//	n, err := sqlstore.Affected(tx.ExecContext(ctx, query, args...))
func Affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// KeepAdmin runs change and returns store.ErrLastAdmin when an active
// user with admin access existed before it and none does after, as
// adminExists, asked before and after change inside the same transaction,
// sees it: the rule of Condition.KeepAdmin. The caller makes the changes
// made with KeepAdmin take turns (a lock), so that no other change slips
// in between the two questions.
func KeepAdmin(adminExists func() (bool, error), change func() error) error {
	before, err := adminExists()
	if err != nil {
		return err
	}
	if err := change(); err != nil || !before {
		return err
	}
	after, err := adminExists()
	if err != nil {
		return err
	}
	if !after {
		return store.ErrLastAdmin
	}
	return nil
}

// Found is err when the statement failed, else store.ErrNotFound when it
// changed no row (n, the rows it changed, is 0), else nil:
//
//	return sqlstore.Found(sqlstore.Affected(db.ExecContext(ctx, `DELETE …`, id)))
func Found(n int64, err error) error {
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Collect reads every row of rows with scan and closes rows; on an error
// it returns no rows.
func Collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return list, nil
}

// First is the first of list, the rows of a query that returned err;
// store.ErrNotFound when there are none:
//
//	r, err := sqlstore.First(queryRoles(ctx, `WHERE id = ?`, id))
func First[T any](list []T, err error) (T, error) {
	var zero T
	switch {
	case err != nil:
		return zero, err
	case len(list) == 0:
		return zero, store.ErrNotFound
	}
	return list[0], nil
}

// EncodeMetadata is the column value for a user's metadata: its JSON as a
// string, NULL (nil) for a nil map.
func EncodeMetadata(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return string(b), nil
}

// LowerPtr is the lower-cased copy of an optional value, folded as
// strings.ToLower folds it; nil for nil.
func LowerPtr(s *string) *string {
	if s == nil {
		return nil
	}
	l := strings.ToLower(*s)
	return &l
}
