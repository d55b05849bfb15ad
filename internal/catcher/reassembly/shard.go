package reassembly

import (
	"encoding/hex"
	"errors"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/netoops/netoops/internal/catcher/metrics"
	"github.com/netoops/netoops/internal/catcher/ranges"
	"github.com/netoops/netoops/internal/catcher/spool"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/pkg/wire"
)

// dumpKey identifies a dump's log: host name, boot id, sequence and
// total_len (docs/wire-format.md section 6.1). The host name is in the
// key itself (at most wire.MaxHostLen bytes), so two hosts never share
// one.
type dumpKey struct {
	boot    [16]byte
	seq     uint32
	total   uint32
	hostLen uint8
	host    [wire.MaxHostLen]byte
}

// dump is the state of one dump being received (or being stored). A
// storm holds one per host until its store is done (100,000 of them for
// a fleet of 100,000), so it is kept small: the host name is read from
// the key, the header's other strings share one allocation, and times are
// integers.
type dump struct {
	key                dumpKey
	reason             wire.Reason
	copies             uint8
	flags              wire.Flags
	relLen, labelLen   uint8  // strs is release, label, reason text
	strs               string // the first packet's strings (release, label, reason text)
	timeNS             uint64
	count, total, have uint32 // have: bytes in ranges
	conflicts          uint32
	packets, dups      uint64
	src                netip.AddrPort
	first, last        int64 // receive (or capture) time of the first and last packet, Unix ns
	seen               int64 // engine time of the last packet (Engine.mono): idle, retain
	retryAt            int64 // engine time before which a failed store is not retried; 0: none
	ranges             ranges.Set
	fe                 *writeBuf
	tf                 *tempFile // its temporary file in .inflight, if it has one
	mem                []byte    // or the dump's bytes in memory (len total)
	ext                extList
	spooled            bool // or its pieces are in the shard's spool, at ext
	logMoved           bool // tmp was renamed into place as the complete log; the sidecar may still be due
	slot               bool // holds one of its source address's --max-per-source slots
	dirty              bool // holds bytes not yet stored
	stored             bool // stored at least once (partial)
	storing            bool // a store worker is writing it out
	removed            bool // forgotten while storing: free the region when done
	named              bool // its last store failed: logPath's name is reserved to it (store.Release)
	logPath, metaPath  string
	prev, next         *dump // LRU, most recent first
	hnext              *dump // next with the same key hash (dumpTable)
}

// tempFile is a dump's temporary file (with Config.NoSpool, or a partial
// dump's moved out of the spool). Most dumps never have one: it is kept
// apart from the dump.
type tempFile struct {
	path       string
	f          store.File // when open (in the shard's fileCache)
	prev, next *dump      // fileCache LRU
}

// tmp returns the path of d's temporary file, or "".
func (d *dump) tmp() string {
	if d.tf == nil {
		return ""
	}
	return d.tf.path
}

// setTmp makes path d's temporary file (not open yet); d has none.
func (d *dump) setTmp(path string) { d.tf = &tempFile{path: path} }

// clearTmp forgets d's temporary file, which files.close has closed
// (else its descriptor and its fileCache links would be lost).
func (d *dump) clearTmp() { d.tf = nil }

// host returns the dump's host name (from its key).
func (d *dump) host() string { return string(d.key.host[:d.key.hostLen]) }

// release, label and text return the first packet's header strings.
func (d *dump) release() string { return d.strs[:d.relLen] }
func (d *dump) label() string   { return d.strs[d.relLen : int(d.relLen)+int(d.labelLen)] }
func (d *dump) text() string    { return d.strs[int(d.relLen)+int(d.labelLen):] }

// sameStrings reports whether p's header strings are d's.
func (d *dump) sameStrings(p *wire.Packet) bool {
	return int(d.relLen) == len(p.Release) && int(d.labelLen) == len(p.Label) &&
		d.release() == string(p.Release) && d.label() == string(p.Label) && d.text() == string(p.ReasonText)
}

// retryDue reports whether a failed store of d may be retried at engine
// time now.
func (d *dump) retryDue(now int64) bool { return d.retryAt == 0 || now >= d.retryAt }

