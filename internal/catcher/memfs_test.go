package catcher

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// memFS is an in-memory FS for fuzzing and fault injection. When full is
// set, every write fails with ENOSPC.
type memFS struct {
	mu    sync.Mutex
	files map[string]*memData
	full  atomic.Bool
}

type memData struct {
	mu sync.Mutex
	b  []byte
}

type memFile struct {
	fs   *memFS
	d    *memData
	pos  int64
	ro   bool
	name string
}

func newMemFS() *memFS { return &memFS{files: map[string]*memData{}} }

func (m *memFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
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
		d.b = nil
	}
	return &memFile{fs: m, d: d, ro: flag&(os.O_WRONLY|os.O_RDWR) == 0, name: name}, nil
}

func (m *memFS) Rename(o, n string) error {
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

func (m *memFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, name)
	return nil
}

func (m *memFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.files {
		if k == name || strings.HasPrefix(k, name+"/") {
			delete(m.files, k)
		}
	}
	return nil
}

func (m *memFS) MkdirAll(string, os.FileMode) error { return nil }

func (m *memFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	d := m.files[name]
	m.mu.Unlock()
	if d == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]byte(nil), d.b...), nil
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

func (m *memFS) Stat(name string) (os.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.files[name]
	if d == nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return memInfo{name, int64(len(d.b))}, nil
}

func (m *memFS) SyncDir(string) error { return nil }

func (m *memFS) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.files {
		out = append(out, k)
	}
	return out
}

var errFull = &fs.PathError{Op: "write", Path: "mem", Err: syscall.ENOSPC}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if f.ro {
		return 0, errors.New("read-only")
	}
	if f.fs.full.Load() {
		return 0, errFull
	}
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if end := off + int64(len(p)); end > int64(len(f.d.b)) {
		f.d.b = append(f.d.b, make([]byte, end-int64(len(f.d.b)))...)
	}
	copy(f.d.b[off:], p)
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
	if off >= int64(len(f.d.b)) {
		// Sparse tail never written: zeros, like a real file with holes
		// inside its size; past the size, EOF.
		return 0, io.EOF
	}
	n := copy(p, f.d.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Sync() error {
	if f.fs.full.Load() {
		return errFull
	}
	return nil
}

func (f *memFile) Close() error { return nil }
