package catcher

import (
	"os"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// noSyncFS is the OS file system without fsync, to keep tests fast.
type noSyncFS struct{ OSFS }

type noSyncFile struct{ OSFile }

func (noSyncFile) Sync() error { return nil }

func (noSyncFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSyncFile{OSFile{f}}, nil
}

func (noSyncFS) SyncDir(string) error { return nil }