// shard owns a subset of the dumps (by key hash). Its methods are called
// with mu held: by the shard's goroutine (batches from Feeders, store
// results, sweeps) and by the Reader of its socket.
type shard struct {
	mu     sync.Mutex
	e      *Engine
	table  dumpTable
	done   doneSet // keys of the dumps stored complete and forgotten
	lru    dump    // sentinel: lru.next is the most recent
	n, cap int
	bufs   bufPool
	mem    memPool
	files  fileCache
	tmpSeq uint64 // names temporary files
	// draining holds the dumps forgotten (evicted) while a store worker
	// still writes them out, by key: a packet of such a dump takes it back
	// instead of starting a second dump that would be stored under the
	// same names at the same time. An evicted dump whose store fails stays
	// here (up to cap of them) and the sweeps retry it.
	draining map[dumpKey]*dump
	copyBuf  []byte
	lastLog  time.Time
	results  chan storeResult // from store workers; nil when not started
	kick     chan struct{}    // to the shard's pumper: dumps wait in queue (started engines)
	pending  int              // stores queued or running, not yet applied
	queue    []*dump          // dumps to store, from qhead on (pump)
	qhead    int
	running  int // stores with the store workers
	spool    *spool.Spool
	ext      extSlab

	idx         int
	inFlight    int64 // published to the engine in sweeps
	bookkeeping int64
}

func newShard(e *Engine, capacity, bufs, openFiles int, memBudget int64) *shard {
	s := &shard{e: e, table: newDumpTable(), done: newDoneSet(max(capacity, 1)), draining: make(map[dumpKey]*dump), cap: max(capacity, 1)}
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	s.bufs.init(max(bufs, 2))
	s.files.init(max(openFiles, 2))
	s.mem.budget = memBudget
	return s
}

func (s *shard) unlink(d *dump) {
	d.prev.next, d.next.prev = d.next, d.prev
	d.prev, d.next = nil, nil
}

func (s *shard) pushFront(d *dump) {
	d.next, d.prev = s.lru.next, &s.lru
	s.lru.next.prev = d
	s.lru.next = d
}

func (s *shard) touch(d *dump) {
	if s.lru.next != d {
		s.unlink(d)
		s.pushFront(d)
	}
}

// keyOf returns the dump key of p.
func keyOf(p *wire.Packet) (k dumpKey) {
	k.boot, k.seq, k.total = p.BootID, p.DumpSeq, p.TotalLen
	k.hostLen = uint8(copy(k.host[:], p.Host))
	return k
}

func (s *shard) logErr(now time.Time, msg string, args ...any) {
	if now.Sub(s.lastLog) >= time.Second {
		s.lastLog = now
		s.e.log.Error(msg, args...)
	}
}

