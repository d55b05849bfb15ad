package storetest

import (
	"os"

	"github.com/netoops/netoops/internal/catcher/store"
)

// NoSyncFS is the OS file system without fsync, to keep tests fast.
type NoSyncFS struct{ store.OSFS }

type noSyncFile struct{ store.OSFile }

func (noSyncFile) Sync() error { return nil }

// OpenFile opens a file whose Sync does nothing.
func (NoSyncFS) OpenFile(name string, flag int, perm os.FileMode) (store.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSyncFile{store.OSFile{File: f}}, nil
}

// SyncDir does nothing.
func (NoSyncFS) SyncDir(string) error { return nil }
