// Package store writes reassembled dumps into the store directory: one
// directory per host, a log file and a JSON sidecar per dump, every file
// written under a temporary name, fsynced and renamed (docs/catcher.md,
// "Where dumps go"). It owns the layout: how host names become directory
// names, how dumps are named, and which stored copy of a dump may replace
// which. The read side is package catalog.
package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/netoops/netoops/internal/catcher/ranges"
)

// Store writes finished dumps under its directory. Its methods are safe
// for concurrent use.
type Store struct {
	Dir  string
	FS   FS
	dirs sync.Map // host directories known to exist

	mu     sync.Mutex
	claims map[string]dumpID // names (paths without extension) reserved to a dump

	// Analyze, if set, is called with each dump's sidecar and its log as
	// it is stored (gap markers in place), before the sidecar is
	// written; it fills the sidecar's crash fields (package triage).
	// log is valid only during the call. It runs on the store workers.
	Analyze func(m *Meta, log []byte)

	logBufs sync.Pool // *[]byte for reading logs back for Analyze
}

// InflightDir holds the temporary files of dumps being received.
func (s *Store) InflightDir() string { return filepath.Join(s.Dir, ".inflight") }

// SpoolSuffix ends the names of spool segments (package spool) in the
// in-flight directory.
const SpoolSuffix = ".spool"

