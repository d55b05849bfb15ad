package reassembly

import (
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
	"github.com/netoops/netoops/pkg/wire"
)

// FuzzReceive drives the receive path, decode and reassembly, with a
// sequence of packets. The input is a series of records: a 2-byte length,
// a 1-byte source, then the packet. It checks that nothing panics, that
// the table stays within its cap and that every stored dump's sidecar is
// consistent with its log.
func FuzzReceive(f *testing.F) {
	add := func(pk ...[]byte) {
		var in []byte
		for i, p := range pk {
			in = binary.BigEndian.AppendUint16(in, uint16(len(p)))
			in = append(in, byte(i%3))
			in = append(in, p...)
		}
		f.Add(in)
	}
	d := testDump("fz", 1, 1, 700)
	d.Copies = 2
	var pk [][]byte
	d.Encode(200, func(p []byte) error { pk = append(pk, append([]byte(nil), p...)); return nil })
	add(pk...)
	add(pk[1], pk[3], pk[0])
	e := testDump("", 2, 9, 0)
	var ep []byte
	e.Encode(100, func(p []byte) error { ep = append([]byte(nil), p...); return nil })
	add(ep, pk[2])
	add([]byte("NOPS\x01"), pk[0][:70])
	// One-byte pieces with holes: the range set becomes a bitmap.
	frag := testDump("fz", 3, 1, 600)
	var fp [][]byte
	for off := uint32(0); off < 600; off += 20 {
		fp = append(fp, piece(f, frag, off, 1))
	}
	add(fp...)
	// Two dumps sharing host, boot id and seq but not total_len.
	odd := testDump("fz", 1, 1, 300)
	var op [][]byte
	odd.Encode(200, func(p []byte) error { op = append(op, append([]byte(nil), p...)); return nil })
	add(pk[0], op[0], pk[1], op[1])

	f.Fuzz(func(t *testing.T, in []byte) {
		// Memory buffers; the spool, in segments of 2 KiB (so that they
		// are rotated and freed) and its dumps moved into temporary files
		// with two write buffers and two open files when stored partial;
		// and, the spool off, temporary files from the first piece (so
		// that write buffers and open files are taken back and reused).
		fuzzReceive(t, in, Config{})
		fuzzReceive(t, in, Config{MemBytes: -1, SpoolSegment: 2048, WriteBuffers: 2, OpenFiles: 2})
		fuzzReceive(t, in, Config{MemBytes: -1, NoSpool: true, WriteBuffers: 2, OpenFiles: 2})
	})
}

func fuzzReceive(t *testing.T, in []byte, cfg Config) {
	mfs := storetest.NewMemFS()
	cfg.Dir, cfg.FS, cfg.MaxDumps, cfg.MaxPerSource, cfg.MaxDumpBytes, cfg.Idle = "/s", mfs, 4, 3, 1<<16, time.Second
	h := newHarness(t, cfg)
	var p wire.Packet
	srcs := []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("[2001:db8::1]:2"), netip.MustParseAddrPort("192.0.2.2:3"),
	}
	for recs := 0; len(in) >= 3 && recs < 64; recs++ { // bounded work per input
		n := int(binary.BigEndian.Uint16(in))
		src := srcs[int(in[2])%len(srcs)]
		in = in[3:]
		n = min(n, len(in))
		pkt := in[:n]
		in = in[n:]
		if p.DecodeFromBytes(pkt) != nil {
			continue
		}
		h.e.shards[h.e.shardOf(&p)].handle(&p, pkt, src, h.now, h.now)
		h.now = h.now.Add(100 * time.Millisecond)
		for _, s := range h.e.shards {
			if s.n > s.cap {
				t.Fatalf("table %d over cap %d", s.n, s.cap)
			}
		}
		h.sweep()
	}
	h.e.Close()
	owner := map[string]string{} // log path -> the dump stored there
	for _, ev := range h.Events() {
		id := ev.HostDir + "/" + ev.BootID + "/" + strconv.FormatUint(uint64(ev.DumpSeq), 10) + "/" + strconv.FormatUint(uint64(ev.TotalLen), 10)
		if o, ok := owner[ev.Log]; ok && o != id {
			t.Fatalf("%s stored for %s and for %s", ev.Log, o, id)
		}
		owner[ev.Log] = id
		b, err := mfs.ReadFile(ev.Meta)
		if err != nil {
			t.Fatal(err)
		}
		var m store.Meta
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var miss uint64
		for _, r := range m.Missing {
			if r.Start >= r.End || r.End > m.TotalLen {
				t.Fatalf("bad missing range %v of %d", r, m.TotalLen)
			}
			miss += uint64(r.Len())
		}
		if miss != m.MissingBytes || m.Complete != (miss == 0) || m.ReceivedLen+miss != uint64(m.TotalLen) {
			t.Fatalf("inconsistent meta %+v", m)
		}
		lg, err := mfs.ReadFile(ev.Log)
		if err != nil {
			t.Fatal(err)
		}
		if m.Complete && len(lg) != int(m.TotalLen) {
			t.Fatalf("complete log of %d bytes, total %d", len(lg), m.TotalLen)
		}
	}
	for _, name := range mfs.Names() {
		if strings.HasPrefix(name, "/s/.inflight/") {
			t.Fatalf("temporary file left: %s", name)
		}
	}
	if n := mfs.Open.Load(); n != 0 {
		t.Fatalf("%d files left open", n)
	}
}