// handle processes one valid packet p, decoded from raw, received (or
// captured) at time at; now is the engine's clock.
func (s *shard) handle(p *wire.Packet, raw []byte, src netip.AddrPort, at, now time.Time) {
	m := s.e.metrics
	if p.Flags&wire.FlagAuth != 0 {
		m.Dropped(metrics.DropAuth).Inc()
		return
	}
	if p.TotalLen > s.e.cfg.MaxDumpBytes {
		m.Dropped(metrics.DropTooLarge).Inc()
		return
	}
	k := keyOf(p)
	d := s.table.get(k)
	isNew := false
	if d == nil {
		if s.done.seen(k, now) { // a late copy of a dump stored complete
			m.Duplicates.Inc()
			return
		}
		if d = s.create(k, p, src, at, now); d == nil {
			return
		}
		isNew = true
	} else if p.Reason != d.reason || p.Flags != d.flags || p.TimeNS != d.timeNS || p.Copies != d.copies ||
		!d.sameStrings(p) {
		// Fields every packet of a dump carries alike differ: the first
		// packet's are kept, and this one's bytes still belong at its
		// offset of the same log (same key, same total_len).
		if d.conflicts < math.MaxUint32 { // saturates: there is no room for 64 bits
			d.conflicts++
		}
	}
	d.packets++
	d.last, d.seen = at.UnixNano(), s.e.mono(now)
	s.touch(d)
	off, end := p.Offset, uint32(p.End())
	if !isNew && d.ranges.Contains(off, end) {
		d.dups++
		m.Duplicates.Inc()
		return
	}
	if !d.dirty {
		if !d.slot {
			if !s.e.sources.acquire(d.src.Addr()) {
				m.Dropped(metrics.DropPerSource).Inc()
				return
			}
			d.slot = true
		}
		d.dirty = true
		s.inFlight++
	}
	// The gaps first, then the writes: writing adds to the set Gaps
	// walks.
	var gb [4]ranges.Range
	gaps := gb[:0]
	d.ranges.Gaps(off, end, func(a, b uint32) { gaps = append(gaps, ranges.Range{Start: a, End: b}) })
	if len(gaps) > 0 {
		var werr error
		if werr = s.region(d); werr != nil {
			m.StoreErrors.WithLabelValues("open").Inc()
			s.logErr(now, "cannot create temporary file", "err", werr)
		} else {
			switch {
			case d.mem != nil:
				for _, g := range gaps {
					copy(d.mem[g.Start:], p.Payload[g.Start-off:g.End-off])
					s.hold(d, g)
				}
			case d.spooled:
				werr = s.spoolWrite(d, p, raw, src, at, gaps, now)
			default:
				for _, g := range gaps {
					if werr = s.write(d, g.Start, p.Payload[g.Start-off:g.End-off], now); werr != nil {
						break
					}
				}
			}
		}
		if werr != nil {
			m.Dropped(metrics.DropStoreError).Inc()
		}
	}
	if d.have == d.total {
		// Complete: what is left is the store's work, bounded by its
		// queue and the memory-buffer budget. The source may start
		// another dump.
		s.releaseSlot(d)
		s.finalize(d, now)
	}
}

// hold records that d holds the bytes of g now.
func (s *shard) hold(d *dump, g ranges.Range) {
	d.ranges.Add(g.Start, g.End)
	d.have += g.Len()
}

// spoolWrite appends the packet raw to the spool and records the gaps it
// fills as d's extents.
func (s *shard) spoolWrite(d *dump, p *wire.Packet, raw []byte, src netip.AddrPort, at time.Time, gaps []ranges.Range, now time.Time) error {
	seg, poff, err := s.spool.Append(raw, src, at.UnixNano())
	if err != nil {
		s.e.metrics.StoreErrors.WithLabelValues("write").Inc()
		s.logErr(now, "cannot write the spool", "err", err)
		return err
	}
	base := poff + int64(p.HeaderLen) - int64(p.Offset) // spool offset of log byte 0
	for _, g := range gaps {
		s.ext.add(&d.ext, extent{seg: seg, off: uint32(base + int64(g.Start)), log: g.Start, n: g.Len()})
		s.hold(d, g)
	}
	s.spool.Ref(seg, int64(len(gaps)))
	return nil
}

// releaseSlot gives back d's --max-per-source slot, if it holds one.
func (s *shard) releaseSlot(d *dump) {
	if d.slot {
		d.slot = false
		s.e.sources.release(d.src.Addr())
	}
}

// create adds a dump for the first packet p of key k, received at at,
// making room if the table is full. It returns nil if the packet must be
// dropped.
func (s *shard) create(k dumpKey, p *wire.Packet, src netip.AddrPort, at, now time.Time) *dump {
	m := s.e.metrics
	if s.n >= s.cap && !s.evictOldest(now) {
		m.Dropped(metrics.DropMaxDumps).Inc()
		return nil
	}
	if d := s.draining[k]; d != nil {
		if !s.e.sources.acquire(d.src.Addr()) {
			m.Dropped(metrics.DropPerSource).Inc()
			return nil
		}
		delete(s.draining, k)
		d.removed, d.slot, d.seen = false, true, s.e.mono(now)
		if !d.storing { // its store failed: still to be stored
			d.dirty = true
			s.inFlight++
		}
		s.table.put(d)
		s.pushFront(d)
		s.n++
		return d
	}
	if !s.e.sources.acquire(src.Addr()) {
		m.Dropped(metrics.DropPerSource).Inc()
		return nil
	}
	d := &dump{slot: true,
		key:    k,
		strs:   string(p.Release) + string(p.Label) + string(p.ReasonText),
		relLen: uint8(len(p.Release)), labelLen: uint8(len(p.Label)),
		reason: p.Reason, flags: p.Flags, timeNS: p.TimeNS, count: p.Count, copies: p.Copies,
		total: p.TotalLen, src: src, first: at.UnixNano(), last: at.UnixNano(), seen: s.e.mono(now),
		ranges: ranges.NewSet(p.TotalLen),
	}
	s.table.put(d)
	s.pushFront(d)
	s.n++
	return d
}

