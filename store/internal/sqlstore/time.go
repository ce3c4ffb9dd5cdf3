package sqlstore

import (
	"database/sql"
	"time"
)

// SQLite and MySQL store times as Unix microseconds in an integer column:
// the precision the contract keeps, and an order the indexes follow.

// Micros is t's column value.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros is the time, in UTC, of a column value.
func FromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// MicrosPtr is the column value of an optional time: NULL (nil) for nil.
func MicrosPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// FromMicrosNull is the optional time of a nullable column value.
func FromMicrosNull(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := FromMicros(v.Int64)
	return &t
}
