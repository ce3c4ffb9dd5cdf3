package sqlstore

import (
	"crypto/sha256"
	"encoding/binary"
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
