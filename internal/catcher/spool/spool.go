// Package spool is a shard's sequential journal of the packets of the
// dumps it is receiving: every packet that brings new bytes is appended,
// raw, with its source address and receive time, to the shard's current
// segment file in the store's in-flight directory, through a buffer
// written out a BufSize at a time. So a new dump costs no file of its own
// while it is received (creating one costs 20-70 µs on a disk, and a storm
// starts thousands of dumps at once), and the bytes in flight live in the
// page cache, not in the process's memory. The reassembly engine keeps,
// per dump, where its pieces are (segment and offset) and reads them back
// when it stores the dump.
//
// A segment is deleted once no dump refers to it any more (Release), by
// the function the owner gives (so that the unlink, which takes
// milliseconds for a large file, runs as deferred work). Nothing is
// fsynced: like the temporary files of dumps in flight, a segment survives
// a crash of the catcher (the page cache keeps it) but not necessarily one
// of the machine. Scan reads the records of the segments a crashed
// catcher left behind, so that the dumps they hold can be rebuilt.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/netoops/netoops/internal/catcher/store"
)

const (
	// DefaultSegmentSize is the size at which a segment is closed and
	// the next one started.
	DefaultSegmentSize = 64 << 20
	// BufSize is the write buffer: records are written out in runs of
	// this size (fewer, larger writes cost less CPU per byte).
	BufSize = 128 << 10
	// RecordHeaderLen is the size of a record's header.
	RecordHeaderLen = 32
	// maxPacket is the largest packet a record holds.
	maxPacket = 0xffff
)

// fileMagic starts every segment file.
var fileMagic = [16]byte{'n', 'e', 't', 'o', 'o', 'p', 's', ' ', 's', 'p', 'o', 'o', 'l', ' ', '1', '\n'}

const recMagic = 0xa55a

// Record layout (little endian):
//
//	0  u16 magic 0xa55a
//	2  u16 packet length
//	4  u16 source port
//	6  u8  source family: 4, 6, or 0 (none)
//	7  u8  reserved (0)
//	8  [16] source address (IPv4 in the first 4 bytes)
//	24 i64 receive time, Unix nanoseconds (0: unknown)
//	32 the packet

// Suffix is the file name suffix of segments.
const Suffix = store.SpoolSuffix

// Spool is one shard's journal. Its methods are called from the owner's
// goroutine (under its lock); the files it hands out (File) may be read
// from any goroutine while the records read are referenced.
type Spool struct {
	fs      store.FS
	dir     string
	shard   int
	segSize int64
	free    func(path string, f store.File) // deletes an unreferenced segment
	next    uint32                          // id of the next segment
	cur     *segment
	segs    map[uint32]*segment
	buf     []byte // records not yet written, of cur, from cur.flushed
}

type segment struct {
	id      uint32
	path    string
	f       store.File
	size    int64 // bytes appended (written or in buf)
	flushed int64 // bytes written
	refs    int64
}

// Config configures New.
type Config struct {
	FS      store.FS
	Dir     string // the in-flight directory
	Shard   int    // in the file names
	FirstID uint32 // id of the first segment (above those of older runs)
	// SegmentSize defaults to DefaultSegmentSize.
	SegmentSize int64
	// Free deletes a segment no record of which is referenced any more:
	// close f and remove path. Default: at once.
	Free func(path string, f store.File)
}

// New returns an empty spool; its first segment is created by the first
// Append.
func New(c Config) *Spool {
	s := &Spool{fs: c.FS, dir: c.Dir, shard: c.Shard, segSize: c.SegmentSize, free: c.Free, next: c.FirstID,
		segs: map[uint32]*segment{}, buf: make([]byte, 0, BufSize)}
	if s.segSize <= 0 {
		s.segSize = DefaultSegmentSize
	}
	if s.free == nil {
		s.free = func(path string, f store.File) {
			f.Close()
			c.FS.Remove(path)
		}
	}
	return s
}

