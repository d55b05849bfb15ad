// Package storetest has file systems for tests of the store and of what
// writes through it: an in-memory one with fault injection, and the OS's
// without fsync.
package storetest

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/netoops/netoops/internal/catcher/store"
)

// MemFS is an in-memory store.FS for fuzzing and fault injection. When
// Full is set, every write fails with ENOSPC.
type MemFS struct {
	mu    sync.Mutex
	files map[string]*memData
	Full  atomic.Bool
	// FailMeta makes writes to sidecars (".json" temporary files) fail.
	FailMeta atomic.Bool
	// FailSyncDir makes directory fsyncs fail.
	FailSyncDir atomic.Bool
	// Open counts files open now; MaxOpen is the most open at once.
	Open, MaxOpen atomic.Int64
	// Stale counts writes through a temporary file in .inflight that was
	// renamed or removed since it was opened.
	Stale atomic.Int64
	// SyncDelay (nanoseconds) makes every fsync take that long, like a
	// disk's.
	SyncDelay atomic.Int64
}

// memData is a sparse file: 4 KiB chunks.
type memData struct {
	mu     sync.Mutex
	chunks map[int64][]byte
	size   int64
}

const memChunk = 4096

func (d *memData) bytes() []byte {
	out := make([]byte, d.size)
	for k, c := range d.chunks {
		copy(out[k*memChunk:], c)
	}
	return out
}

func (d *memData) writeAt(p []byte, off int64) {
	if d.chunks == nil {
		d.chunks = map[int64][]byte{}
	}
	for len(p) > 0 {
		k, o := off/memChunk, off%memChunk
		c := d.chunks[k]
		if c == nil {
			c = make([]byte, memChunk)
			d.chunks[k] = c
		}
		n := copy(c[o:], p)
		p, off = p[n:], off+int64(n)
	}
	d.size = max(d.size, off)
}

func (d *memData) readAt(p []byte, off int64) int {
	n := 0
	for n < len(p) && off < d.size {
		k, o := off/memChunk, off%memChunk
		m := min(int64(len(p)-n), memChunk-o, d.size-off)
		if c := d.chunks[k]; c != nil {
			copy(p[n:n+int(m)], c[o:o+m])
		} else {
			clear(p[n : n+int(m)])
		}
		n += int(m)
		off += m
	}
	return n
}

type memFile struct {
	fs     *MemFS
	d      *memData
	pos    int64
	ro     bool
	name   string
	closed bool
}

// NewMemFS returns an empty MemFS.
func NewMemFS() *MemFS { return &MemFS{files: map[string]*memData{}} }

// OpenFile opens or creates a file (O_CREATE, O_TRUNC; O_EXCL is not checked).
func (m *MemFS) OpenFile(name string, flag int, perm os.FileMode) (store.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.files[name]
	if d == nil {
		if flag&os.O_CREATE == 0 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		d = &memData{}
		m.files[name] = d
	}
	if flag&os.O_TRUNC != 0 {
		d.mu.Lock()
		d.chunks, d.size = nil, 0
		d.mu.Unlock()
	}
	if n := m.Open.Add(1); n > m.MaxOpen.Load() {
		m.MaxOpen.Store(n)
	}
	return &memFile{fs: m, d: d, ro: flag&(os.O_WRONLY|os.O_RDWR) == 0, name: name}, nil
}

// Rename moves a file.
func (m *MemFS) Rename(o, n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.files[o]
	if d == nil {
		return fs.ErrNotExist
	}
	delete(m.files, o)
	m.files[n] = d
	return nil
}

// Remove deletes a file.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, name)
	return nil
}

// RemoveAll deletes name and everything under it.
func (m *MemFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.files {
		if k == name || strings.HasPrefix(k, name+"/") {
			delete(m.files, k)
		}
	}
	return nil
}

// MkdirAll does nothing: directories exist implicitly.
func (m *MemFS) MkdirAll(string, os.FileMode) error { return nil }

// ReadFile returns a file's contents.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	d := m.files[name]
	m.mu.Unlock()
	if d == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bytes(), nil
}

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// Stat returns a file's size.
func (m *MemFS) Stat(name string) (os.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.files[name]
	if d == nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return memInfo{name, d.size}, nil
}

// SyncDir fails while FailSyncDir is set.
func (m *MemFS) SyncDir(string) error {
	if m.FailSyncDir.Load() {
		return ErrFull
	}
	return nil
}

// ReadDir returns the names of the files and directories directly in
// name (directories exist implicitly, as prefixes of file names).
func (m *MemFS) ReadDir(name string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for k := range m.files {
		rest, ok := strings.CutPrefix(k, name+"/")
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		if !seen[rest] {
			seen[rest] = true
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Names lists the files.
func (m *MemFS) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.files {
		out = append(out, k)
	}
	return out
}

// ErrFull is the error of a write to a full MemFS.
var ErrFull = &fs.PathError{Op: "write", Path: "mem", Err: syscall.ENOSPC}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if f.ro {
		return 0, errors.New("read-only")
	}
	if f.fs.Full.Load() || f.fs.FailMeta.Load() && strings.HasSuffix(f.name, ".json.tmp") {
		return 0, ErrFull
	}
	f.fs.mu.Lock()
	if strings.Contains(f.name, "/.inflight/") && f.fs.files[f.name] != f.d {
		f.fs.Stale.Add(1)
	}
	f.fs.mu.Unlock()
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	f.d.writeAt(p, off)
	return len(p), nil
}

func (f *memFile) Write(p []byte) (int, error) {
	n, err := f.WriteAt(p, f.pos)
	f.pos += int64(n)
	return n, err
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	n := f.d.readAt(p, off)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Sync() error {
	time.Sleep(time.Duration(f.fs.SyncDelay.Load()))
	if f.fs.Full.Load() {
		return ErrFull
	}
	return nil
}

func (f *memFile) Close() error {
	if f.closed {
		return fs.ErrClosed
	}
	f.closed = true
	f.fs.Open.Add(-1)
	return nil
}
