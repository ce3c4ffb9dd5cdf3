package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
)

// walMeter counts the pages a SQLite store writes: its connections run
// with wal_autocheckpoint off, so every page a commit writes stays in
// the write-ahead log as one frame until the next reset.
type walMeter struct {
	db   *sql.DB
	path string // the -wal file
	// pin holds a read transaction from reset to read: a reader of the
	// database as it was before the log's first frame stops every
	// checkpoint (the Store's own, in the background, included) from
	// copying frames, so no writer can start the log again meanwhile.
	pin *sql.Conn
}

// walCount is what the log held after a flow's operations.
type walCount struct {
	Frames  int `json:"frames"`
	Commits int `json:"commits"`
	// Pages maps a page number to the frames that wrote it.
	Pages map[uint32]int `json:"-"`
}

// reset checkpoints the whole log into the database and truncates it.
func (m *walMeter) reset(ctx context.Context) error {
	// The Store's own checkpoint may be running: SQLite answers busy at
	// once then, without its busy handler.
	var busy, logged, done int
	for try := 0; try < 100; try++ {
		if err := m.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &done); err != nil {
			return fmt.Errorf("wal checkpoint: %w", err)
		}
		if busy == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if busy != 0 {
		return errors.New("wal checkpoint: a reader or writer held the log: the page count would be wrong")
	}
	pin, err := m.db.Conn(ctx)
	if err != nil {
		return err
	}
	var n int
	if _, err := pin.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		pin.Close()
		return err
	}
	if err := pin.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		_, _ = pin.ExecContext(ctx, "ROLLBACK")
		pin.Close()
		return err
	}
	m.pin = pin
	return nil
}

// unpin ends reset's read transaction.
func (m *walMeter) unpin() error {
	if m.pin == nil {
		return nil
	}
	_, err := m.pin.ExecContext(context.Background(), "ROLLBACK")
	m.pin.Close()
	m.pin = nil
	return err
}

// read parses the log's frames: the ones of the log's current salt, which
// after a reset are all the frames written since.
func (m *walMeter) read() (walCount, error) {
	defer m.unpin()
	b, err := os.ReadFile(m.path)
	if err != nil {
		return walCount{}, err
	}
	wc := walCount{Pages: map[uint32]int{}}
	if len(b) == 0 {
		return wc, nil
	}
	if len(b) < 32 {
		return walCount{}, fmt.Errorf("%s: %d bytes, shorter than a log header", m.path, len(b))
	}
	be := binary.BigEndian
	if magic := be.Uint32(b); magic&^1 != 0x377f0682 {
		return walCount{}, fmt.Errorf("%s: not a write-ahead log (magic %#x)", m.path, magic)
	}
	pageSize := int(be.Uint32(b[8:]))
	if pageSize == 1 {
		pageSize = 65536
	}
	salt1, salt2 := be.Uint32(b[16:]), be.Uint32(b[20:])
	for off := 32; off+24+pageSize <= len(b); off += 24 + pageSize {
		h := b[off : off+24]
		if be.Uint32(h[8:]) != salt1 || be.Uint32(h[12:]) != salt2 {
			break
		}
		wc.Frames++
		wc.Pages[be.Uint32(h)]++
		if be.Uint32(h[4:]) != 0 {
			wc.Commits++
		}
	}
	return wc, nil
}

// dumpWAL copies the database and its log to dir as <flow>.db and
// <flow>.db-wal (USERSBENCH_WAL_DUMP), for a page-by-page reading with
// SQLite's dbstat table, which this build's SQLite lacks.
func dumpWAL(m *walMeter, dir, flow string) error {
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(m.path[:len(m.path)-len("-wal")] + suffix)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dir+"/"+flow+".db"+suffix, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
