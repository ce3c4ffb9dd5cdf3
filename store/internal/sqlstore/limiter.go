package sqlstore

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// LimiterKey is the SHA-256 of a limiter's name and a key, the name
// prefixed by its length so that no two (name, key) pairs hash the same
// input: the value under which a limiter stored in the database counts the
// key's events.
func LimiterKey(name, key string) []byte {
	buf := make([]byte, 0, binary.MaxVarintLen64+len(name)+len(key))
	buf = binary.AppendUvarint(buf, uint64(len(name)))
	buf = append(buf, name...)
	buf = append(buf, key...)
	h := sha256.Sum256(buf)
	return h[:]
}

// CheckLimiter returns the error of NewLimiter for a limiter named name
// allowing points events per window, nil when they make a limiter: the
// name must not be empty, points at least 1 and window positive.
func CheckLimiter(name string, points int, window time.Duration) error {
	switch {
	case name == "":
		return errors.New("NewLimiter: empty name")
	case points < 1 || window <= 0:
		return fmt.Errorf("NewLimiter %s: needs points >= 1 and window > 0, not %d and %v", name, points, window)
	}
	return nil
}
