package catcher

import "os"

// writeBufSize is the size of a file entry's write-coalescing buffer:
// contiguous pieces (a dump arrives tail first, piece after piece) are
// gathered and written with one pwrite.
const writeBufSize = 32 << 10

// fileEntry is an open temporary file of a dump and its write buffer.
type fileEntry struct {
	d          *dump
	f          File
	buf        []byte
	lo, hi     int    // buffered bytes are buf[lo:hi]
	base       uint32 // file offset of buf[lo]
	asc        bool   // the last run grew upwards
	prev, next *fileEntry
}

// fileCache bounds a shard's open files: an LRU of entries, opened on
// write, closed (after flushing) when another dump needs the slot.
type fileCache struct {
	entries []fileEntry
	lru     fileEntry // sentinel; free entries are at the tail
}

func (c *fileCache) init(n int) {
	c.entries = make([]fileEntry, n)
	c.lru.next, c.lru.prev = &c.lru, &c.lru
	for i := range c.entries {
		c.front(&c.entries[i])
	}
}

func (c *fileCache) unlink(fe *fileEntry) {
	fe.prev.next, fe.next.prev = fe.next, fe.prev
}

func (c *fileCache) front(fe *fileEntry) {
	fe.next, fe.prev = c.lru.next, &c.lru
	c.lru.next.prev = fe
	c.lru.next = fe
}

func (c *fileCache) memBytes() int {
	n := 0
	for i := range c.entries {
		n += cap(c.entries[i].buf)
	}
	return n
}

// get returns d's open entry, opening its file if needed.
func (c *fileCache) get(d *dump, s *shard) (*fileEntry, error) {
	if fe := d.fe; fe != nil {
		if c.lru.next != fe {
			c.unlink(fe)
			c.front(fe)
		}
		return fe, nil
	}
	fe := c.lru.prev
	if fe.d != nil {
		c.release(fe.d, s)
	}
	flag := os.O_RDWR | os.O_CREATE
	if !d.hasFile {
		flag |= os.O_TRUNC
	}
	f, err := s.e.store.FS.OpenFile(s.e.store.partPath(d.id), flag, 0o600)
	if err != nil {
		return nil, err
	}
	d.hasFile = true
	fe.d, fe.f, fe.lo, fe.hi, fe.asc = d, f, 0, 0, false
	if fe.buf == nil {
		fe.buf = make([]byte, writeBufSize)
	}
	d.fe = fe
	c.unlink(fe)
	c.front(fe)
	return fe, nil
}

// release flushes and closes d's entry, if it has one. The entry stays in
// the LRU, empty, and is reused first.
func (c *fileCache) release(d *dump, s *shard) {
	fe := d.fe
	if fe == nil {
		return
	}
	if fe.flush(s) != nil {
		fe.drop()
	}
	fe.f.Close()
	fe.f, fe.d, d.fe = nil, nil, nil
	c.unlink(fe)
	// Put it at the tail so it is taken next.
	fe.prev, fe.next = c.lru.prev, &c.lru
	c.lru.prev.next = fe
	c.lru.prev = fe
}

// put buffers p at file offset off, writing out the buffer when p does
// not extend its run.
func (fe *fileEntry) put(off uint32, p []byte, s *shard) error {
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
		if _, err := fe.f.WriteAt(p, int64(off)); err != nil {
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
func (fe *fileEntry) flush(s *shard) error {
	if fe.hi <= fe.lo {
		return nil
	}
	if _, err := fe.f.WriteAt(fe.buf[fe.lo:fe.hi], int64(fe.base)); err != nil {
		s.e.metrics.StoreErrors.WithLabelValues("write").Inc()
		return err
	}
	fe.lo, fe.hi = 0, 0
	return nil
}

// drop forgets the buffered run and takes its bytes out of the dump's
// ranges: a later copy of those pieces may bring them back.
func (fe *fileEntry) drop() {
	if fe.hi <= fe.lo {
		return
	}
	d := fe.d
	before := d.ranges.covered()
	d.ranges.remove(fe.base, fe.base+uint32(fe.hi-fe.lo))
	d.have -= before - d.ranges.covered()
	fe.lo, fe.hi = 0, 0
}
