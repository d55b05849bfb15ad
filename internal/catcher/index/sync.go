package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/store"
)

// SyncStats says what a Sync did.
type SyncStats struct {
	HostDirs int // host directories in the store
	Listed   int // of them, listed because they changed since the last Sync
	Read     int // sidecars read (new or changed)
	Removed  int // records of sidecars that are gone
	Bad      int // sidecars that could not be read or parsed (skipped)
}

// StampOf returns the stamp of a file.
func StampOf(fi fs.FileInfo) Stamp {
	s := Stamp{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Ino = int64(st.Ino)
	}
	return s
}

// RecordOf returns the record of the dump whose sidecar m was just
// written to metaPath, stamped with the file as it is now.
func RecordOf(m *store.Meta, metaPath string) (Record, error) {
	fi, err := os.Stat(metaPath)
	if err != nil {
		return Record{}, err
	}
	dir := filepath.Base(filepath.Dir(metaPath))
	name := strings.TrimSuffix(filepath.Base(metaPath), ".json")
	return Record{Entry: catalog.EntryOf(dir, name, m), Stamp: StampOf(fi)}, nil
}

type hostState struct{ mtime, listedAt int64 }

// Sync implements Index. It lists only the host directories whose
// modification time differs from the one recorded when it last listed
// them (a rename into a directory changes its time), or that it listed
// within RacyWindow of their time; in those it reads only the sidecars
// whose stamp (size, time, inode) differs from their record, and drops
// the records of sidecars that are gone. A directory's time is taken
// before it is listed, so a file renamed into it meanwhile makes the
// next Sync list it again; its time is recorded in the transaction that
// records its sidecars, so a crash never leaves a directory marked
// listed without its records. The records Put wrote are kept unless their
// file changed; Put does not record directory times, so a directory a
// dump was stored in since is listed again (compared, not read).
func (x *DB) Sync(ctx context.Context) (SyncStats, error) {
	var st SyncStats
	hosts, err := os.ReadDir(x.dir)
	if err != nil {
		return st, err
	}
	known := map[string]hostState{}
	rows, err := x.db.QueryContext(ctx, `SELECT dir, mtime, listed_at FROM hostdirs`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var d string
		var h hostState
		if err := rows.Scan(&d, &h.mtime, &h.listedAt); err != nil {
			rows.Close()
			return st, err
		}
		known[d] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	b := &batch{x: x}
	defer b.abort()
	if len(known) == 0 {
		// A new index: one transaction, without the triggers and the
		// dumps' indexes, each created again (and the aggregates
		// computed) at the end.
		var n int
		if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM dumps`).Scan(&n); err != nil {
			return st, err
		}
		if n == 0 {
			if err := b.begin(ctx); err != nil {
				return st, err
			}
			if _, err := b.tx.ExecContext(ctx, dropTriggers+dropDumpIndexes); err != nil {
				return st, err
			}
			b.bulk, b.w.bulk = true, true
		}
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		name := h.Name()
		if !h.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		st.HostDirs++
		seen[name] = true
		fi, err := os.Stat(filepath.Join(x.dir, name))
		if err != nil {
			continue // gone meanwhile
		}
		mt := fi.ModTime().UnixNano()
		if k, ok := known[name]; ok && k.mtime == mt && k.listedAt-mt >= int64(x.RacyWindow) {
			continue
		}
		listedAt := x.now().UnixNano()
		if err := b.syncDir(ctx, name, &st); err != nil {
			return st, err
		}
		st.Listed++
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO hostdirs VALUES (?, ?, ?)
			ON CONFLICT DO UPDATE SET mtime = excluded.mtime, listed_at = excluded.listed_at`, name, mt, listedAt); err != nil {
			return st, err
		}
		if err := b.maybeCommit(ctx); err != nil {
			return st, err
		}
	}
	if err := b.begin(ctx); err != nil {
		return st, err
	}
	// Host directories that are gone.
	rows, err = b.tx.QueryContext(ctx, `SELECT DISTINCT dir FROM dumps UNION SELECT dir FROM hostdirs`)
	if err != nil {
		return st, err
	}
	var gone []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return st, err
		}
		if !seen[d] {
			gone = append(gone, d)
		}
	}
	rows.Close()
	for _, d := range gone {
		res, err := b.tx.ExecContext(ctx, `DELETE FROM dumps WHERE dir = ?`, d)
		if err != nil {
			return st, err
		}
		n, _ := res.RowsAffected()
		st.Removed += int(n)
		if _, err := b.tx.ExecContext(ctx, `DELETE FROM hostdirs WHERE dir = ?`, d); err != nil {
			return st, err
		}
	}
	if b.bulk {
		if _, err := b.tx.ExecContext(ctx, dumpIndexes+aggregateSQL+triggers); err != nil {
			return st, err
		}
	}
	return st, b.commit()
}

