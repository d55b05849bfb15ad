package store_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/ranges"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
)

// rendezvousFS holds every open of a log's temporary file until n such
// opens have happened (or a second has passed), so that n stores that
// chose their names run their writes at the same time.
type rendezvousFS struct {
	*storetest.MemFS
	n       int
	mu      sync.Mutex
	arrived int
	all     chan struct{}
}

func (r *rendezvousFS) OpenFile(name string, flag int, perm os.FileMode) (store.File, error) {
	if strings.HasSuffix(name, ".log.tmp") {
		r.mu.Lock()
		r.arrived++
		if r.arrived == r.n {
			close(r.all)
		}
		r.mu.Unlock()
		select {
		case <-r.all:
		case <-time.After(time.Second):
		}
	}
	return r.MemFS.OpenFile(name, flag, perm)
}

func meta(boot string, log []byte) *store.Meta {
	return &store.Meta{Host: "h", HostDir: "h", BootID: boot, DumpSeq: 7, TotalLen: uint32(len(log)),
		ReceivedLen: uint64(len(log)), Missing: []ranges.Range{}, Complete: true}
}

// TestConcurrentStoresOfOneName stores two different dumps whose short
// names are the same (same host, seq and second, boot ids sharing their
// first 8 hex digits) at the same time, from memory: each gets its own
// name, and both are stored whole.
func TestConcurrentStoresOfOneName(t *testing.T) {
	fs := &rendezvousFS{MemFS: storetest.NewMemFS(), n: 2, all: make(chan struct{})}
	s := &store.Store{Dir: "/s", FS: fs}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC)
	boots := []string{"00112233aaaaaaaaaaaaaaaaaaaaaaaa", "00112233bbbbbbbbbbbbbbbbbbbbbbbb"}
	logs := [][]byte{bytes.Repeat([]byte("first dump\n"), 500), bytes.Repeat([]byte("second\n"), 900)}
	type result struct {
		logPath, metaPath string
		err               error
	}
	res := make([]result, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lp, mp, _, _, err := s.StoreDump(meta(boots[i], logs[i]), when, store.LogSource{Mem: logs[i]}, make([]byte, 64<<10), "", "")
			res[i] = result{lp, mp, err}
		}()
	}
	wg.Wait()
	if res[0].logPath == res[1].logPath {
		t.Fatalf("both stored as %s", res[0].logPath)
	}
	for i, r := range res {
		if r.err != nil {
			t.Fatalf("store %d: %v", i, r.err)
		}
		got, err := fs.ReadFile(r.logPath)
		if err != nil || !bytes.Equal(got, logs[i]) {
			t.Fatalf("log %s of dump %d: %d bytes, %v", r.logPath, i, len(got), err)
		}
		b, err := fs.ReadFile(r.metaPath)
		var m store.Meta
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil || m.BootID != boots[i] || m.Log != filepath.Base(r.logPath) {
			t.Fatalf("sidecar %s of dump %d: %+v, %v", r.metaPath, i, m, err)
		}
	}
}