// Init creates the directory and its in-flight area, and removes from the
// latter what a previous run left there but its spool segments: the
// temporary files of dumps in flight cannot be resumed (their byte ranges
// are unknown), the segments can (the reassembly engine replays them).
func (s *Store) Init() error {
	if err := s.FS.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	if err := s.FS.MkdirAll(s.InflightDir(), 0o700); err != nil {
		return err
	}
	names, err := s.FS.ReadDir(s.InflightDir())
	if err != nil {
		return err
	}
	for _, n := range names {
		if !strings.HasSuffix(n, SpoolSuffix) {
			if err := s.FS.RemoveAll(filepath.Join(s.InflightDir(), n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// GapMarker is the line put into a stored log where bytes are missing.
func GapMarker(r ranges.Range) string {
	return fmt.Sprintf("[netoops: %d bytes missing at offset %d]\n", r.Len(), r.Start)
}

// syscallChunk bounds the bytes one write or copy_file_range of a log file
// moves. A system call that runs longer than the runtime's monitor period
// (20 us and up) gets its P handed to another thread, which on a busy core
// costs more thread switches than the extra calls: 32 KiB takes about
// 10 us into the page cache here.
const syscallChunk = 32 << 10

// writeLog copies src (nil if nothing was written) without the missing
// ranges, with gap markers in their place, to a new, fsynced temporary
// file next to path, to be renamed to path by the caller, and returns the
// bytes written.
func (s *Store) writeLog(path string, src io.ReaderAt, total uint32, missing []ranges.Range, buf []byte) (int64, error) {
	tmp := tmpName(path)
	f, err := s.FS.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	var n int64
	fail := func(err error) (int64, error) {
		f.Close()
		s.FS.Remove(tmp)
		return 0, err
	}
	lastNL := true // is the last byte written a newline (or nothing written)?
	emit := func(p []byte) error {
		if len(p) == 0 {
			return nil
		}
		for len(p) > 0 {
			c := min(len(p), syscallChunk)
			w, err := f.Write(p[:c])
			n += int64(w)
			if err != nil {
				return err
			}
			lastNL = p[c-1] == '\n'
			p = p[c:]
		}
		return nil
	}
	var pos uint32
	rc, _ := f.(rangeCopier)
	rg, isRegion := src.(region)
	mem, isMem := src.(memRegion)
	next := func(r ranges.Range) error { // copy present bytes [pos, r.Start)
		if isMem && r.Start > pos {
			if err := emit(mem[pos:r.Start]); err != nil {
				return err
			}
			pos = r.Start
			return nil
		}
		if rc != nil && isRegion && r.Start > pos {
			c, err := rc.CopyRangeFrom(rg.f, int64(pos), int64(r.Start-pos))
			n += c
			pos += uint32(c)
			if err == nil {
				if _, err := src.ReadAt(buf[:1], int64(pos)-1); err != nil {
					return err
				}
				lastNL = buf[0] == '\n'
				return nil
			}
			if c > 0 {
				return err // partly copied: do not mix with a fallback
			}
			rc = nil // not supported here: copy through user space
		}
		for pos < r.Start {
			c := min(uint32(len(buf)), r.Start-pos)
			if _, err := src.ReadAt(buf[:c], int64(pos)); err != nil {
				return err
			}
			if err := emit(buf[:c]); err != nil {
				return err
			}
			pos += c
		}
		return nil
	}
	for _, gap := range missing {
		if err := next(gap); err != nil {
			return fail(err)
		}
		if !lastNL {
			if err := emit([]byte{'\n'}); err != nil {
				return fail(err)
			}
		}
		if err := emit([]byte(GapMarker(gap))); err != nil {
			return fail(err)
		}
		pos = gap.End
	}
	if err := next(ranges.Range{Start: total, End: total}); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		s.FS.Remove(tmp)
		return 0, err
	}
	return n, nil
}

// writeTemp writes data to a new, fsynced temporary file next to path, to
// be renamed to path by the caller.
func (s *Store) writeTemp(path string, data []byte) error {
	tmp := tmpName(path)
	f, err := s.FS.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.FS.Remove(tmp)
	}
	return err
}

// tmpName is a hidden temporary name next to path.
func tmpName(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
}

// LogSource is where a dump's bytes are to be stored from: its memory
// buffer (Mem), or its temporary file (Tmp), which holds the received
// bytes at their log offsets. Moved means an earlier store already renamed
// the temporary file into place as the complete log.
type LogSource struct {
	Mem   []byte
	Tmp   string
	Moved bool
}

// StoreDump writes the log and sidecar of a dump. logPath and metaPath, if
// set, are where an earlier store of the same dump in this run went; the
// earlier copy is replaced. A complete dump's temporary file becomes its
// log (fsync and rename: moved is true once that rename is done);
// otherwise the log is written from src without m.Missing, with gap
// markers. buf is scratch space. It returns the paths written and the
// log's size; ErrSkip if a stored copy of the dump is at least as
// complete. On another error with paths returned, the name stays
// reserved to the dump: store it again with those paths, or Release
// them.
func (s *Store) StoreDump(m *Meta, dumpTime time.Time, src LogSource, buf []byte, logPath, metaPath string) (_, _ string, n int64, moved bool, err error) {
	hostDir := filepath.Join(s.Dir, m.HostDir)
	if _, ok := s.dirs.Load(hostDir); !ok {
		if err := s.FS.MkdirAll(hostDir, 0o755); err != nil {
			return "", "", 0, false, err
		}
		s.dirs.Store(hostDir, true)
	}
	// The earlier paths are used as they are while the dump still holds
	// their name (its last store failed); else the name is chosen again
	// (the same one, unless the files changed meanwhile).
	if logPath == "" || !s.holds(strings.TrimSuffix(metaPath, ".json"), idOf(m)) {
		logPath, metaPath, err = s.choosePaths(hostDir, baseName(dumpTime, m.BootID[:8], m.DumpSeq), m, baseName(dumpTime, m.BootID, m.DumpSeq))
		if err != nil {
			return logPath, metaPath, 0, false, err
		}
	}
	n, moved, err = s.write(m, src, buf, hostDir, logPath, metaPath)
	if err == nil {
		// The sidecar on disk keeps the name from other dumps now.
		s.Release(metaPath)
	}
	return logPath, metaPath, n, moved, err
}

// write writes the log and sidecar of m at logPath and metaPath.
func (s *Store) write(m *Meta, src LogSource, buf []byte, hostDir, logPath, metaPath string) (n int64, moved bool, err error) {
	m.Log = filepath.Base(logPath)
	// Both files are written and fsynced under temporary names first and
	// renamed after, so that a failed write (a full disk) leaves the
	// stored pair as it was, never a new log with an old sidecar.
	logTmp := "" // to rename to logPath
	switch {
	case src.Moved:
		n = int64(m.TotalLen)
	case m.Complete && src.Tmp != "":
		if err := s.syncFile(src.Tmp); err != nil {
			return 0, false, err
		}
		logTmp, n = src.Tmp, int64(m.TotalLen)
	default:
		var r io.ReaderAt // nil: nothing was written
		if src.Mem != nil {
			r = memRegion(src.Mem)
		} else if src.Tmp != "" {
			f, err := s.FS.OpenFile(src.Tmp, os.O_RDONLY, 0)
			if err != nil {
				return 0, false, err
			}
			defer f.Close()
			r = region{f}
		}
		if n, err = s.writeLog(logPath, r, m.TotalLen, m.Missing, buf); err != nil {
			return 0, false, err
		}
		logTmp = tmpName(logPath)
	}
	dropLogTmp := func() {
		if logTmp != "" && logTmp != src.Tmp { // the dump's own file stays for a retry
			s.FS.Remove(logTmp)
		}
	}
	if s.Analyze != nil {
		stored := logPath // src.Moved: the log is in place
		if logTmp != "" {
			stored = logTmp
		}
		if err := s.analyze(m, src, stored, n); err != nil {
			dropLogTmp()
			return 0, false, err
		}
	}
	m.Schema = SchemaVersion
	data := append(m.AppendJSON(buf[:0]), '\n') // buf is free again: the log is written
	if err := s.writeTemp(metaPath, data); err != nil {
		dropLogTmp()
		return 0, false, err
	}
	if logTmp != "" {
		if err := s.FS.Rename(logTmp, logPath); err != nil {
			dropLogTmp()
			s.FS.Remove(tmpName(metaPath))
			return 0, false, err
		}
		moved = logTmp == src.Tmp
	}
	if err := s.FS.Rename(tmpName(metaPath), metaPath); err != nil {
		s.FS.Remove(tmpName(metaPath))
		return 0, moved, err
	}
	if err := s.FS.SyncDir(hostDir); err != nil {
		return 0, moved, err
	}
	return n, moved, nil
}

// maxPooledLog is the largest log buffer kept for reuse.
const maxPooledLog = 2 << 20

// analyze calls Analyze with the stored log: the memory buffer of a
// complete dump as it is, else the n bytes of the file at path (the log
// as written, with its gap markers) read into a reused buffer.
func (s *Store) analyze(m *Meta, src LogSource, path string, n int64) error {
	if src.Mem != nil && len(m.Missing) == 0 && int64(len(src.Mem)) == n {
		s.Analyze(m, src.Mem)
		return nil
	}
	bp, _ := s.logBufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	if int64(cap(*bp)) < n {
		*bp = make([]byte, n)
	}
	b := (*bp)[:n]
	f, err := s.FS.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	k, err := f.ReadAt(b, 0)
	f.Close()
	if err != nil && err != io.EOF {
		return err
	}
	s.Analyze(m, b[:k])
	if cap(b) <= maxPooledLog {
		s.logBufs.Put(bp)
	}
	return nil
}

// syncFile fsyncs the file at path.
func (s *Store) syncFile(path string) error {
	f, err := s.FS.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// region is a dump's bytes in its temporary file, at log offsets.
type region struct{ f File }

func (r region) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }

// memRegion is a dump's bytes in its memory buffer, at log offsets. The
// store reads only ranges the receiver no longer writes.
type memRegion []byte

func (m memRegion) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// rangeCopier is implemented by files that can copy n bytes at offset off
// of src to their current position inside the kernel (copy_file_range).
type rangeCopier interface {
	CopyRangeFrom(src File, off, n int64) (int64, error)
}

// Piece is a run of a dump's bytes in a file, such as a spool segment: the
// N bytes at offset Off of F are the log's bytes at offset Log.
type Piece struct {
	F      io.ReaderAt
	Off    int64
	Log, N uint32
}

// pieceCopier is implemented by files that can copy n bytes at offset off
// of src to offset at of themselves inside the kernel (copy_file_range).
type pieceCopier interface {
	CopyAt(src File, off, at, n int64) error
}

// WritePieces writes the pieces into dst at their log offsets: with
// copy_file_range where the files allow it, else through scratch.
func WritePieces(dst File, pieces []Piece, scratch []byte) error {
	pc, _ := dst.(pieceCopier)
	for _, p := range pieces {
		if src, ok := p.F.(File); ok && pc != nil {
			if err := pc.CopyAt(src, p.Off, int64(p.Log), int64(p.N)); err == nil {
				continue
			} else if !errors.Is(err, errNoCopy) {
				return err
			}
			pc = nil // not possible here: through user space
		}
		for done := uint32(0); done < p.N; {
			c := min(p.N-done, uint32(len(scratch)))
			if _, err := p.F.ReadAt(scratch[:c], p.Off+int64(done)); err != nil {
				return err
			}
			if _, err := dst.WriteAt(scratch[:c], int64(p.Log+done)); err != nil {
				return err
			}
			done += c
		}
	}
	return nil
}

// maxGap is the most bytes between two pieces of one file that Assemble
// reads over to read both with one call (the spool holds each packet's
// header between its payloads).
const maxGap = 512

// Assemble reads the pieces into dst at their log offsets. Pieces that
// follow each other closely in one file (a dump that arrived alone, packet
// after packet) are read together, through scratch.
func Assemble(dst []byte, pieces []Piece, scratch []byte) error {
	for i := 0; i < len(pieces); {
		p := pieces[i]
		if int64(p.Log)+int64(p.N) > int64(len(dst)) {
			return fmt.Errorf("store: piece at %d+%d past the log's %d bytes", p.Log, p.N, len(dst))
		}
		j, end := i+1, p.Off+int64(p.N)
		for j < len(pieces) {
			q := pieces[j]
			if q.F != p.F || q.Off < end || q.Off-end > maxGap || q.Off+int64(q.N)-p.Off > int64(len(scratch)) ||
				int64(q.Log)+int64(q.N) > int64(len(dst)) {
				break
			}
			end = q.Off + int64(q.N)
			j++
		}
		if j == i+1 {
			if _, err := p.F.ReadAt(dst[p.Log:p.Log+p.N], p.Off); err != nil {
				return err
			}
			i = j
			continue
		}
		b := scratch[:end-p.Off]
		if _, err := p.F.ReadAt(b, p.Off); err != nil {
			return err
		}
		for ; i < j; i++ {
			q := pieces[i]
			copy(dst[q.Log:q.Log+q.N], b[q.Off-p.Off:])
		}
	}
	return nil
}
