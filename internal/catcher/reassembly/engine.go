// Package reassembly puts netoops dumps back together from their packets
// (docs/wire-format.md section 6) and hands each finished dump, complete
// or partial, to package store; docs/catcher.md describes it for admins.
//
// The receive path: a source (package source) hands UDP payloads to a
// Feeder, which validates them with wire.Packet and copies them into
// per-shard batches; each shard, one goroutine, owns the dumps whose key
// hashes to it, writes every new piece at its offset into the dump's
// memory buffer or temporary file and keeps only the set of byte ranges
// held. Nothing on that path takes a global lock or allocates per packet.
// Store workers write finished dumps while the shards go on receiving.
package reassembly

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netoops/netoops/internal/catcher/metrics"
	"github.com/netoops/netoops/internal/catcher/priority"
	"github.com/netoops/netoops/internal/catcher/spool"
	"github.com/netoops/netoops/internal/catcher/steer"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/pkg/wire"
)

// Config configures an Engine. Zero values take the defaults; negative
// ones are an error, except MemBytes (negative: no memory buffers).
type Config struct {
	Dir          string           // where dumps are stored; default "crashes"
	Idle         time.Duration    // a dump idle this long is stored partial; default 10s
	Retain       time.Duration    // a stored dump's state is kept this long to absorb late copies; default max(6*Idle, 1m)
	MaxDumps     int              // dumps in the in-flight table; default 65536
	MaxDumpBytes uint32           // largest total_len accepted; default 16 MiB
	MaxPerSource int              // dumps in the table per source address; default 64
	WriteBuffers int              // 32 KiB write-coalescing buffers, over all shards; default 1024
	OpenFiles    int              // temporary files of dumps in flight kept open, over all shards; default MaxDumps, at most the open-file limit less 256
	MemBytes     int64            // memory buffers for whole dumps up to 1 MiB (instead of the spool), over all shards; default 16 MiB, negative: none
	Shards       int              // worker goroutines; default GOMAXPROCS (at most 16)
	StoreWorkers int              // goroutines writing finished dumps; fsyncs in parallel share journal commits; default 16
	FS           store.FS         // default store.OSFS
	Now          func() time.Time // the engine's clock (default time.Now); idle and retain ages count from its reading at NewEngine
	Logger       *slog.Logger
	// OnStored is called (from a store worker) after each dump is stored,
	// with its sidecar and the paths of its log and sidecar.
	OnStored func(m *store.Meta, logPath, metaPath string)
	// Analyze, if set, fills a dump's crash fields from its log before
	// its sidecar is written (store.Store.Analyze).
	Analyze func(m *store.Meta, log []byte)
	// Gate, if set, holds the deferred work (store workers, crash
	// extraction, deleting spool segments) back while a receiver has a
	// backlog (package priority).
	Gate *priority.Gate
	// NoSpool gives a dump beyond the memory buffers a temporary file of
	// its own at its first piece, instead of starting it in the shard's
	// spool (package spool); the catcher before the spool did that.
	NoSpool bool
	// SpoolSegment is the size of a spool segment; default
	// spool.DefaultSegmentSize.
	SpoolSegment int64
}

// check refuses negative values: a caller asking for less than nothing
// would otherwise get the default silently.
func (c *Config) check() error {
	for _, f := range []struct {
		name string
		neg  bool
	}{
		{"Idle", c.Idle < 0}, {"Retain", c.Retain < 0}, {"MaxDumps", c.MaxDumps < 0},
		{"MaxPerSource", c.MaxPerSource < 0}, {"WriteBuffers", c.WriteBuffers < 0},
		{"OpenFiles", c.OpenFiles < 0}, {"Shards", c.Shards < 0}, {"StoreWorkers", c.StoreWorkers < 0},
	} {
		if f.neg {
			return fmt.Errorf("catcher: Config.%s is negative", f.name)
		}
	}
	return nil
}

