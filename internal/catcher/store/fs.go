package store

import (
	"errors"
	"io"
	"os"
)

// errNoCopy: the files cannot copy ranges in the kernel; copy through
// user space.
var errNoCopy = errors.New("copy_file_range not possible")

// File is the part of *os.File the store uses.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Writer
	Sync() error
	Close() error
}

// FS is the file system the store writes through. OSFS is the real one;
// tests inject write errors (a full disk) through their own.
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	RemoveAll(name string) error
	MkdirAll(name string, perm os.FileMode) error
	ReadFile(name string) ([]byte, error)
	Stat(name string) (os.FileInfo, error)
	// ReadDir returns the names of the directory's entries.
	ReadDir(name string) ([]string, error)
	// SyncDir fsyncs a directory so that renames in it are durable.
	SyncDir(name string) error
}

// OSFS is the operating system's file system.
type OSFS struct{}

// OpenFile opens a file with os.OpenFile.
func (OSFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return OSFile{f}, nil
}

// OSFile is an *os.File that can copy ranges from another (on Linux).
type OSFile struct{ *os.File }

// Rename calls os.Rename.
func (OSFS) Rename(o, n string) error { return os.Rename(o, n) }

// Remove calls os.Remove.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// RemoveAll calls os.RemoveAll.
func (OSFS) RemoveAll(name string) error { return os.RemoveAll(name) }

// MkdirAll calls os.MkdirAll.
func (OSFS) MkdirAll(name string, perm os.FileMode) error { return os.MkdirAll(name, perm) }

// ReadFile calls os.ReadFile.
func (OSFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Stat calls os.Stat.
func (OSFS) Stat(name string) (os.FileInfo, error) { return os.Stat(name) }

// ReadDir returns the names in a directory (os.ReadDir).
func (OSFS) ReadDir(name string) ([]string, error) {
	es, err := os.ReadDir(name)
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name()
	}
	return out, err
}

// SyncDir opens the directory and fsyncs it.
func (OSFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
