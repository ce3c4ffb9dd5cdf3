package memstore

import (
	"sync"
	"time"

	"github.com/gousers/users/store"
)

// Store is an in-memory store.Store. The zero value is not usable: call
// New. A Store is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	users    map[string]*store.User  // by ID
	byKey    map[string]string       // EmailKey (not empty) → user ID
	tokens   map[string]*store.Token // by string(Hash)
	roles    map[string]*store.Role
	policies map[string]*store.Policy
	mail     map[string]*store.Mail
	settings []byte               // nil until saved
	tfa      map[string]*tfaState // by user ID

	events     []*store.Event                    // by ID, ascending
	deliveries map[deliveryKey]*store.EventRetry // pending deliveries
	leases     map[deliveryKey]time.Time
	lastEvent  int64

	sessions  map[string]*store.Session // by ID
	current   map[string]string         // string(TokenHash) → session ID
	earlier   map[string]string         // string(an earlier hash) → session ID
	earlierOf map[string][]string       // session ID → its earlier hashes
}

var _ store.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:    make(map[string]*store.User),
		byKey:    make(map[string]string),
		tokens:   make(map[string]*store.Token),
		roles:    make(map[string]*store.Role),
		policies: make(map[string]*store.Policy),
		mail:     make(map[string]*store.Mail),
		tfa:      make(map[string]*tfaState),

		deliveries: make(map[deliveryKey]*store.EventRetry),
		leases:     make(map[deliveryKey]time.Time),

		sessions:  make(map[string]*store.Session),
		current:   make(map[string]string),
		earlier:   make(map[string]string),
		earlierOf: make(map[string][]string),
	}
}

// ---------------------------------------------------------------------------
// Helpers. Those with a Store receiver, here and in the other files,
// expect s.mu held.

// page applies an offset and a limit (0: no limit) to s.
func page[T any](s []T, offset, limit int) []T {
	if offset > 0 {
		s = s[min(offset, len(s)):]
	}
	if limit > 0 && limit < len(s) {
		s = s[:limit]
	}
	return s
}

// norm is how a time is stored: UTC, to the microsecond.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func normPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return new(norm(*t))
}
