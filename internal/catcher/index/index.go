// Package index keeps a database of the store's sidecars so that listing
// and grouping many dumps does not read every sidecar per request. The
// sidecars stay the truth: the index is rebuilt from them when it is
// missing, of another schema or unreadable, and Sync brings it up to
// date with the store directory (docs/catcher.md, "The index").
//
// Index is the interface the rest of the catcher uses; DB is the
// implementation on an embedded SQLite file (modernc.org/sqlite: pure
// Go, the binaries stay static).
package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Index is a catalog of the store that can be kept up to date.
type Index interface {
	catalog.Querier
	// Put records dumps whose files are in place (replacing the
	// dumps' earlier records).
	Put(ctx context.Context, recs ...Record) error
	// Sync brings the index up to date with the store directory.
	Sync(ctx context.Context) (SyncStats, error)
	Close() error
}

// Record is a dump's entry and the stamp of its sidecar file when it was
// read, by which Sync sees that the file changed.
type Record struct {
	catalog.Entry
	Stamp Stamp
}

// Stamp identifies a version of a sidecar file: a new version is a new
// file (renamed into place), so its inode or size or time differs.
type Stamp struct {
	Size, Mtime, Ino int64
}

// DefaultPath is where the index of the store in dir lives by default: a
// hidden directory, which no host directory name can be.
func DefaultPath(dir string) string { return filepath.Join(dir, ".index", "catalog.sqlite") }

// DB is an Index in an SQLite file.
type DB struct {
	db  *sql.DB
	dir string // the store directory
	// RacyWindow: a host directory listed less than this after its last
	// change is listed again at the next Sync, in case a file was
	// renamed into it within the same timestamp tick (default 2 s).
	RacyWindow time.Duration
	now        func() time.Time
}

// Open opens (creating it if needed) the index at path of the store in
// dir. An index of another schema version, or a file that is not an
// index, is replaced by an empty one: call Sync to fill it.
func Open(path, dir string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("index: %w (put the index elsewhere with --index)", err)
	}
	x, err := open(path, dir)
	if err != nil {
		// Not a database, or another schema: the sidecars are the
		// truth, start again.
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				return nil, fmt.Errorf("index %s: %v; cannot remove it: %w", path, err, rerr)
			}
		}
		x, err = open(path, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	return x, nil
}

func open(path, dir string) (*DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(OFF)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32768)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	x := &DB{db: db, dir: dir, RacyWindow: 2 * time.Second, now: time.Now}
	if err := x.init(); err != nil {
		db.Close()
		return nil, err
	}
	return x, nil
}

var errSchema = errors.New("index of another schema version")

func (x *DB) init() error {
	ctx := context.Background()
	var v string
	err := x.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
	switch {
	case err == nil && v == strconv.Itoa(schemaVersion):
		return nil
	case err == nil:
		return errSchema
	case !strings.Contains(err.Error(), "no such table"):
		return err
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta VALUES ('schema', ?)`, strconv.Itoa(schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database.
func (x *DB) Close() error { return x.db.Close() }

const dumpCols = `dir, name, host, host_dir, label, boot_id, dump_seq, release, reason, reason_text,
	t, hour, stored_at, complete, total_len, missing_bytes, title, signature, guilty, corrupted, log,
	f_size, f_mtime, f_ino`

// Put implements Index: one transaction for all of recs.
func (x *DB) Put(ctx context.Context, recs ...Record) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	w, err := newWriter(ctx, tx)
	if err != nil {
		return err
	}
	defer w.close()
	for i := range recs {
		if err := w.put(ctx, &recs[i]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// writer holds the prepared statements of one transaction.
type writer struct {
	del, ins *sql.Stmt
	dir      *sql.Stmt // records a host directory's time (Sync)
	// bulk: the table was empty when the transaction began and each
	// record is new, so put deletes nothing first.
	bulk bool
}

func newWriter(ctx context.Context, tx *sql.Tx) (*writer, error) {
	del, err := tx.PrepareContext(ctx, `DELETE FROM dumps WHERE dir = ? AND name = ?`)
	if err != nil {
		return nil, err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO dumps (`+dumpCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		del.Close()
		return nil, err
	}
	dir, err := tx.PrepareContext(ctx, `INSERT INTO hostdirs VALUES (?, ?, ?)
		ON CONFLICT DO UPDATE SET mtime = excluded.mtime, listed_at = excluded.listed_at`)
	if err != nil {
		del.Close()
		ins.Close()
		return nil, err
	}
	return &writer{del: del, ins: ins, dir: dir}, nil
}

func (w *writer) close() {
	w.del.Close()
	w.ins.Close()
	w.dir.Close()
}

func (w *writer) remove(ctx context.Context, dir, name string) error {
	_, err := w.del.ExecContext(ctx, dir, name)
	return err
}

func (w *writer) put(ctx context.Context, r *Record) error {
	if !w.bulk {
		if err := w.remove(ctx, r.Dir, r.Name); err != nil {
			return err
		}
	}
	e := &r.Entry
	_, err := w.ins.ExecContext(ctx, e.Dir, e.Name, e.Host, e.HostDir, e.Label, e.BootID, int64(e.DumpSeq),
		e.Release, e.Reason, e.ReasonText, nsOf(e.When), catalog.HourOf(e.When), nsOf(e.StoredAt),
		e.Complete, int64(e.TotalLen), int64(e.MissingBytes), e.Title, e.Signature, e.Guilty, e.Corrupted, e.Log,
		r.Stamp.Size, r.Stamp.Mtime, r.Stamp.Ino)
	return err
}
