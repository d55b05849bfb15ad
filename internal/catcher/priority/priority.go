// Package priority gives receiving priority over deferred work on the
// catcher's cores. Receivers say whether their socket has a backlog (a
// queue the kernel holds for them longer than a threshold); deferred work
// (storing finished dumps, naming their crashes, deleting spool segments,
// the index) calls Wait before each step and so runs only while no
// receiver has a backlog, or after waiting MaxWait, so that it still makes
// progress under a load the receivers never catch up with. It is
// cooperative, within Go's scheduler: with one core, whatever runs while a
// storm fills the socket buffer is time the receiver does not get, and no
// thread priority orders goroutines on one P.
package priority

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxWait bounds how long Wait holds deferred work back.
const DefaultMaxWait = 500 * time.Millisecond

// Gate is shared by the receivers and the deferred work of an engine. The
// zero value is ready (MaxWait DefaultMaxWait); a nil *Gate never waits.
type Gate struct {
	// MaxWait bounds one Wait; 0 is DefaultMaxWait.
	MaxWait time.Duration

	busy   atomic.Int32 // receivers with a backlog
	mu     sync.Mutex
	idle   chan struct{} // closed when busy falls to 0; nil while none waits
	waits  atomic.Uint64
	waited atomic.Int64 // nanoseconds
}

// Receiver is one receiver's flag in a Gate. Its methods are called from
// that receiver's goroutine only.
type Receiver struct {
	g    *Gate
	busy bool
}

// Receiver returns a new receiver's flag, not busy.
func (g *Gate) Receiver() *Receiver { return &Receiver{g: g} }

// Set records whether the receiver has a backlog. It costs an atomic
// operation only when the state changes.
func (r *Receiver) Set(busy bool) {
	if r == nil || r.g == nil || busy == r.busy {
		return
	}
	r.busy = busy
	g := r.g
	if busy {
		g.busy.Add(1)
		return
	}
	if g.busy.Add(-1) == 0 {
		g.mu.Lock()
		if g.idle != nil && g.busy.Load() == 0 {
			close(g.idle)
			g.idle = nil
		}
		g.mu.Unlock()
	}
}

// Busy reports whether some receiver has a backlog.
func (g *Gate) Busy() bool { return g != nil && g.busy.Load() > 0 }

// Wait returns when no receiver has a backlog, at once if none has, or
// after MaxWait.
func (g *Gate) Wait() {
	if g == nil || g.busy.Load() == 0 {
		return
	}
	g.mu.Lock()
	if g.busy.Load() == 0 {
		g.mu.Unlock()
		return
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	ch := g.idle
	g.mu.Unlock()
	d := g.MaxWait
	if d <= 0 {
		d = DefaultMaxWait
	}
	start := time.Now()
	t := time.NewTimer(d)
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
	g.waits.Add(1)
	g.waited.Add(int64(time.Since(start)))
}

// Stats returns how many Waits waited and for how long in all.
func (g *Gate) Stats() (waits uint64, waited time.Duration) {
	if g == nil {
		return 0, 0
	}
	return g.waits.Load(), time.Duration(g.waited.Load())
}
