package catcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Meta is the JSON sidecar stored next to every dump's log. docs/catcher.md
// documents every field.
type Meta struct {
	Host         string     `json:"host"`
	HostDir      string     `json:"host_dir"`
	Label        string     `json:"label"`
	BootID       string     `json:"boot_id"`
	DumpSeq      uint32     `json:"dump_seq"`
	Release      string     `json:"release"`
	Reason       string     `json:"reason"`
	ReasonCode   uint8      `json:"reason_code"`
	ReasonText   string     `json:"reason_text"`
	DumpTime     *time.Time `json:"dump_time"`
	FirstPacket  time.Time  `json:"first_packet"`
	LastPacket   time.Time  `json:"last_packet"`
	StoredAt     time.Time  `json:"stored_at"`
	Source       string     `json:"source"`
	Packets      uint64     `json:"packets"`
	Duplicates   uint64     `json:"duplicates"`
	Conflicts    uint64     `json:"conflicts"`
	Pieces       uint32     `json:"pieces"`
	Copies       uint8      `json:"copies"`
	TotalLen     uint32     `json:"total_len"`
	ReceivedLen  uint64     `json:"received_bytes"`
	MissingBytes uint64     `json:"missing_bytes"`
	Missing      []Range    `json:"missing"`
	Complete     bool       `json:"complete"`
	Flags        uint16     `json:"flags"`
	Truncated    bool       `json:"truncated"`
	Prefixed     bool       `json:"prefixed"`
	Log          string     `json:"log"`
}

// SanitizeName turns an untrusted string from the network (a host name)
// into one safe path element. Letters, digits, '-', '_' and '.' are kept;
// every other byte, '%' itself and a leading '.' become %XX, so distinct
// names stay distinct and the result never contains '/', NUL or control
// characters, is never "." or "..", and never starts with '.'. An empty name
// is "unknown". Names longer than 200 bytes after escaping (impossible for
// wire host names, at most 64 bytes) are cut and get a hash suffix.
func SanitizeName(s string) string {
	if s == "" {
		return "unknown"
	}
	const hexd = "0123456789ABCDEF"
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || (c == '.' && i > 0)
		if ok {
			b = append(b, c)
		} else {
			b = append(b, '%', hexd[c>>4], hexd[c&15])
		}
	}
	if len(b) > 200 {
		h := fnv.New64a()
		h.Write([]byte(s))
		b = append(b[:180], fmt.Sprintf("~%016x", h.Sum64())...)
	}
	return string(b)
}

// Store writes finished dumps under its directory.
type Store struct {
	Dir  string
	FS   FS
	dirs sync.Map // host directories known to exist
}

// inflightDir holds the temporary files of dumps being received.
func (s *Store) inflightDir() string { return filepath.Join(s.Dir, ".inflight") }

// Init creates the directory and empties the in-flight area a previous run
// left (its byte ranges are unknown, so it cannot be resumed).
func (s *Store) Init() error {
	if err := s.FS.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	if err := s.FS.RemoveAll(s.inflightDir()); err != nil {
		return err
	}
	return s.FS.MkdirAll(s.inflightDir(), 0o700)
}

// baseName is the file name of a dump without extension:
// <UTC dump time YYYYmmddTHHMMSSZ>-<boot id hex>-<seq>.
func baseName(t time.Time, bootHex string, seq uint32) string {
	return t.UTC().Format("20060102T150405Z") + "-" + bootHex + "-" + strconv.FormatUint(uint64(seq), 10)
}

// errSkip means a stored dump at least as complete exists already.
var errSkip = errors.New("a stored copy is at least as complete")

// choosePaths picks the final .log/.json paths for m in hostDir. It never
// overwrites a dump of another key; for the same key it replaces only a
// stored copy with more missing bytes, else returns errSkip.
//
// Candidates, in order: base (<time>-<boot id first 8 hex>-<seq>); then
// <time>-<whole boot id>-<seq>, unique per key since the host directory
// and seq are the same; then that name with -1, -2... (only when files not
// written by the catcher are in the way).
func (s *Store) choosePaths(hostDir, base string, m *Meta, long string) (logPath, metaPath string, err error) {
	for i := 0; i < 100; i++ {
		name := base
		switch {
		case i == 1:
			name = long
		case i > 1:
			name = long + "-" + strconv.Itoa(i-1)
		}
		lp := filepath.Join(hostDir, name+".log")
		mp := filepath.Join(hostDir, name+".json")
		data, rerr := s.FS.ReadFile(mp)
		if errors.Is(rerr, fs.ErrNotExist) {
			if _, serr := s.FS.Stat(lp); errors.Is(serr, fs.ErrNotExist) {
				return lp, mp, nil
			}
			continue // a .log without sidecar: not ours to touch
		}
		if rerr != nil {
			return "", "", rerr
		}
		var old Meta
		if json.Unmarshal(data, &old) != nil {
			continue
		}
		if old.HostDir == m.HostDir && old.BootID == m.BootID && old.DumpSeq == m.DumpSeq {
			if old.Complete || old.MissingBytes <= m.MissingBytes {
				return lp, mp, errSkip
			}
			return lp, mp, nil
		}
	}
	return "", "", fmt.Errorf("too many dumps named %s", base)
}

