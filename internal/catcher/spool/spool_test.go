package spool

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
)

type rec struct {
	pkt []byte
	src netip.AddrPort
	at  int64
	seg uint32
	off int64
}

func records(n int) []rec {
	srcs := []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.1:6667"),
		netip.MustParseAddrPort("[2001:db8::7]:1"),
		{},
	}
	var out []rec
	for i := range n {
		out = append(out, rec{
			pkt: bytes.Repeat([]byte{byte(i)}, 1+i*37%3000),
			src: srcs[i%3], at: int64(i) * 1000,
		})
	}
	return out
}

// TestAppendReadScan appends records across several segments, reads each
// packet back at the position Append returned, and scans the segments.
func TestAppendReadScan(t *testing.T) {
	fsys := storetest.NewMemFS()
	var freed []string
	s := New(Config{FS: fsys, Dir: "/in", Shard: 3, FirstID: 7, SegmentSize: 64 << 10,
		Free: func(path string, f store.File) { freed = append(freed, path); f.Close(); fsys.Remove(path) }})
	rs := records(200)
	for i := range rs {
		seg, off, err := s.Append(rs[i].pkt, rs[i].src, rs[i].at)
		if err != nil {
			t.Fatal(err)
		}
		rs[i].seg, rs[i].off = seg, off
		s.Ref(seg, 1)
	}
	if !s.Unflushed(rs[len(rs)-1].seg, rs[len(rs)-1].off+1) {
		t.Fatal("last record not in the buffer")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	segs, _ := s.Stats()
	if segs < 4 {
		t.Fatalf("%d segments for 300 KB in 64 KiB segments", segs)
	}
	for _, r := range rs {
		got := make([]byte, len(r.pkt))
		if _, err := s.File(r.seg).ReadAt(got, r.off); err != nil || !bytes.Equal(got, r.pkt) {
			t.Fatalf("record at %d/%d: %v", r.seg, r.off, err)
		}
	}
	old, next, err := List(fsys, "/in")
	if err != nil || len(old) != segs || next != 7+uint32(segs) || old[0].ID != 7 || old[0].Shard != 3 {
		t.Fatalf("List: %+v, %d, %v", old, next, err)
	}
	var got []rec
	for _, o := range old {
		if err := Scan(fsys, o.Path, func(pkt []byte, src netip.AddrPort, at int64) {
			got = append(got, rec{pkt: slices.Clone(pkt), src: src, at: at})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(rs) {
		t.Fatalf("scanned %d records, want %d", len(got), len(rs))
	}
	for i := range rs {
		if !bytes.Equal(got[i].pkt, rs[i].pkt) || got[i].src != rs[i].src || got[i].at != rs[i].at {
			t.Fatalf("record %d: %+v, want %+v", i, got[i], rs[i])
		}
	}
	// Releasing every record frees every segment but the current one.
	for _, r := range rs {
		s.Release(r.seg, 1)
	}
	if n, _ := s.Stats(); n != 1 || len(freed) != segs-1 {
		t.Fatalf("%d segments left, %d freed", n, len(freed))
	}
	s.Close()
	if n, _ := s.Stats(); n != 0 || len(fsys.Names()) != 0 {
		t.Fatalf("after Close: %d segments, files %v", n, fsys.Names())
	}
}

// TestScanStopsAtDamage: a segment cut in the middle of a record, or with
// garbage after its records, yields the whole records before.
func TestScanStopsAtDamage(t *testing.T) {
	fsys := storetest.NewMemFS()
	s := New(Config{FS: fsys, Dir: "/in"})
	rs := records(10)
	var ends []int64
	for _, r := range rs {
		_, off, err := s.Append(r.pkt, r.src, r.at)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, off+int64(len(r.pkt)))
	}
	s.Flush()
	old, _, _ := List(fsys, "/in")
	whole, _ := fsys.ReadFile(old[0].Path)
	count := func(b []byte) int {
		p := "/x/" + Name(1, 0)
		f, _ := fsys.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0)
		f.WriteAt(b, 0)
		f.Close()
		n := 0
		if err := Scan(fsys, p, func([]byte, netip.AddrPort, int64) { n++ }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(whole); n != 10 {
		t.Fatalf("%d records", n)
	}
	if n := count(whole[:ends[5]-1]); n != 5 {
		t.Fatalf("cut in record 5: %d records", n)
	}
	if n := count(append(whole[:ends[6]:ends[6]], "garbage that is no record header"...)); n != 7 {
		t.Fatalf("garbage after record 6: %d records", n)
	}
	if n := count(append(whole[:ends[2]:ends[2]], make([]byte, 4096)...)); n != 3 {
		t.Fatalf("zeros after record 2: %d records", n)
	}
	f, _ := fsys.OpenFile("/x/bad.spool", os.O_CREATE|os.O_RDWR, 0)
	f.WriteAt([]byte("not a spool file at all"), 0)
	f.Close()
	if err := Scan(fsys, "/x/bad.spool", func([]byte, netip.AddrPort, int64) {}); !errors.Is(err, ErrNotSpool) {
		t.Fatalf("Scan of another file: %v", err)
	}
}

// TestFullDisk: while writes fail, Append and Flush report the error and
// nothing is lost from the buffer; once space is back, every record
// appended is in the file.
func TestFullDisk(t *testing.T) {
	fsys := storetest.NewMemFS()
	s := New(Config{FS: fsys, Dir: "/in"})
	var ok []rec
	pkt := bytes.Repeat([]byte("x"), 1400)
	fsys.Full.Store(true)
	if _, _, err := s.Append(pkt, netip.AddrPort{}, 1); err == nil {
		t.Fatal("first Append (creating the segment) succeeded on a full disk")
	}
	fsys.Full.Store(false)
	failed := 0
	for i := range 400 {
		if i == 50 {
			fsys.Full.Store(true)
		}
		if i == 300 {
			fsys.Full.Store(false)
		}
		p := append(slices.Clone(pkt), fmt.Sprint(i)...)
		seg, off, err := s.Append(p, netip.AddrPort{}, int64(i))
		if err != nil {
			failed++
			continue
		}
		ok = append(ok, rec{pkt: p, seg: seg, off: off})
	}
	if failed == 0 {
		t.Fatal("no Append failed on a full disk")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, r := range ok {
		got := make([]byte, len(r.pkt))
		if _, err := s.File(r.seg).ReadAt(got, r.off); err != nil || !bytes.Equal(got, r.pkt) {
			t.Fatalf("record %q lost: %v", r.pkt[1400:], err)
		}
	}
	old, _, _ := List(fsys, "/in")
	n := 0
	Scan(fsys, old[0].Path, func(p []byte, _ netip.AddrPort, _ int64) {
		if !bytes.Equal(p, ok[n].pkt) {
			t.Fatalf("record %d: %q", n, p[1400:])
		}
		n++
	})
	if n != len(ok) {
		t.Fatalf("scanned %d of %d", n, len(ok))
	}
	if strings.Count(strings.Join(fsys.Names(), " "), Suffix) != 1 {
		t.Fatalf("files %v", fsys.Names())
	}
}
