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
// dump was stored in since is listed again (compared, not read). The
// first Sync of a new index (a rebuild) is one transaction, and reads
// the sidecars in a second goroutine while it records them.
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
	// The host directories to list: those changed since they were last
	// listed, or listed within RacyWindow of their change.
	seen := map[string]bool{}
	var todo []hostDir
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
		todo = append(todo, hostDir{name, mt})
	}
	if b.bulk {
		// Every sidecar is read: in a goroutine, while this one
		// inserts.
		if err := b.applyAll(ctx, x.readAll(ctx, todo), &st); err != nil {
			return st, err
		}
	} else {
		for _, d := range todo {
			if err := b.begin(ctx); err != nil {
				return st, err
			}
			have, err := b.stamps(ctx, d.name)
			if err != nil {
				return st, err
			}
			l := x.readDir(d, have)
			if err := b.apply(ctx, &l, have, &st); err != nil {
				return st, err
			}
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

// hostDir is a host directory to list and its modification time before
// it is listed.
type hostDir struct {
	name  string
	mtime int64
}

// listing is what readDir found in a host directory: the records of the
// sidecars it read (new or changed), the names of all the sidecars it
// found (read or unchanged), how many it could not read or parse, and
// when it began.
type listing struct {
	hostDir
	listedAt int64
	recs     []Record
	present  map[string]bool
	bad      int
	err      error
}

// readDir lists a host directory and reads the sidecars whose stamps
// differ from have (all if nil). It only reads files.
func (x *DB) readDir(d hostDir, have map[string]Stamp) listing {
	l := listing{hostDir: d, listedAt: x.now().UnixNano(), present: map[string]bool{}}
	path := filepath.Join(x.dir, d.name)
	ents, err := os.ReadDir(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.err = err
		return l
	}
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
			l.present[name] = true
			continue
		}
		data, err := os.ReadFile(filepath.Join(path, fn))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				l.bad++
			}
			continue
		}
		var m store.Meta
		if json.Unmarshal(data, &m) != nil {
			l.bad++
			continue
		}
		catalog.Upgrade(path, &m)
		l.present[name] = true
		l.recs = append(l.recs, Record{Entry: catalog.EntryOf(d.name, name, &m), Stamp: stamp})
	}
	return l
}

// readAll runs readDir on each of dirs in a goroutine, sending the
// listings in order; it stops when ctx is done.
func (x *DB) readAll(ctx context.Context, dirs []hostDir) <-chan listing {
	ch := make(chan listing, 16)
	go func() {
		defer close(ch)
		for _, d := range dirs {
			select {
			case ch <- x.readDir(d, nil):
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// applyAll applies the listings of readAll (bulk: nothing recorded
// before); on an error it stops readAll and waits for it.
func (b *batch) applyAll(ctx context.Context, ch <-chan listing, st *SyncStats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		for range ch {
		}
	}()
	for l := range ch {
		if err := b.apply(ctx, &l, nil, st); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// stamps returns the stamps of the records of host directory dir.
func (b *batch) stamps(ctx context.Context, dir string) (map[string]Stamp, error) {
	have := map[string]Stamp{}
	rows, err := b.tx.QueryContext(ctx, `SELECT name, f_size, f_mtime, f_ino FROM dumps WHERE dir = ?`, dir)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var s Stamp
		if err := rows.Scan(&n, &s.Size, &s.Mtime, &s.Ino); err != nil {
			return nil, err
		}
		have[n] = s
	}
	return have, rows.Err()
}

// apply brings the records of one host directory up to date with its
// listing (have: its records' stamps before), with the directory's
// time, in the batch's transaction.
func (b *batch) apply(ctx context.Context, l *listing, have map[string]Stamp, st *SyncStats) error {
	if l.err != nil {
		return l.err
	}
	if err := b.begin(ctx); err != nil {
		return err
	}
	st.Bad += l.bad
	for i := range l.recs {
		if err := b.w.put(ctx, &l.recs[i]); err != nil {
			return err
		}
		st.Read++
		b.n++
	}
	for n := range have {
		if !l.present[n] {
			if err := b.w.remove(ctx, l.name, n); err != nil {
				return err
			}
			st.Removed++
			b.n++
		}
	}
	if _, err := b.w.dir.ExecContext(ctx, l.name, l.mtime, l.listedAt); err != nil {
		return err
	}
	st.Listed++
	return b.maybeCommit(ctx)
}