// evictOldest frees a table slot: the least recently active dump is
// stored (as partial if it has unstored bytes) and forgotten. It returns
// false if that dump could not be stored.
func (s *shard) evictOldest(now time.Time) bool {
	d := s.lru.prev
	// A dump being stored may have received bytes since its snapshot:
	// evict an older-idle one that is not (looking a few steps only).
	for i := 0; i < 8 && d != &s.lru && d.storing && d.dirty; i++ {
		d = d.prev
	}
	if d == &s.lru || (d.storing && d.dirty) {
		return false
	}
	if d.dirty && !s.finalize(d, now) {
		return false
	}
	s.remove(d)
	return true
}

// remove forgets d and deletes its temporary file. A dump already
// forgotten (retired once stored complete) is left alone.
func (s *shard) remove(d *dump) {
	if d.next == nil {
		return
	}
	if d.dirty {
		d.dirty = false
		s.inFlight--
	}
	if d.storing {
		// The store worker still reads the region (or is yet to: the
		// dump may wait in the queue): freed in applyResult. Its buffered
		// bytes are written out (the store to come reads them; a store
		// running writes none of the gaps they fill), or dropped from its
		// ranges if they cannot be.
		d.removed = true
		s.draining[d.key] = d
		s.bufs.release(d, s)
	} else {
		s.unname(d)
		s.freeRegion(d)
	}
	s.unlink(d)
	s.table.del(d)
	s.n--
	s.releaseSlot(d)
}

// write puts p at offset off of d's temporary file (through the write
// buffer) and records the range. d has its file (region).
func (s *shard) write(d *dump, off uint32, p []byte, now time.Time) error {
	fe := s.bufs.get(d, s)
	if err := s.openTemp(d); err != nil {
		s.e.metrics.StoreErrors.WithLabelValues("open").Inc()
		s.logErr(now, "cannot open temporary file", "err", err)
		return err
	}
	if err := fe.put(off, p, s); err != nil {
		s.logErr(now, "cannot write temporary file", "err", err)
		return err
	}
	d.ranges.Add(off, off+uint32(len(p)))
	d.have += uint32(len(p))
	return nil
}

// meta builds d's sidecar.
func (s *shard) meta(d *dump, now time.Time) *store.Meta {
	host := d.host()
	m := &store.Meta{
		Host: host, HostDir: store.SanitizeName(host), Label: d.label(),
		BootID: hex.EncodeToString(d.key.boot[:]), DumpSeq: d.key.seq, Release: d.release(),
		Reason: d.reason.String(), ReasonCode: uint8(d.reason), ReasonText: d.text(),
		FirstPacket: time.Unix(0, d.first).UTC(), LastPacket: time.Unix(0, d.last).UTC(), StoredAt: now.UTC(),
		Source: d.src.String(), Packets: d.packets, Duplicates: d.dups, Conflicts: uint64(d.conflicts),
		Pieces: d.count, Copies: d.copies, TotalLen: d.total, ReceivedLen: uint64(d.have),
		Missing: d.ranges.Missing(d.total), Complete: d.have == d.total,
		Flags: uint16(d.flags), Truncated: d.flags&wire.FlagTruncated != 0,
		Prefixed: d.flags&wire.FlagPrefixed != 0,
	}
	if m.Missing == nil {
		m.Missing = []ranges.Range{}
	}
	m.MissingBytes = uint64(d.total - d.have)
	if d.timeNS != 0 {
		t := time.Unix(0, int64(d.timeNS)).UTC()
		m.DumpTime = &t
	}
	return m
}

