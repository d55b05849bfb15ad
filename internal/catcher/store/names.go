package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path/filepath"
	"strconv"
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

// choosePaths picks the final .log/.json paths for m in hostDir. It never
// overwrites a dump of another key; for the same key it replaces only a
// stored copy with more missing bytes, else returns ErrSkip.
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
				return lp, mp, ErrSkip
			}
			return lp, mp, nil
		}
	}
	return "", "", fmt.Errorf("too many dumps named %s", base)
}
