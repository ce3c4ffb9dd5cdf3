package sqlitestore

import (
	"context"
	"database/sql"
	"sync"
	"time"
	"weak"

	"github.com/mattn/go-sqlite3"
)

// Checkpoints: a WAL database's commits append pages to the write-ahead
// log, and a checkpoint copies them back into the database file, with an
// fsync of the log before and of the database after (a few milliseconds
// each on an ordinary disk). Left to SQLite, the commit that takes the log
// past wal_autocheckpoint pages (1,000) runs that checkpoint itself,
// before its COMMIT returns, while its writer still holds the Store's
// write lock: every writer queued behind it waits for the copy and both
// fsyncs, once every thousand pages, which is every few dozen
// registrations.
//
// The Store moves that work out of the write path:
//   - Its write transactions run on connections whose automatic
//     checkpoints are off (wal_autocheckpoint=0, set once per connection
//     before its first write).
//   - After commits, a goroutine checkpoints in PASSIVE mode, at most
//     every checkpointEvery: it copies the pages, fsyncs included, while
//     writers go on appending to the log.
//   - A log is only started again from its beginning when every page in it
//     has been copied, and writers that keep appending never let a PASSIVE
//     checkpoint catch up. So once the log holds restartFrames pages, the
//     goroutine takes the write lock and runs a RESTART checkpoint: it
//     copies the pages appended since its last checkpoint (a few), waits
//     for readers still reading the old log (SQLite's busy handler), and
//     starts the log again. That is the only checkpoint work writers wait
//     for: once every restartFrames pages instead of every thousand, and
//     without the copy of the rest.
//
// The log's file therefore grows to about restartFrames pages (32 MiB of
// 4 KiB pages) instead of 4 MiB. Durability is SQLite's own: the modes
// and fsyncs are those of the checkpoints SQLite would have run.
type checkpointer struct {
	kick     chan struct{} // a commit happened; buffered 1
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	// every is the pause between checkpoints; restartFrames the log's
	// size, in pages, at which the log is started again.
	every         time.Duration
	restartFrames int

	mu     sync.Mutex
	tuned  map[weak.Pointer[sqlite3.SQLiteConn]]struct{} // connections without automatic checkpoints
	passes int                                           // PASSIVE checkpoints run
	resets int                                           // RESTART checkpoints run
}

const (
	checkpointEvery = 50 * time.Millisecond
	checkpointIdle  = time.Second
	restartFrames   = 8192
)

// startCheckpointer starts the checkpoint goroutine, pausing every
// between checkpoints and starting the log again at restartFrames pages;
// Close stops it.
func (s *Store) startCheckpointer(every time.Duration, restartFrames int) {
	c := &checkpointer{
		kick:          make(chan struct{}, 1),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
		every:         every,
		restartFrames: restartFrames,
		tuned:         make(map[weak.Pointer[sqlite3.SQLiteConn]]struct{}),
	}
	s.ckpt = c
	go c.run(s)
}

func (c *checkpointer) run(s *Store) {
	defer close(c.done)
	t := time.NewTimer(c.every)
	idle := time.NewTicker(checkpointIdle)
	defer idle.Stop()
	for {
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-c.kick:
		case <-idle.C:
			// Writes on the handle's other users (code beside the Store
			// on a connection the Store has written on) do not kick.
		}
		// Let the commits of the next moment join this checkpoint: each
		// one copies a page once however often the log holds it, and
		// fsyncs twice however many pages it copies.
		t.Reset(c.every)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
		c.checkpoint(s)
	}
}

// checkpoint copies the log into the database and, once the log has grown
// to restartFrames pages, starts it again. Errors are left to the next
// round and to the writers' own reads: a checkpoint that cannot run now
// (another process's checkpoint, a reader in the way) changes nothing.
func (c *checkpointer) checkpoint(s *Store) {
	ctx := context.Background()
	var busy, logged, copied int
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logged, &copied); err != nil {
		return
	}
	c.mu.Lock()
	c.passes++
	c.mu.Unlock()
	if logged < c.restartFrames {
		return
	}
	select {
	case s.wlock <- struct{}{}:
	case <-c.stop:
		return
	}
	defer s.unlock()
	if err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &logged, &copied); err != nil {
		return
	}
	c.mu.Lock()
	c.resets++
	c.mu.Unlock()
}

// committed tells the checkpointer that a commit appended to the log.
func (s *Store) committed() {
	if s.ckpt == nil {
		return
	}
	select {
	case s.ckpt.kick <- struct{}{}:
	default:
	}
}

func (s *Store) stopCheckpointer() {
	if s.ckpt == nil || s.ckpt.stop == nil {
		return
	}
	s.ckpt.stopOnce.Do(func() { close(s.ckpt.stop) })
	<-s.ckpt.done
}

// writeConn returns a connection for a write transaction, with automatic
// checkpoints off when the Store checkpoints in the background.
func (s *Store) writeConn(ctx context.Context) (*sql.Conn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil || s.ckpt == nil {
		return conn, err
	}
	if err := conn.Raw(s.ckpt.tune); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// tune turns a connection's automatic checkpoints off, once per
// connection. It knows go-sqlite3's connections only: a connection of a
// driver wrapping it (a tracer's, a statement counter's) keeps the
// handle's setting, so its commits may still checkpoint past 1,000 pages,
// as without the Store's checkpointer.
func (c *checkpointer) tune(dc any) error {
	sc, ok := dc.(*sqlite3.SQLiteConn)
	if !ok {
		return nil
	}
	key := weak.Make(sc)
	c.mu.Lock()
	_, done := c.tuned[key]
	c.mu.Unlock()
	if done {
		return nil
	}
	if _, err := sc.Exec("PRAGMA wal_autocheckpoint=0", nil); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Forget connections the pool has closed and the collector freed.
	if len(c.tuned) >= 64 {
		for k := range c.tuned {
			if k.Value() == nil {
				delete(c.tuned, k)
			}
		}
	}
	c.tuned[key] = struct{}{}
	return nil
}