// Name is a segment's file name: <id>-<shard>.spool, ids zero-padded so
// that names sort in id order.
func Name(id uint32, shard int) string {
	return fmt.Sprintf("%010d-%d%s", id, shard, Suffix)
}

// ErrTooLarge is Append's error for a packet larger than a record holds.
var ErrTooLarge = errors.New("spool: packet too large")

// Append adds a record of pkt, received from src at at (Unix ns), and
// returns the position of the packet's first byte: the segment and the
// offset in it. It writes out the buffer when full; on a write error
// (a full disk) nothing is appended and the error is returned: the
// buffered records stay, and are written by a later Append or Flush.
func (s *Spool) Append(pkt []byte, src netip.AddrPort, at int64) (seg uint32, off int64, err error) {
	if len(pkt) > maxPacket {
		return 0, 0, ErrTooLarge
	}
	n := RecordHeaderLen + len(pkt)
	if s.cur == nil || s.cur.size+int64(n) > s.segSize && s.cur.size > int64(len(fileMagic)) {
		if err := s.rotate(); err != nil {
			return 0, 0, err
		}
	}
	if len(s.buf)+n > cap(s.buf) {
		if err := s.Flush(); err != nil {
			return 0, 0, err
		}
	}
	b := s.buf[len(s.buf) : len(s.buf)+n]
	le := binary.LittleEndian
	le.PutUint16(b[0:], recMagic)
	le.PutUint16(b[2:], uint16(len(pkt)))
	le.PutUint16(b[4:], src.Port())
	a := src.Addr()
	b[7] = 0
	switch {
	case a.Is4():
		b[6] = 4
		a4 := a.As4()
		copy(b[8:24], a4[:])
		clear(b[12:24])
	case a.Is6():
		b[6] = 6
		a16 := a.As16()
		copy(b[8:24], a16[:])
	default:
		b[6] = 0
		clear(b[8:24])
	}
	le.PutUint64(b[24:], uint64(at))
	copy(b[RecordHeaderLen:], pkt)
	s.buf = s.buf[:len(s.buf)+n]
	off = s.cur.size + RecordHeaderLen
	s.cur.size += int64(n)
	return s.cur.id, off, nil
}

// rotate writes out the current segment's buffer and starts a new
// segment, freeing the old one if nothing refers to it.
func (s *Spool) rotate() error {
	if err := s.Flush(); err != nil {
		return err
	}
	id := s.next
	path := filepath.Join(s.dir, Name(id, s.shard))
	f, err := s.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(fileMagic[:], 0); err != nil {
		f.Close()
		s.fs.Remove(path)
		return err
	}
	s.next++
	old := s.cur
	s.cur = &segment{id: id, path: path, f: f, size: int64(len(fileMagic)), flushed: int64(len(fileMagic))}
	s.segs[id] = s.cur
	if old != nil && old.refs == 0 {
		s.drop(old)
	}
	return nil
}

// Flush writes out the buffered records. On error they stay buffered.
func (s *Spool) Flush() error {
	for len(s.buf) > 0 {
		n, err := s.cur.f.WriteAt(s.buf, s.cur.flushed)
		s.cur.flushed += int64(n)
		s.buf = s.buf[:copy(s.buf, s.buf[n:])]
		if err != nil {
			return err
		}
	}
	return nil
}

// Unflushed reports whether bytes up to offset end of segment seg are
// still in the buffer (Flush before reading them from the file).
func (s *Spool) Unflushed(seg uint32, end int64) bool {
	return s.cur != nil && seg == s.cur.id && end > s.cur.flushed
}

// Ref counts n more references to records of segment seg.
func (s *Spool) Ref(seg uint32, n int64) {
	if g := s.segs[seg]; g != nil {
		g.refs += n
	}
}

// Release drops n references to segment seg; a segment other than the
// current one is freed when none is left.
func (s *Spool) Release(seg uint32, n int64) {
	g := s.segs[seg]
	if g == nil {
		return
	}
	g.refs -= n
	if g.refs <= 0 && g != s.cur {
		s.drop(g)
	}
}