// storeJob is a dump to write out, snapshotted by its shard: the store
// workers read the bytes held then, all but job.m.Missing (from the
// memory buffer or the temporary file), which the shard never rewrites
// (only gaps are written), while the shard goes on receiving.
type storeJob struct {
	s                 *shard
	d                 *dump
	m                 *store.Meta
	dumpTime          time.Time
	src               store.LogSource
	have              uint32
	logPath, metaPath string
	named             bool // logPath's name is reserved to the dump (its last store failed)
	// A dump in the spool: its pieces, read back by the store worker
	// (runJob); nExt is how many of its extents they are.
	pieces []store.Piece
	nExt   int32
}

type storeResult struct {
	job               *storeJob
	logPath, metaPath string
	moved             bool // the temporary file is now the log
	named             bool // the store failed and logPath's name stays reserved to the dump
	tmp               string
	err               error
}

// finalize starts storing d as it is (complete or partial): inline when
// the engine is not started (tests); else d joins the shard's store queue,
// which pump hands to the store workers a few at a time, taking each
// dump's snapshot then. So a storm of dumps finishing at once waits as
// dumps (whose bytes are in the spool), not as snapshots, and each is
// stored with what it holds when its turn comes. Inline, it returns false
// if the store cannot start (its bytes cannot be written out).
func (s *shard) finalize(d *dump, now time.Time) bool {
	if d.storing {
		return true // applyResult looks again when that store ends
	}
	if s.results == nil {
		job, ok := s.snapshot(d, now)
		if !ok {
			return false
		}
		d.storing = true
		s.pending++
		s.running++
		if s.copyBuf == nil {
			s.copyBuf = make([]byte, 64<<10)
		}
		s.applyResult(s.e.runJob(job, s.copyBuf), now)
		return true
	}
	d.storing = true
	s.pending++
	s.queue = append(s.queue, d)
	return true
}

// snapshot builds d's store job: its sidecar as of now and where its
// bytes are, written out first (its write buffer, and the spool's buffer
// if it holds some of d's pieces). It returns false, with d to be retried
// a second later, if they cannot be written.
func (s *shard) snapshot(d *dump, now time.Time) (*storeJob, bool) {
	if d.fe != nil {
		if err := d.fe.flush(s); err != nil {
			s.logErr(now, "cannot write temporary file; will retry", "host", d.host(), "err", err)
			d.retryAt = s.e.mono(now.Add(time.Second))
			return nil, false
		}
	}
	if d.spooled && !d.ext.empty() {
		last := s.ext.last(&d.ext)
		if s.spool.Unflushed(last.seg, int64(last.off)+int64(last.n)) {
			if err := s.spool.Flush(); err != nil {
				s.e.metrics.StoreErrors.WithLabelValues("write").Inc()
				s.logErr(now, "cannot write the spool; will retry", "host", d.host(), "err", err)
				d.retryAt = s.e.mono(now.Add(time.Second))
				return nil, false
			}
		}
	}
	src := store.LogSource{Tmp: d.tmp(), Moved: d.logMoved}
	if d.mem != nil {
		src.Mem = d.mem[:d.total]
	}
	m := s.meta(d, now)
	job := &storeJob{s: s, d: d, m: m, dumpTime: time.Unix(0, d.first), src: src, have: d.have,
		logPath: d.logPath, metaPath: d.metaPath, named: d.named}
	if m.DumpTime != nil {
		job.dumpTime = *m.DumpTime
	}
	if d.spooled && !d.ext.empty() && !d.logMoved {
		job.pieces = make([]store.Piece, 0, d.ext.n)
		s.ext.each(&d.ext, 0, func(x extent) {
			job.pieces = append(job.pieces, store.Piece{F: s.spool.File(x.seg), Off: int64(x.off), Log: x.log, N: x.n})
		})
		job.nExt = d.ext.n
	}
	return job, true
}

// maxRunning is how many stores a shard has with the store workers at
// once (the rest wait in its queue).
func (s *shard) maxRunning() int {
	return max(4, 2*s.e.cfg.StoreWorkers/len(s.e.shards))
}