// GapMarker is the line put into a stored log where bytes are missing.
func GapMarker(r Range) string {
	return fmt.Sprintf("[netoops: %d bytes missing at offset %d]\n", r.Len(), r.Start)
}

// writeLog copies the present ranges of src (nil if nothing was written)
// with gap markers to a new, fsynced temporary file next to path, to be
// renamed to path by the caller, and returns the bytes written.
func (s *Store) writeLog(path string, src io.ReaderAt, total uint32, rs *rangeSet, buf []byte) (int64, error) {
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
	next := func(r Range) error { // copy present bytes [pos, r.Start)
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
	for _, gap := range rs.missing(total) {
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
	if err := next(Range{total, total}); err != nil {
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

// storeDump writes the log and sidecar of a dump. logPath and metaPath, if
// set, are where an earlier write of the same dump in this run went; they
// are replaced. A complete dump's temporary file becomes its log (fsync
// and rename: moved is true once that rename is done); otherwise the log
// is written from src with gap markers. It returns the paths written and the
// log's size.
func (s *Store) storeDump(m *Meta, dumpTime time.Time, src LogSource, rs *rangeSet, buf []byte, logPath, metaPath string) (_, _ string, n int64, moved bool, err error) {
	hostDir := filepath.Join(s.Dir, m.HostDir)
	if _, ok := s.dirs.Load(hostDir); !ok {
		if err := s.FS.MkdirAll(hostDir, 0o755); err != nil {
			return "", "", 0, false, err
		}
		s.dirs.Store(hostDir, true)
	}
	if logPath == "" {
		logPath, metaPath, err = s.choosePaths(hostDir, baseName(dumpTime, m.BootID[:8], m.DumpSeq), m, baseName(dumpTime, m.BootID, m.DumpSeq))
		if err != nil {
			return logPath, metaPath, 0, false, err
		}
	}
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
			return logPath, metaPath, 0, false, err
		}
		logTmp, n = src.Tmp, int64(m.TotalLen)
	default:
		var r io.ReaderAt // nil: nothing was written
		if src.Mem != nil {
			r = memRegion(src.Mem)
		} else if src.Tmp != "" {
			f, err := s.FS.OpenFile(src.Tmp, os.O_RDONLY, 0)
			if err != nil {
				return logPath, metaPath, 0, false, err
			}
			defer f.Close()
			r = region{f}
		}
		if n, err = s.writeLog(logPath, r, m.TotalLen, rs, buf); err != nil {
			return logPath, metaPath, 0, false, err
		}
		logTmp = tmpName(logPath)
	}
	dropLogTmp := func() {
		if logTmp != "" && logTmp != src.Tmp { // the dump's own file stays for a retry
			s.FS.Remove(logTmp)
		}
	}
	data := append(m.appendJSON(buf[:0]), '\n') // buf is free again: the log is written
	if err := s.writeTemp(metaPath, data); err != nil {
		dropLogTmp()
		return logPath, metaPath, 0, false, err
	}
	if logTmp != "" {
		if err := s.FS.Rename(logTmp, logPath); err != nil {
			dropLogTmp()
			s.FS.Remove(tmpName(metaPath))
			return logPath, metaPath, 0, false, err
		}
		moved = logTmp == src.Tmp
	}
	if err := s.FS.Rename(tmpName(metaPath), metaPath); err != nil {
		s.FS.Remove(tmpName(metaPath))
		return logPath, metaPath, 0, moved, err
	}
	if err := s.FS.SyncDir(hostDir); err != nil {
		return logPath, metaPath, 0, moved, err
	}
	return logPath, metaPath, n, moved, nil
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
