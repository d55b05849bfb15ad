package reassembly

import (
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/netoops/netoops/internal/catcher/store"
)

// In-flight dumps are kept on disk, not in memory: a dump's bytes are
// written, piece by piece at their log offsets, into a temporary file of
// its own in DIR/.inflight, and memory holds only the dump's range set.
// When the dump is complete that file is its log: storing it is an fsync
// and a rename, so every byte goes into the page cache once. A partial
// dump's log (with gap markers) is copied out of it, and the temporary
// file stays for the pieces still to come. The files stay open between
// writes, in a shard's fileCache bounded by Config.OpenFiles (and the
// process's open-file limit), so that a storm of interleaved dumps does not
// reopen a file per packet.
//
// Except for a bounded number of small dumps: while the shard's share of
// Config.MemBytes lasts, a dump of at most memDumpMax bytes gets a buffer
// of its own size in memory instead of a temporary file, its pieces are
// copied there, and storing it writes the log file from that buffer with
// a few large writes instead of one per write buffer's worth. The buffers
// are recycled, and the budget bounds them whatever the number of dumps in
// flight: the dumps beyond it take temporary files.

const (
	// writeBufSize is the size of a write-coalescing buffer: contiguous
	// pieces of one dump (a dump arrives tail first, piece after piece)
	// are gathered and written with one pwrite.
	writeBufSize = 32 << 10
	// memDumpMax is the largest dump kept in a memory buffer.
	memDumpMax = 1 << 20
	// memMinClass is log2 of the smallest memory buffer.
	memMinClass = 12
)

// region gives d its memory buffer, or else starts it in the spool (or,
// with Config.NoSpool, creates its temporary file), if it has none yet.
func (s *shard) region(d *dump) error {
	if d.tf != nil || d.mem != nil || d.spooled {
		return nil
	}
	if !s.e.replaying.Load() {
		if d.mem = s.mem.get(d.total); d.mem != nil {
			return nil
		}
	}
	if !s.e.cfg.NoSpool {
		d.spooled = true
		return nil
	}
	s.tmpSeq++
	path := filepath.Join(s.e.store.InflightDir(), strconv.Itoa(s.idx)+"-"+strconv.FormatUint(s.tmpSeq, 10)+".part")
	f, err := s.e.store.FS.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	d.setTmp(path)
	s.files.add(d, f, s)
	return nil
}

