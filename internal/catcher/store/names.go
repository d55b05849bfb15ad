package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// EmptyHostDir is the directory of dumps whose host name is empty. No
// host name escapes to it: SanitizeName writes '%' only followed by two
// upper-case hex digits.
const EmptyHostDir = "%empty"

// SanitizeName turns an untrusted string from the network (a host name)
// into one safe path element. Letters, digits, '-', '_' and '.' are kept;
// every other byte, '%' itself and a leading '.' become %XX, so distinct
// names stay distinct and the result never contains '/', NUL or control
// characters, is never "." or "..", and never starts with '.'. An empty
// name is EmptyHostDir. Names longer than 200 bytes after escaping
// (impossible for wire host names, at most 64 bytes) are cut and get a
// hash suffix.
func SanitizeName(s string) string {
	if s == "" {
		return EmptyHostDir
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

// baseName is the file name of a dump without extension:
// <UTC dump time YYYYmmddTHHMMSSZ>-<boot id hex>-<seq>.
func baseName(t time.Time, bootHex string, seq uint32) string {
	return t.UTC().Format("20060102T150405Z") + "-" + bootHex + "-" + strconv.FormatUint(uint64(seq), 10)
}

// ErrSkip means a stored copy of the dump at least as complete exists
// already: nothing was written.
var ErrSkip = errors.New("a stored copy is at least as complete")

// dumpID is what makes two stored dumps the same dump: the host
// directory (SanitizeName is injective), boot id, dump seq and total_len.
type dumpID struct {
	hostDir, bootID string
	seq, total      uint32
}

func idOf(m *Meta) dumpID {
	return dumpID{hostDir: m.HostDir, bootID: m.BootID, seq: m.DumpSeq, total: m.TotalLen}
}

// claim reserves the name base (a path without .log/.json) to dump id, if
// no other dump holds it. A name is reserved from the moment a store
// chooses it until that store succeeds (then its sidecar on disk keeps it
// from other dumps) or the dump is given up (Release), so that no two
// dumps are written under one name, whichever store workers run them and
// whenever they retry.
func (s *Store) claim(base string, id dumpID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.claims[base]; ok {
		return c == id
	}
	if s.claims == nil {
		s.claims = map[string]dumpID{}
	}
	s.claims[base] = id
	return true
}

// holds reports whether dump id holds the name base.
func (s *Store) holds(base string, id dumpID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.claims[base]
	return ok && c == id
}

func (s *Store) release(base string) {
	s.mu.Lock()
	delete(s.claims, base)
	s.mu.Unlock()
}

// Release gives up the name of a dump whose store failed (StoreDump
// returned its paths with an error other than ErrSkip) and that will not
// be retried: another dump may take the name.
func (s *Store) Release(metaPath string) {
	s.release(strings.TrimSuffix(metaPath, ".json"))
}

// choosePaths picks and reserves the final .log/.json paths for m in
// hostDir. It never takes a name reserved to another dump, nor one whose
// sidecar is another dump's; for the same dump it replaces only a stored
// copy with more missing bytes, else returns ErrSkip (and reserves
// nothing).
//
// Candidates, in order: base (<time>-<boot id first 8 hex>-<seq>); then
// long (<time>-<whole boot id>-<seq>), unique per dump unless two dumps
// share host, boot id and seq but not total_len; then long with -1,
// -2... (for those, and when files not written by the catcher are in the
// way).
func (s *Store) choosePaths(hostDir, base string, m *Meta, long string) (logPath, metaPath string, err error) {
	id := idOf(m)
	for i := 0; i < 100; i++ {
		name := base
		switch {
		case i == 1:
			name = long
		case i > 1:
			name = long + "-" + strconv.Itoa(i-1)
		}
		bp := filepath.Join(hostDir, name)
		if !s.claim(bp, id) {
			continue // being written for another dump
		}
		lp, mp := bp+".log", bp+".json"
		data, rerr := s.FS.ReadFile(mp)
		if errors.Is(rerr, fs.ErrNotExist) {
			if _, serr := s.FS.Stat(lp); errors.Is(serr, fs.ErrNotExist) {
				return lp, mp, nil
			}
			s.release(bp)
			continue // a .log without sidecar: not ours to touch
		}
		if rerr != nil {
			s.release(bp)
			return "", "", rerr
		}
		var old Meta
		if json.Unmarshal(data, &old) != nil {
			s.release(bp)
			continue
		}
		if idOf(&old) == id {
			if old.Complete || old.MissingBytes <= m.MissingBytes {
				s.release(bp)
				return lp, mp, ErrSkip
			}
			return lp, mp, nil
		}
		s.release(bp)
	}
	return "", "", fmt.Errorf("too many dumps named %s", base)
}

// HostOfDir returns the host name whose directory is dir, byte for byte
// (the sidecar's host field, being JSON, shows invalid UTF-8 as U+FFFD),
// and false if dir is not a name SanitizeName makes.
func HostOfDir(dir string) (string, bool) {
	if dir == EmptyHostDir {
		return "", true
	}
	b := make([]byte, 0, len(dir))
	for i := 0; i < len(dir); i++ {
		if dir[i] != '%' {
			b = append(b, dir[i])
			continue
		}
		if i+2 >= len(dir) {
			return "", false
		}
		v, err := strconv.ParseUint(dir[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b = append(b, byte(v))
		i += 2
	}
	if SanitizeName(string(b)) != dir {
		return "", false
	}
	return string(b), true
}