func (c *Config) defaults() {
	if c.Dir == "" {
		c.Dir = "crashes"
	}
	if c.Idle == 0 {
		c.Idle = 10 * time.Second
	}
	if c.Retain == 0 {
		c.Retain = max(6*c.Idle, time.Minute)
	}
	if c.MaxDumps == 0 {
		c.MaxDumps = 65536
	}
	if c.MaxDumpBytes == 0 {
		c.MaxDumpBytes = 16 << 20
	}
	if c.MaxPerSource == 0 {
		c.MaxPerSource = 64
	}
	if c.WriteBuffers == 0 {
		c.WriteBuffers = 1024
	}
	if c.OpenFiles == 0 {
		c.OpenFiles = c.MaxDumps
	}
	c.OpenFiles = max(min(c.OpenFiles, openFileLimit()-256), 2)
	if c.MemBytes == 0 {
		c.MemBytes = 16 << 20
	}
	if c.Shards == 0 {
		c.Shards = min(runtime.GOMAXPROCS(0), 16)
	}
	if c.StoreWorkers == 0 {
		c.StoreWorkers = 16
	}
	if c.FS == nil {
		c.FS = store.OSFS{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SpoolSegment <= 0 {
		c.SpoolSegment = spool.DefaultSegmentSize
	}
}

// Engine reassembles and stores dumps.
type Engine struct {
	cfg     Config
	epoch   time.Time // engine time 0 (mono)
	store   *store.Store
	log     *slog.Logger
	metrics *metrics.Metrics
	gate    *priority.Gate
	sources sourceLimit
	shards  []*shard
	workers []*worker
	wg      sync.WaitGroup
	jobs    chan *storeJob
	storeWG sync.WaitGroup
	pumpWG  sync.WaitGroup
	started bool

	mu        sync.Mutex // guards the published shard gauges
	inFlight  []int64
	bookBytes []int64
	spoolSegs []int64
	spoolB    []int64

	oldSegs    []spool.Old      // segments a previous run left: Recover replays them
	replaying  atomic.Bool      // Recover runs: no memory buffers, so that what is replayed stays in the spool
	tmpSeq     atomic.Uint64    // names the temporary files store workers create (dumps moved out of the spool)
	deletes    chan spoolDelete // segments to delete, as deferred work
	deleteDone chan struct{}
	logBufs    sync.Pool // *[]byte: dumps read back from the spool
}

type spoolDelete struct {
	path string
	f    store.File
}

// mono returns t as engine time: nanoseconds since the engine was made,
// on the monotonic clock when t has its reading (cfg.Now's does).
func (e *Engine) mono(t time.Time) int64 { return int64(t.Sub(e.epoch)) }

// NewEngine prepares the store directory (emptying its in-flight area) and
// returns an engine. Call Start before feeding it, Close at the end.
func NewEngine(cfg Config) (*Engine, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	e := &Engine{cfg: cfg, epoch: cfg.Now(), log: cfg.Logger, gate: cfg.Gate}
	analyze := cfg.Analyze
	if analyze != nil && cfg.Gate != nil {
		// Naming a crash is the store's largest CPU cost: it waits for
		// the receivers, like the rest of the deferred work.
		analyze = func(m *store.Meta, log []byte) {
			cfg.Gate.Wait()
			cfg.Analyze(m, log)
		}
	}
	e.store = &store.Store{Dir: cfg.Dir, FS: cfg.FS, Analyze: analyze}
	if err := e.store.Init(); err != nil {
		return nil, err
	}
	old, next, err := spool.List(cfg.FS, e.store.InflightDir())
	if err != nil {
		return nil, err
	}
	e.oldSegs = old
	e.sources = sourceLimit{max: cfg.MaxPerSource, n: map[netip.Addr]int{}}
	e.metrics = metrics.New(e.gaugeInFlight, e.gaugeBook)
	e.metrics.SetSpoolGauges(func() float64 { return e.sumPublished(e.spoolSegs) }, func() float64 { return e.sumPublished(e.spoolB) })
	n := cfg.Shards
	e.inFlight, e.bookBytes = make([]int64, n), make([]int64, n)
	e.spoolSegs, e.spoolB = make([]int64, n), make([]int64, n)
	for i := 0; i < n; i++ {
		s := newShard(e, (cfg.MaxDumps+n-1)/n, cfg.WriteBuffers/n, cfg.OpenFiles/n, cfg.MemBytes/int64(n))
		s.idx = i
		s.spool = spool.New(spool.Config{FS: cfg.FS, Dir: e.store.InflightDir(), Shard: i, FirstID: next,
			SegmentSize: cfg.SpoolSegment, Free: e.deleteSegment})
		e.shards = append(e.shards, s)
	}
	return e, nil
}

// deleteSegment closes and removes a spool segment nothing refers to any
// more: on the deferred-work goroutine once started (removing a large
// file takes milliseconds), else at once.
func (e *Engine) deleteSegment(path string, f store.File) {
	if e.deletes != nil {
		select {
		case e.deletes <- spoolDelete{path, f}:
			return
		default: // a backlog of deletions: do this one now
		}
	}
	f.Close()
	e.cfg.FS.Remove(path)
}

// Metrics returns the engine's metrics.
func (e *Engine) Metrics() *metrics.Metrics { return e.metrics }

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

func (e *Engine) publish(s *shard) {
	segs, bytes := s.spool.Stats()
	e.mu.Lock()
	e.inFlight[s.idx] = s.inFlight
	e.bookBytes[s.idx] = s.bookkeeping
	e.spoolSegs[s.idx], e.spoolB[s.idx] = int64(segs), bytes
	e.mu.Unlock()
}

func (e *Engine) gaugeInFlight() float64 { return e.sumPublished(e.inFlight) }

func (e *Engine) gaugeBook() float64 { return e.sumPublished(e.bookBytes) }

// sumPublished adds up one of the per-shard figures publish records.
func (e *Engine) sumPublished(perShard []int64) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var t int64
	for _, v := range perShard {
		t += v
	}
	return float64(t)
}

func (e *Engine) emit(m *store.Meta, logPath, metaPath string) {
	if e.cfg.OnStored != nil {
		e.cfg.OnStored(m, logPath, metaPath)
	}
}

// sourceLimit counts table entries per source address. It is touched when
// a dump is created or forgotten, not per packet.
type sourceLimit struct {
	mu  sync.Mutex
	max int
	n   map[netip.Addr]int
}

func (l *sourceLimit) acquire(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[a] >= l.max {
		return false
	}
	l.n[a]++
	return true
}

func (l *sourceLimit) release(a netip.Addr) {
	l.mu.Lock()
	if l.n[a] <= 1 {
		delete(l.n, a)
	} else {
		l.n[a]--
	}
	l.mu.Unlock()
}

// shardOf returns the shard index of a decoded packet: steer.Hash of its
// boot id and seq, the function the kernel's reuseport program computes
// to pick a socket (package steer), so that with as many sockets as
// shards a reader gets only the packets of its own shard.
func (e *Engine) shardOf(p *wire.Packet) int {
	if len(e.shards) == 1 {
		return 0
	}
	return int(steer.Hash(p.BootID, p.DumpSeq) % uint32(len(e.shards)))
}

// batch is a slab of packets for one shard; or, with sync set, a barrier:
// the shard writes out its spool and closes sync.
type batch struct {
	buf   []byte
	items []item
	sync  chan struct{}
}

type item struct {
	off, n int
	src    netip.AddrPort
	at     int64 // capture time, Unix ns; 0: received now
}

const (
	batchBytes   = 256 << 10
	batchItems   = 1024
	batchesShard = 8
)

type worker struct {
	in   chan *batch
	free chan *batch
	done chan struct{}
}

// Start starts one goroutine per shard.
func (e *Engine) Start() {
	if e.started {
		return
	}
	e.started = true
	// The store queue holds up to MaxDumps jobs (a pointer each): a storm
	// of dumps completing at once waits there, on disk in their temporary files, while
	// the shards keep receiving; only beyond it does a shard wait.
	e.jobs = make(chan *storeJob, max(e.cfg.MaxDumps, 1024))
	e.deletes, e.deleteDone = make(chan spoolDelete, 4096), make(chan struct{})
	go func() {
		defer close(e.deleteDone)
		for d := range e.deletes {
			e.gate.Wait()
			d.f.Close()
			e.cfg.FS.Remove(d.path)
		}
	}()
	for i := 0; i < e.cfg.StoreWorkers; i++ {
		e.storeWG.Add(1)
		go func() {
			defer e.storeWG.Done()
			buf := make([]byte, 64<<10)
			for j := range e.jobs {
				e.gate.Wait()
				r := e.runJob(j, buf)
				j.s.results <- r
			}
		}()
	}
	for _, s := range e.shards {
		s.results = make(chan storeResult, 4096)
		s.kick = make(chan struct{}, 1)
		e.pumpWG.Add(1)
		go e.pumper(s)
		w := &worker{in: make(chan *batch, batchesShard), free: make(chan *batch, batchesShard), done: make(chan struct{})}
		for i := 0; i < batchesShard; i++ {
			w.free <- &batch{buf: make([]byte, 0, batchBytes), items: make([]item, 0, batchItems)}
		}
		e.workers = append(e.workers, w)
		e.wg.Add(1)
		go e.run(s, w)
	}
}

func (e *Engine) run(s *shard, w *worker) {
	defer e.wg.Done()
	tick := min(e.cfg.Idle/4, time.Second)
	tick = max(tick, 10*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var p wire.Packet
	single := len(e.shards) == 1 // the Feeder has not validated the packets
	for {
		select {
		case b, ok := <-w.in:
			if !ok {
				s.mu.Lock()
				s.flushAll(e.cfg.Now())
				s.mu.Unlock()
				return
			}
			s.mu.Lock()
			now := e.cfg.Now()
			if b.sync != nil {
				if err := s.spool.Flush(); err != nil {
					s.logErr(now, "cannot write the spool", "err", err)
				}
				s.pump(now)
				s.mu.Unlock()
				close(b.sync)
				continue
			}
			for _, it := range b.items {
				pkt := b.buf[it.off : it.off+it.n]
				at := now
				if it.at != 0 {
					at = time.Unix(0, it.at)
				}
				if single {
					if e.validate(&p, pkt) {
						s.handle(&p, pkt, it.src, at, now)
					}
				} else if p.DecodeFromBytes(pkt) == nil {
					s.handle(&p, pkt, it.src, at, now)
				}
			}
			s.pumpSoon(now)
			s.mu.Unlock()
			b.buf, b.items = b.buf[:0], b.items[:0]
			w.free <- b
		case r := <-s.results:
			s.mu.Lock()
			now := e.cfg.Now()
			s.applyResult(r, now)
			s.pumpSoon(now)
			s.mu.Unlock()
		case <-t.C:
			s.mu.Lock()
			s.sweep(e.cfg.Now())
			s.mu.Unlock()
		}
	}
}

// pumper starts s's queued stores when the receivers let it (see
// shard.pumpSoon).
func (e *Engine) pumper(s *shard) {
	defer e.pumpWG.Done()
	for range s.kick {
		e.gate.Wait()
		s.mu.Lock()
		s.pump(e.cfg.Now())
		s.mu.Unlock()
	}
}

// Close stops the workers after the batches already fed, storing every
// dump with unstored bytes as partial. Feeders must not be used after it.
func (e *Engine) Close() {
	if !e.started {
		now := e.cfg.Now()
		for _, s := range e.shards {
			s.flushAll(now)
			s.closeSpool(now)
		}
		return
	}
	for _, w := range e.workers {
		close(w.in)
	}
	e.wg.Wait()
	for _, s := range e.shards {
		close(s.kick)
	}
	e.pumpWG.Wait()
	close(e.jobs)
	e.storeWG.Wait()
	for _, s := range e.shards {
		s.closeSpool(e.cfg.Now())
	}
	close(e.deletes)
	<-e.deleteDone
	e.deletes = nil
}

// validate decodes b into p and counts it as decoded or malformed.
func (e *Engine) validate(p *wire.Packet, b []byte) bool {
	if err := p.DecodeFromBytes(b); err != nil {
		if de, ok := err.(wire.DecodeError); ok {
			e.metrics.Malformed(de).Inc()
		}
		return false
	}
	e.metrics.Decoded.Inc()
	return true
}

// Feeder hands packets to the shards. Each source goroutine has its own.
type Feeder struct {
	e      *Engine
	cur    []*batch
	p      wire.Packet
	replay bool // Recover's: counts packets as recovered, not received
}

// NewFeeder returns a feeder; the engine must be started.
func (e *Engine) NewFeeder() *Feeder {
	return &Feeder{e: e, cur: make([]*batch, len(e.shards))}
}

// Add queues one UDP payload from src, received now, for its shard,
// validating it first when there are several shards (to find the shard;
// with one, the shard validates it). b is copied; the caller may reuse
// it. It counts the packet as received.
func (f *Feeder) Add(b []byte, src netip.AddrPort) { f.add(b, src, 0) }

// AddAt is Add for a packet captured at time at (from a capture file):
// at is its receive time, in the sidecar and, when the sender did not know
// the time, in the dump's name. The zero time means now.
func (f *Feeder) AddAt(b []byte, src netip.AddrPort, at time.Time) {
	var ns int64
	if !at.IsZero() {
		ns = at.UnixNano()
	}
	f.add(b, src, ns)
}

func (f *Feeder) add(b []byte, src netip.AddrPort, at int64) {
	m := f.e.metrics
	if f.replay {
		m.Recovered.Inc()
	} else {
		m.Received.Inc()
	}
	i := 0
	if len(f.e.shards) > 1 {
		if !f.e.validate(&f.p, b) {
			return
		}
		i = f.e.shardOf(&f.p)
	} // else the one shard validates: it decodes every packet anyway
	f.put(i, b, src, at)
}

// put queues the packet b for shard i.
func (f *Feeder) put(i int, b []byte, src netip.AddrPort, at int64) {
	w := f.e.workers[i]
	bt := f.cur[i]
	if bt != nil && (len(bt.buf)+len(b) > cap(bt.buf) || len(bt.items) == cap(bt.items)) {
		w.in <- bt
		bt = nil
	}
	if bt == nil {
		bt = <-w.free
		f.cur[i] = bt
	}
	off := len(bt.buf)
	if len(b) > cap(bt.buf) { // cannot happen with UDP sizes; be safe
		return
	}
	bt.buf = append(bt.buf, b...)
	bt.items = append(bt.items, item{off: off, n: len(b), src: src, at: at})
}

// Flush sends the partly filled batches to their shards. Sources call it
// after each receive batch.
func (f *Feeder) Flush() {
	for i, bt := range f.cur {
		if bt != nil && len(bt.items) > 0 {
			f.e.workers[i].in <- bt
			f.cur[i] = nil
		}
	}
}
