package reassembly

import (
	"net/netip"
	"time"

	"github.com/netoops/netoops/internal/catcher/spool"
)

// Recover replays the spool segments a previous run left in the in-flight
// directory (the catcher was killed, or crashed, with dumps in flight):
// every record goes through the engine as the packet it is, with its
// source and receive time, so its dump is rebuilt; a dump a previous run
// had stored already is found on disk and not stored again
// (dumps_skipped_total), one that is complete now is stored, and the rest
// stay in flight, to complete or go idle as usual. Once every record is
// in this run's spool, the old segments are deleted. Call it after Start,
// before the sources. It returns the packets replayed.
func (e *Engine) Recover() (int, error) {
	if len(e.oldSegs) == 0 {
		return 0, nil
	}
	// No memory buffers meanwhile: what is replayed goes into this run's
	// spool, so that it survives another crash.
	e.replaying.Store(true)
	defer e.replaying.Store(false)
	f := e.NewFeeder()
	f.replay = true
	n := 0
	for _, o := range e.oldSegs {
		err := spool.Scan(e.cfg.FS, o.Path, func(pkt []byte, src netip.AddrPort, at int64) {
			var t time.Time
			if at != 0 {
				t = time.Unix(0, at)
			}
			f.AddAt(pkt, src, t)
			n++
		})
		if err != nil {
			e.log.Error("cannot read a spool segment of the previous run; its dumps are lost", "file", o.Path, "err", err)
		}
	}
	f.Flush()
	e.barrier()
	for _, o := range e.oldSegs {
		e.cfg.FS.Remove(o.Path)
	}
	e.log.Info("recovered dumps in flight from the spool of the previous run", "segments", len(e.oldSegs), "packets", n)
	e.oldSegs = nil
	return n, nil
}

// barrier returns once every shard has handled what was fed before it and
// written out its spool.
func (e *Engine) barrier() {
	for _, w := range e.workers {
		b := &batch{sync: make(chan struct{})}
		w.in <- b
		<-b.sync
	}
}