// openTemp reopens d's temporary file if it was closed.
func (s *shard) openTemp(d *dump) error {
	if d.tf.f != nil {
		s.files.touch(d)
		return nil
	}
	f, err := s.e.store.FS.OpenFile(d.tf.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	s.files.add(d, f, s)
	return nil
}

// fileCache keeps a shard's temporary files open, the least recently
// written closed first beyond max. Sized for every dump in flight (the
// open-file limit permitting), so that a storm of interleaved dumps does
// not reopen a file per packet.
type fileCache struct {
	lru dump // sentinel: lru.tf.next is the most recent
	n   int
	max int
}

func (c *fileCache) init(max int) {
	c.lru.tf = &tempFile{prev: &c.lru, next: &c.lru}
	c.max = max
}

func (c *fileCache) unlink(d *dump) {
	t := d.tf
	t.prev.tf.next, t.next.tf.prev = t.next, t.prev
	t.prev, t.next = nil, nil
}

func (c *fileCache) front(d *dump) {
	d.tf.next, d.tf.prev = c.lru.tf.next, &c.lru
	c.lru.tf.next.tf.prev = d
	c.lru.tf.next = d
}

func (c *fileCache) touch(d *dump) {
	if c.lru.tf.next != d {
		c.unlink(d)
		c.front(d)
	}
}

// add makes f the open file of d's temporary file, closing the least
// recently used one if the cache is full (writing out that dump's
// buffered run first).
func (c *fileCache) add(d *dump, f store.File, s *shard) {
	for c.n >= c.max && c.lru.tf.prev != &c.lru {
		v := c.lru.tf.prev
		if fe := v.fe; fe != nil && fe.flush(s) != nil {
			fe.drop()
		}
		c.close(v)
	}
	d.tf.f = f
	c.front(d)
	c.n++
}

// close closes d's file if it is open.
func (c *fileCache) close(d *dump) {
	if d.tf == nil || d.tf.f == nil {
		return
	}
	d.tf.f.Close()
	d.tf.f = nil
	c.unlink(d)
	c.n--
}

// freeRegion releases d's memory buffer, its records in the spool, or
// deletes its temporary file (and frees its write buffer, unflushed).
func (s *shard) freeRegion(d *dump) {
	s.releaseExtents(d)
	if fe := d.fe; fe != nil {
		fe.lo, fe.hi = 0, 0
		s.bufs.release(d, s)
	}
	if d.mem != nil {
		s.mem.put(d.mem)
		d.mem = nil
	}
	s.files.close(d)
	if p := d.tmp(); p != "" {
		s.e.store.FS.Remove(p)
	}
	d.clearTmp()
}

// releaseExtents drops d's references to the spool: a segment no dump
// refers to any more is deleted.
func (s *shard) releaseExtents(d *dump) {
	d.spooled = false
	if d.ext.empty() {
		return
	}
	var seg uint32
	var n int64
	s.ext.each(&d.ext, 0, func(x extent) {
		if n > 0 && x.seg != seg {
			s.spool.Release(seg, n)
			n = 0
		}
		seg = x.seg
		n++
	})
	s.spool.Release(seg, n)
	s.ext.clear(&d.ext)
}

// adoptTemp makes the temporary file a store worker wrote d's bytes into
// (at path, holding the first from of its extents) d's region instead of
// the spool: the pieces that arrived since are copied over, and d's
// records in the spool released. If that fails, d stays in the spool and
// the file is removed.
func (s *shard) adoptTemp(d *dump, path string, from int32, now time.Time) {
	f, err := s.e.store.FS.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		s.logErr(now, "cannot open temporary file", "err", err)
		s.e.store.FS.Remove(path)
		return
	}
	if s.copyBuf == nil {
		s.copyBuf = make([]byte, 64<<10)
	}
	s.ext.each(&d.ext, from, func(x extent) {
		if err != nil {
			return
		}
		if s.spool.Unflushed(x.seg, int64(x.off)+int64(x.n)) {
			if err = s.spool.Flush(); err != nil {
				return
			}
		}
		b := s.copyBuf[:x.n]
		if _, err = s.spool.File(x.seg).ReadAt(b, int64(x.off)); err == nil {
			_, err = f.WriteAt(b, int64(x.log))
		}
	})
	if err != nil {
		s.e.metrics.StoreErrors.WithLabelValues("write").Inc()
		s.logErr(now, "cannot move a dump out of the spool; it stays there", "host", d.host(), "err", err)
		f.Close()
		s.e.store.FS.Remove(path)
		return
	}
	s.releaseExtents(d)
	d.setTmp(path)
	s.files.add(d, f, s)
}

// memPool hands out a shard's memory buffers, by power-of-two size class,
// within a budget that counts the buffers in use and the free ones.
type memPool struct {
	budget, used int64
	free         [bits.UintSize][][]byte // by class
}

// get returns a buffer of at least n bytes (not zeroed), or nil if n is
// too large or the budget is spent.
func (c *memPool) get(n uint32) []byte {
	if n == 0 || n > memDumpMax || c.budget <= 0 {
		return nil
	}
	k := max(bits.Len32(n-1), memMinClass)
	if l := len(c.free[k]); l > 0 {
		b := c.free[k][l-1]
		c.free[k][l-1] = nil
		c.free[k] = c.free[k][:l-1]
		return b[:n]
	}
	size := int64(1) << k
	for i := range c.free { // make room by dropping free buffers of other sizes
		for c.used+size > c.budget && len(c.free[i]) > 0 {
			l := len(c.free[i])
			c.used -= int64(cap(c.free[i][l-1]))
			freeMem(c.free[i][l-1])
			c.free[i][l-1] = nil
			c.free[i] = c.free[i][:l-1]
		}
	}
	if c.used+size > c.budget {
		return nil
	}
	c.used += size
	return allocMem(int(size))[:n]
}

// release frees the free buffers (at Close: none is in use then).
func (c *memPool) release() {
	for k := range c.free {
		for _, b := range c.free[k] {
			c.used -= int64(cap(b))
			freeMem(b)
		}
		c.free[k] = nil
	}
}

// put takes back a buffer from get.
func (c *memPool) put(b []byte) {
	k := bits.Len(uint(cap(b)) - 1)
	c.free[k] = append(c.free[k], b[:0])
}