// pump hands queued dumps to the store workers while fewer than
// maxRunning of the shard's are there. A dump whose snapshot cannot be
// taken (a full disk) leaves the queue, to be retried by the sweeps.
func (s *shard) pump(now time.Time) {
	for s.running < s.maxRunning() && s.qhead < len(s.queue) {
		d := s.queue[s.qhead]
		s.queue[s.qhead] = nil
		s.qhead++
		job, ok := s.snapshot(d, now)
		if !ok {
			d.storing = false
			s.pending--
			continue
		}
		s.running++
		s.submit(job, now)
	}
	if s.qhead == len(s.queue) {
		s.queue, s.qhead = s.queue[:0], 0
	} else if s.qhead > 4096 && s.qhead > len(s.queue)/2 {
		s.queue = s.queue[:copy(s.queue, s.queue[s.qhead:])]
		s.qhead = 0
	}
}

// pumpSoon starts stores from the queue now if no receiver has a
// backlog, else leaves it to the shard's pumper, which waits for the
// receivers (priority.Gate) like the store workers do: taking a dump's
// snapshot (its sidecar, its pieces, a write of the spool's buffer) is
// the first step of storing it, and when a storm's dumps complete at once
// that is thousands of them, which the receive goroutine must not do
// while the socket buffer fills.
func (s *shard) pumpSoon(now time.Time) {
	if s.kick == nil || !s.e.gate.Busy() {
		s.pump(now)
		return
	}
	if s.qhead < len(s.queue) && s.running < s.maxRunning() {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// submit hands job to the store workers. It keeps applying results while
// the channel is full: the store workers may be waiting to hand this
// shard its results.
func (s *shard) submit(job *storeJob, now time.Time) {
	for {
		select {
		case s.e.jobs <- job:
			return
		case r := <-s.results:
			s.applyResult(r, now)
		}
	}
}

// wait stores the queued dumps and applies results until no store of the
// shard is running or queued.
func (s *shard) wait(now time.Time) {
	for {
		s.pump(now)
		if s.running == 0 {
			return
		}
		s.applyResult(<-s.results, now)
	}
}

// runJob writes a dump's files; it runs on a store worker. A dump in the
// spool is read back first: a complete one of at most maxPooledLog bytes
// into memory, to be stored (and its crash named) from there; any other
// into a new temporary file of its own, written at the pieces' log
// offsets (copy_file_range from the spool), which the store then treats
// like the temporary file of a dump received into one: renamed into
// place when complete, kept for the pieces to come when partial (so that
// the spool's segments can be deleted). So what a store holds in memory is
// bounded by maxPooledLog, or by what was received (the crash extraction
// reads the stored log), as before the spool.
func (e *Engine) runJob(job *storeJob, buf []byte) storeResult {
	m := job.m
	mt := e.metrics
	var tmp string
	if job.pieces != nil {
		var err error
		if m.Complete && m.TotalLen <= maxPooledLog {
			log := e.getLogBuf(m.TotalLen)
			defer e.logBufs.Put(log)
			if err = store.Assemble(*log, job.pieces, buf); err == nil {
				job.src.Mem = *log
			}
		} else if tmp, err = e.spoolToFile(job, buf); err == nil {
			job.src.Tmp = tmp
		}
		job.pieces = nil
		if err != nil {
			mt.StoreErrors.WithLabelValues("store").Inc()
			e.log.Error("cannot read a dump back from the spool; will retry", "host", m.Host, "err", err)
			return storeResult{job: job, logPath: job.logPath, metaPath: job.metaPath, named: job.named, err: err}
		}
	}
	logPath, metaPath, n, moved, err := e.store.StoreDump(m, job.dumpTime, job.src, buf, job.logPath, job.metaPath)
	job.src.Mem = nil // the buffer is the pool's again
	switch {
	case errors.Is(err, store.ErrSkip):
		mt.DumpsSkip.Inc()
		e.log.Info("dump not stored: a stored copy is at least as complete", "host", m.Host, "boot_id", m.BootID, "dump_seq", m.DumpSeq, "meta", metaPath)
	case err != nil:
		mt.StoreErrors.WithLabelValues("store").Inc()
	default:
		if m.Complete {
			mt.DumpsFull.Inc()
		} else {
			mt.DumpsPart.Inc()
		}
		mt.BytesStored.Add(float64(n))
		e.emit(m, logPath, metaPath)
	}
	named := err != nil && !errors.Is(err, store.ErrSkip) && logPath != ""
	r := storeResult{job: job, logPath: logPath, metaPath: metaPath, moved: moved, named: named, err: err}
	if tmp != "" && !moved {
		if !m.Complete && (err == nil || errors.Is(err, store.ErrSkip)) {
			r.tmp = tmp // the dump's own file from now on
		} else {
			e.cfg.FS.Remove(tmp) // a retry reads the spool again
		}
	}
	return r
}

// getLogBuf returns a buffer of n bytes for a dump read back from the
// spool.
func (e *Engine) getLogBuf(n uint32) *[]byte {
	bp, _ := e.logBufs.Get().(*[]byte)
	if bp == nil || uint32(cap(*bp)) < n {
		b := make([]byte, n, max(n, 128<<10))
		bp = &b
	}
	*bp = (*bp)[:n]
	return bp
}

// maxPooledLog is the largest complete dump read back from the spool into
// memory.
const maxPooledLog = 2 << 20

// spoolToFile writes the pieces of a dump in the spool into a new
// temporary file in the in-flight directory, at their log offsets, and
// returns its path.
func (e *Engine) spoolToFile(job *storeJob, buf []byte) (string, error) {
	path := filepath.Join(e.store.InflightDir(), "m"+strconv.FormatUint(e.tmpSeq.Add(1), 10)+".part")
	f, err := e.cfg.FS.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		e.metrics.StoreErrors.WithLabelValues("open").Inc()
		return "", err
	}
	err = store.WritePieces(f, job.pieces, buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		e.metrics.StoreErrors.WithLabelValues("write").Inc()
		e.cfg.FS.Remove(path)
		return "", err
	}
	return path, nil
}

// applyResult updates a dump's state after a store ended.
func (s *shard) applyResult(r storeResult, now time.Time) {
	job, d := r.job, r.job.d
	d.storing = false
	s.pending--
	s.running--
	if r.moved { // the temporary file is the stored log now: keep it
		s.files.close(d)
		d.clearTmp()
		d.logMoved = true
	}
	d.named = r.named
	if r.tmp != "" && (d.removed || job.m.Complete || r.err != nil && !errors.Is(r.err, store.ErrSkip)) {
		s.e.store.FS.Remove(r.tmp) // moving out of the spool is moot
		r.tmp = ""
	}
	if r.err != nil && !errors.Is(r.err, store.ErrSkip) {
		d.logPath, d.metaPath = r.logPath, r.metaPath
		s.logErr(now, "cannot store dump; will retry", "host", d.host(), "dump_seq", d.key.seq, "err", r.err)
		d.retryAt = s.e.mono(now.Add(time.Second))
		if d.removed {
			if len(s.draining) <= s.cap {
				return // kept in draining: the sweeps retry it
			}
			s.undrain(d)
			if r.moved {
				s.e.log.Error("dump evicted: its complete log is stored, its sidecar is not", "host", d.host(), "dump_seq", d.key.seq, "log", r.logPath, "err", r.err)
			} else {
				s.e.log.Error("dump lost: evicted and not storable", "host", d.host(), "dump_seq", d.key.seq, "err", r.err)
			}
			s.unname(d)
			s.freeRegion(d)
		}
		return
	}
	if r.err == nil {
		d.logPath, d.metaPath = r.logPath, r.metaPath
	}
	d.stored = true
	if job.have == d.have { // nothing new arrived meanwhile
		if d.dirty {
			d.dirty = false
			s.inFlight--
		}
		s.releaseSlot(d)
	}
	if job.m.Complete {
		s.retire(d, now)
		return
	}
	if d.removed {
		s.undrain(d)
		s.freeRegion(d)
		return
	}
	if r.tmp != "" {
		s.adoptTemp(d, r.tmp, job.nExt, now)
	}
	// A dump completed while its partial copy was being stored is stored
	// again by the next sweep (no recursion here: finalize applies results).
}

// retire forgets d, stored complete, keeping only its key in the done
// set to absorb its late copies.
func (s *shard) retire(d *dump, now time.Time) {
	if d.removed {
		s.undrain(d)
		s.freeRegion(d)
	} else {
		s.remove(d)
	}
	s.done.add(d.key, now)
}

// unname gives up the name a failed store reserved to d, for good.
func (s *shard) unname(d *dump) {
	if d.named {
		d.named = false
		s.e.store.Release(d.metaPath)
	}
}

// undrain takes a removed dump whose store ended out of draining.
func (s *shard) undrain(d *dump) {
	if s.draining[d.key] == d {
		delete(s.draining, d.key)
	}
}

// sweep stores dumps idle for cfg.Idle as partial and forgets stored ones
// idle for cfg.Retain.
func (s *shard) sweep(now time.Time) {
	idle, retain := s.e.cfg.Idle, s.e.cfg.Retain
	mnow := s.e.mono(now)
	var bk int64
	s.done.expire(now, retain)
	for d := s.lru.prev; d != &s.lru; {
		prev := d.prev
		age := time.Duration(mnow - d.seen)
		switch {
		case d.storing:
		case d.dirty && d.retryDue(mnow) && (age >= idle || d.have == d.total):
			s.finalize(d, now)
		case !d.dirty && age >= retain:
			s.remove(d)
		}
		if d.prev != nil {
			bk += d.memBytes()
		}
		d = prev
	}
	for _, d := range s.draining { // evicted dumps whose store failed: retry
		if !d.storing && d.retryDue(mnow) {
			s.finalize(d, now)
		}
		bk += d.memBytes()
	}
	s.pump(now)
	s.flushSpool(now)
	s.bookkeeping = bk + s.done.memBytes() + int64(s.bufs.memBytes()) + s.mem.used + s.ext.memBytes()
	s.e.publish(s)
}

// flushAll stores every dump with unstored bytes as it is and forgets
// every dump.
func (s *shard) flushAll(now time.Time) {
	// Let running stores finish first, so that bytes received since their
	// snapshots are stored too.
	s.wait(now)
	for d := s.lru.prev; d != &s.lru; {
		prev := d.prev // finalize may retire d (inline)
		if d.dirty {
			s.finalize(d, now)
		}
		d = prev
	}
	s.wait(now)
	for d := s.lru.prev; d != &s.lru; {
		prev := d.prev
		if d.dirty && !d.storing { // a retry after a failed store
			s.finalize(d, now)
			s.wait(now)
		}
		s.remove(d)
		d = prev
	}
	for _, d := range s.draining { // evicted dumps whose store failed
		if !d.storing {
			s.finalize(d, now)
		}
	}
	s.wait(now)
	for _, d := range s.draining {
		s.e.log.Error("dump lost: evicted and not storable", "host", d.host(), "dump_seq", d.key.seq, "log", d.logPath)
		s.undrain(d)
		s.unname(d)
		s.freeRegion(d)
	}
	s.e.publish(s)
}

// flushSpool writes out the spool's buffer (each sweep, and when the
// socket is read empty): what was received is in the page cache within a
// second.
func (s *shard) flushSpool(now time.Time) {
	if err := s.spool.Flush(); err != nil {
		s.e.metrics.StoreErrors.WithLabelValues("write").Inc()
		s.logErr(now, "cannot write the spool", "err", err)
	}
}

// closeSpool writes out and deletes the spool once every dump is stored
// (or given up): at exit nothing in it is needed any more.
func (s *shard) closeSpool(now time.Time) {
	if err := s.spool.Close(); err != nil {
		s.logErr(now, "cannot write the spool", "err", err)
	}
	s.mem.release()
}

func (d *dump) memBytes() int64 {
	n := int64(unsafe.Sizeof(*d)) + int64(len(d.strs)+len(d.logPath)+len(d.metaPath)) + int64(d.ranges.MemBytes()) + int64(unsafe.Sizeof(dumpKey{})) + 16 // map entry: key, pointer, overhead
	if d.tf != nil {
		n += int64(unsafe.Sizeof(*d.tf)) + int64(len(d.tf.path))
	}
	return n
}
