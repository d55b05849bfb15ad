package index

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
)

// flaky is an Index whose first Put fails.
type flaky struct {
	catalog.Memory
	mu     sync.Mutex
	puts   [][]Record
	syncs  int
	failed bool
}

func (f *flaky) Put(_ context.Context, recs ...Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed {
		f.failed = true
		return errors.New("disk full")
	}
	f.puts = append(f.puts, append([]Record(nil), recs...))
	return nil
}

func (f *flaky) Sync(context.Context) (SyncStats, error) {
	f.mu.Lock()
	f.syncs++
	f.mu.Unlock()
	return SyncStats{}, nil
}

func (f *flaky) Close() error { return nil }

// TestUpdaterCatchesUp: the Updater syncs first, records what is
// submitted, and after a failed write syncs again (each Retry) so that
// the index catches up with the store.
func TestUpdaterCatchesUp(t *testing.T) {
	f := &flaky{}
	synced := make(chan struct{}, 10)
	u := &Updater{Index: f, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Retry: 20 * time.Millisecond,
		OnSync: func(SyncStats, error) { synced <- struct{}{} }}
	u.Start()
	<-synced // the first Sync
	u.Submit(Record{Entry: catalog.Entry{Dir: "h", Name: "lost"}})
	select {
	case <-synced: // the Sync after the failed Put
	case <-time.After(5 * time.Second):
		t.Fatal("no Sync after a failed Put")
	}
	u.Submit(Record{Entry: catalog.Entry{Dir: "h", Name: "a"}})
	u.Submit(Record{Entry: catalog.Entry{Dir: "h", Name: "b"}})
	u.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.puts {
		n += len(p)
	}
	if f.syncs != 2 || n != 2 {
		t.Fatalf("%d syncs, %d records put (%v)", f.syncs, n, f.puts)
	}
}