// writeBuf is a write-coalescing buffer lent to one dump at a time.
type writeBuf struct {
	d          *dump
	buf        []byte
	lo, hi     int    // buffered bytes are buf[lo:hi]
	base       uint32 // log offset of buf[lo]
	asc        bool   // the last run grew upwards
	prev, next *writeBuf
}

// bufPool is a shard's LRU of write buffers.
type bufPool struct {
	entries []writeBuf
	lru     writeBuf // sentinel; free entries are at the tail
}

func (c *bufPool) init(n int) {
	c.entries = make([]writeBuf, n)
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	for i := range c.entries {
		c.front(&c.entries[i])
	}
}

func (c *bufPool) unlink(fe *writeBuf) { fe.prev.next, fe.next.prev = fe.next, fe.prev }

func (c *bufPool) front(fe *writeBuf) {
	fe.next, fe.prev = c.lru.next, &c.lru
	c.lru.next.prev = fe
	c.lru.next = fe
}

func (c *bufPool) memBytes() int {
	n := 0
	for i := range c.entries {
		n += cap(c.entries[i].buf)
	}
	return n
}

// get returns d's buffer, taking the least recently used one (flushing
// it) if d has none.
func (c *bufPool) get(d *dump, s *shard) *writeBuf {
	if fe := d.fe; fe != nil {
		if c.lru.next != fe {
			c.unlink(fe)
			c.front(fe)
		}
		return fe
	}
	fe := c.lru.prev
	if fe.d != nil {
		c.release(fe.d, s)
	}
	fe.d, fe.lo, fe.hi, fe.asc = d, 0, 0, false
	if fe.buf == nil {
		fe.buf = make([]byte, writeBufSize)
	}
	d.fe = fe
	c.unlink(fe)
	c.front(fe)
	return fe
}

// release flushes d's buffer (dropping its bytes from d's ranges if that
// fails) and frees it.
func (c *bufPool) release(d *dump, s *shard) {
	fe := d.fe
	if fe == nil {
		return
	}
	if fe.flush(s) != nil {
		fe.drop()
	}
	fe.d, d.fe = nil, nil
	c.unlink(fe)
	fe.prev, fe.next = c.lru.prev, &c.lru
	c.lru.prev.next = fe
	c.lru.prev = fe
}

// put buffers p at log offset off, writing out the buffer when p does not
// extend its run.
func (fe *writeBuf) put(off uint32, p []byte, s *shard) error {
	n := len(p)
	if fe.hi > fe.lo {
		end := fe.base + uint32(fe.hi-fe.lo)
		switch {
		case off == end && fe.hi+n <= len(fe.buf):
			copy(fe.buf[fe.hi:], p)
			fe.hi += n
			fe.asc = true
			return nil
		case off+uint32(n) == fe.base && fe.lo >= n:
			fe.lo -= n
			copy(fe.buf[fe.lo:], p)
			fe.base = off
			fe.asc = false
			return nil
		}
		if err := fe.flush(s); err != nil {
			return err
		}
	}
	if n > len(fe.buf)/2 {
		d := fe.d
		if _, err := d.tf.f.WriteAt(p, int64(off)); err != nil {
			s.e.metrics.StoreErrors.WithLabelValues("write").Inc()
			return err
		}
		return nil
	}
	if fe.asc {
		fe.lo = 0
	} else {
		fe.lo = len(fe.buf) - n
	}
	fe.hi = fe.lo + n
	copy(fe.buf[fe.lo:], p)
	fe.base = off
	return nil
}

// flush writes the buffered run. On error the run stays buffered (a full
// disk may free up; finalize retries), and the caller decides.
func (fe *writeBuf) flush(s *shard) error {
	if fe.hi <= fe.lo {
		return nil
	}
	d := fe.d
	if _, err := d.tf.f.WriteAt(fe.buf[fe.lo:fe.hi], int64(fe.base)); err != nil {
		s.e.metrics.StoreErrors.WithLabelValues("write").Inc()
		return err
	}
	fe.lo, fe.hi = 0, 0
	return nil
}

// drop forgets the buffered run and takes its bytes out of the dump's
// ranges: a later copy of those pieces may bring them back.
func (fe *writeBuf) drop() {
	if fe.hi <= fe.lo {
		return
	}
	d := fe.d
	before := d.ranges.Covered()
	d.ranges.Remove(fe.base, fe.base+uint32(fe.hi-fe.lo))
	d.have -= uint32(before - d.ranges.Covered())
	fe.lo, fe.hi = 0, 0
}