func (s *Spool) drop(g *segment) {
	delete(s.segs, g.id)
	s.free(g.path, g.f)
}

// File returns the open file of segment seg (nil if it is gone). It may be
// read (ReadAt) from any goroutine while the records read are referenced
// and flushed.
func (s *Spool) File(seg uint32) store.File {
	if g := s.segs[seg]; g != nil {
		return g.f
	}
	return nil
}

// Close writes out the buffer and frees every segment: what is in it is
// either stored or given up by then. It returns the first write error.
func (s *Spool) Close() error {
	err := s.Flush()
	for _, g := range s.segs {
		s.drop(g)
	}
	s.cur = nil
	return err
}

// Stats returns the segments held and the bytes appended to them.
func (s *Spool) Stats() (segments int, bytes int64) {
	for _, g := range s.segs {
		bytes += g.size
	}
	return len(s.segs), bytes
}

// Old is a segment file found in the in-flight directory at start.
type Old struct {
	Path  string
	ID    uint32
	Shard int
}

// List returns the segment files in dir, in id order, and the id above
// them all (the first id for new segments).
func List(fsys store.FS, dir string) (old []Old, next uint32, err error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	for _, n := range names {
		base, ok := strings.CutSuffix(n, Suffix)
		if !ok {
			continue
		}
		ids, shard, ok := strings.Cut(base, "-")
		if !ok {
			continue
		}
		id, err1 := strconv.ParseUint(ids, 10, 32)
		sh, err2 := strconv.Atoi(shard)
		if err1 != nil || err2 != nil {
			continue
		}
		old = append(old, Old{Path: filepath.Join(dir, n), ID: uint32(id), Shard: sh})
		next = max(next, uint32(id)+1)
	}
	sort.Slice(old, func(i, j int) bool {
		if old[i].ID != old[j].ID {
			return old[i].ID < old[j].ID
		}
		return old[i].Shard < old[j].Shard
	})
	return old, next, nil
}

// ErrNotSpool is Scan's error for a file that is not a segment.
var ErrNotSpool = errors.New("spool: not a segment file")

// Scan calls fn with each record of the segment file at path, in order:
// the packet, its source and receive time (Unix ns; 0 unknown). pkt is
// valid during the call only. Scan stops at the first record that is cut
// short or damaged (the end of what a crash left), which is not an error.
func Scan(fsys store.FS, path string, fn func(pkt []byte, src netip.AddrPort, at int64)) error {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var magic [16]byte
	if n, err := f.ReadAt(magic[:], 0); n < len(magic) || magic != fileMagic {
		if err != nil && err != io.EOF {
			return err
		}
		return ErrNotSpool
	}
	buf := make([]byte, 1<<20)
	var lo, hi int // unread bytes are buf[lo:hi], at file offset pos
	pos := int64(len(fileMagic))
	eof := false
	le := binary.LittleEndian
	for {
		if !eof && hi-lo < RecordHeaderLen+maxPacket {
			hi = copy(buf, buf[lo:hi])
			lo = 0
			for !eof && hi < len(buf) {
				n, err := f.ReadAt(buf[hi:], pos+int64(hi))
				hi += n
				if err == io.EOF || n == 0 {
					eof = true
				} else if err != nil {
					return err
				}
			}
		}
		if hi-lo < RecordHeaderLen {
			return nil
		}
		h := buf[lo : lo+RecordHeaderLen]
		plen := int(le.Uint16(h[2:]))
		if le.Uint16(h[0:]) != recMagic || h[6] != 0 && h[6] != 4 && h[6] != 6 || RecordHeaderLen+plen > hi-lo {
			return nil
		}
		var src netip.AddrPort
		switch h[6] {
		case 4:
			src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(h[8:12])), le.Uint16(h[4:]))
		case 6:
			src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(h[8:24])), le.Uint16(h[4:]))
		}
		n := RecordHeaderLen + plen
		fn(buf[lo+RecordHeaderLen:lo+n], src, int64(le.Uint64(h[24:])))
		lo += n
		pos += int64(n)
	}
}
