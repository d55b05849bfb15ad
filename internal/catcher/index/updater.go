package index

import (
	"context"
	"log/slog"
	"time"
)

// Updater records stored dumps in an Index from one goroutine, off the
// store workers: records queue and are written in batches (one
// transaction each). It first Syncs the index with the store directory
// (the records of a previous run's crash between a sidecar's rename and
// its record, and dumps stored while no catcher ran); if a write fails,
// it Syncs again (each Retry) until one succeeds, so that the index
// catches up with what the store holds.
type Updater struct {
	Index Index
	Log   *slog.Logger
	Retry time.Duration // default 10 s
	// OnSync, if set, is called after each Sync (tests).
	OnSync func(SyncStats, error)
	// Wait, if set, is called before each write or Sync: it holds the
	// index's work back while receiving has priority (priority.Gate).
	Wait func()

	q    chan *Record // pointers: the queue's buffer is 8 bytes a slot, not a Record's ~300, allocated at Start
	done chan struct{}
}

// queueLen bounds the records waiting: beyond it Submit waits for the
// index (so the store workers slow down rather than lose records).
const queueLen = 65536

// Start starts the goroutine.
func (u *Updater) Start() {
	if u.Retry <= 0 {
		u.Retry = 10 * time.Second
	}
	u.q = make(chan *Record, queueLen)
	u.done = make(chan struct{})
	go u.run()
}

// Submit queues a record.
func (u *Updater) Submit(r Record) { u.q <- &r }

// Close writes what is queued and stops.
func (u *Updater) Close() {
	close(u.q)
	<-u.done
}

func (u *Updater) wait() {
	if u.Wait != nil {
		u.Wait()
	}
}

func (u *Updater) sync() bool {
	u.wait()
	t0 := time.Now()
	st, err := u.Index.Sync(context.Background())
	if u.OnSync != nil {
		u.OnSync(st, err)
	}
	if err != nil {
		u.Log.Error("cannot sync the index with the store; will retry", "err", err, "retry", u.Retry)
		return false
	}
	u.Log.Info("index synced with the store", "host_dirs", st.HostDirs, "listed", st.Listed, "read", st.Read,
		"removed", st.Removed, "bad", st.Bad, "took", time.Since(t0).Round(time.Millisecond))
	return true
}

func (u *Updater) run() {
	defer close(u.done)
	synced := u.sync()
	var batch []Record
	tick := time.NewTicker(u.Retry)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-u.q:
			if !ok {
				return
			}
			batch = append(batch[:0], *r)
		drain:
			for len(batch) < syncBatch {
				select {
				case r, ok := <-u.q:
					if !ok {
						break drain
					}
					batch = append(batch, *r)
				default:
					break drain
				}
			}
			u.wait()
			if err := u.Index.Put(context.Background(), batch...); err != nil {
				u.Log.Error("cannot record stored dumps in the index; a sync will catch up", "dumps", len(batch), "err", err)
				synced = false
			}
		case <-tick.C:
			if !synced {
				synced = u.sync()
			}
		}
	}
}