// syncBatch is about how many sidecars one transaction of a Sync records.
const syncBatch = 2000

// batch is a Sync's current transaction.
type batch struct {
	x  *DB
	tx *sql.Tx
	w  *writer
	n  int // records written in tx
	// bulk: the first Sync of a new index, one transaction without the
	// triggers.
	bulk bool
}

func (b *batch) begin(ctx context.Context) error {
	if b.tx != nil {
		return nil
	}
	tx, err := b.x.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	w, err := newWriter(ctx, tx)
	if err != nil {
		tx.Rollback()
		return err
	}
	b.tx, b.w, b.n = tx, w, 0
	return nil
}

func (b *batch) commit() error {
	if b.tx == nil {
		return nil
	}
	b.w.close()
	err := b.tx.Commit()
	b.tx, b.w = nil, nil
	return err
}

func (b *batch) maybeCommit(ctx context.Context) error {
	if b.n < syncBatch || b.bulk {
		return nil
	}
	return b.commit()
}

func (b *batch) abort() {
	if b.tx != nil {
		b.w.close()
		b.tx.Rollback()
		b.tx, b.w = nil, nil
	}
}

// syncDir brings the records of one host directory up to date, in the
// batch's transaction.
func (b *batch) syncDir(ctx context.Context, dir string, st *SyncStats) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	ents, err := os.ReadDir(filepath.Join(b.x.dir, dir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	have := map[string]Stamp{}
	if !b.bulk { // else none
		rows, err := b.tx.QueryContext(ctx, `SELECT name, f_size, f_mtime, f_ino FROM dumps WHERE dir = ?`, dir)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			var s Stamp
			if err := rows.Scan(&n, &s.Size, &s.Mtime, &s.Ino); err != nil {
				rows.Close()
				return err
			}
			have[n] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	present := map[string]bool{}
	for _, e := range ents {
		fn := e.Name()
		if !strings.HasSuffix(fn, ".json") || strings.HasPrefix(fn, ".") || !e.Type().IsRegular() {
			continue
		}
		name := strings.TrimSuffix(fn, ".json")
		fi, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		stamp := StampOf(fi)
		if old, ok := have[name]; ok && old == stamp {
			present[name] = true
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.x.dir, dir, fn))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				st.Bad++
			}
			continue
		}
		var m store.Meta
		if json.Unmarshal(data, &m) != nil {
			st.Bad++
			continue
		}
		catalog.Upgrade(filepath.Join(b.x.dir, dir), &m)
		present[name] = true
		st.Read++
		r := Record{Entry: catalog.EntryOf(dir, name, &m), Stamp: stamp}
		if err := b.w.put(ctx, &r); err != nil {
			return err
		}
		b.n++
	}
	for n := range have {
		if !present[n] {
			if err := b.w.remove(ctx, dir, n); err != nil {
				return err
			}
			st.Removed++
			b.n++
		}
	}
	return nil
}
