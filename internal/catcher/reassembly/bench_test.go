package reassembly

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
	"github.com/netoops/netoops/pkg/wire"
)

// benchPackets returns the packets of a dump of n bytes cut like a kernel
// at MTU 1500 (1349-byte payloads).
func benchPackets(b *testing.B, n int) [][]byte {
	d := testDump("web-042.example.net", 1, 1, n)
	return packets(b, d, 1349)
}

// BenchmarkHandle measures the reassembly hot path per packet: decode,
// table lookup, range bookkeeping, buffered pwrite into the temporary file, and,
// amortised over the dump's packets, storing each dump when it completes
// (inline here, no fsync: with 128 KiB dumps that is most of the cost;
// with 16 MiB dumps the per-packet path dominates). Every len(pieces)
// packets start a fresh dump. The 128 KiB dumps are held in a memory
// buffer; "file" is the same without memory buffers, as beyond
// Config.MemBytes.
func BenchmarkHandle(b *testing.B) {
	for _, bc := range []struct {
		size int
		mem  int64
		name string
	}{{128 << 10, 0, ""}, {128 << 10, -1, "-file"}, {16 << 20, 0, ""}} {
		size := bc.size
		b.Run(fmt.Sprintf("%dKiB%s", size>>10, bc.name), func(b *testing.B) {
			h := newHarness(&testing.T{}, Config{Dir: b.TempDir(), MemBytes: bc.mem})
			pk := benchPackets(b, size)
			s := h.e.shards[0]
			var p wire.Packet
			b.SetBytes(1349)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pkt := pk[i%len(pk)]
				binary.BigEndian.PutUint32(pkt[28:], uint32(i/len(pk))+1)
				if err := p.DecodeFromBytes(pkt); err != nil {
					b.Fatal(err)
				}
				s.handle(&p, pkt, src1, h.now, h.now)
			}
			b.StopTimer()
			if want := b.N / len(pk); len(h.Events()) != want {
				b.Fatalf("%d dumps stored, want %d", len(h.Events()), want)
			}
		})
	}
}

// BenchmarkHandleDuplicate measures a duplicate copy: decode, lookup,
// range check.
func BenchmarkHandleDuplicate(b *testing.B) {
	h := newHarness(&testing.T{}, Config{Dir: b.TempDir()})
	pk := benchPackets(b, 128<<10)
	s := h.e.shards[0]
	var p wire.Packet
	for _, x := range pk[1:] {
		p.DecodeFromBytes(x)
		s.handle(&p, x, src1, h.now, h.now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := pk[1+i%(len(pk)-1)]
		p.DecodeFromBytes(x)
		s.handle(&p, x, src1, h.now, h.now)
	}
}

// BenchmarkFeeder measures the whole concurrent pipeline from a UDP
// payload to the shard: validation, batching, hand-off, reassembly.
func BenchmarkFeeder(b *testing.B) {
	e, err := NewEngine(Config{Dir: b.TempDir(), FS: storetest.NoSyncFS{}, Idle: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	e.Start()
	f := e.NewFeeder()
	pk := benchPackets(b, 128<<10)
	src := netip.MustParseAddrPort("192.0.2.1:6667")
	b.SetBytes(1349)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkt := pk[i%len(pk)]
		binary.BigEndian.PutUint32(pkt[28:], uint32(i/len(pk))+1)
		f.Add(pkt, src)
		if i%64 == 63 {
			f.Flush()
		}
	}
	f.Flush()
	e.Close()
}

// BenchmarkStoreComplete measures storing one complete 128 KiB dump from
// its temporary file, with fsyncs (on the file system of TMPDIR): the
// rename into place, the sidecar, the directory, and the event.
func BenchmarkStoreComplete(b *testing.B) {
	h := newHarness(&testing.T{}, Config{Dir: b.TempDir(), FS: store.OSFS{}, MemBytes: -1})
	pk := benchPackets(b, 128<<10)
	s := h.e.shards[0]
	var p wire.Packet
	for i := 0; i < b.N; i++ {
		for j, pkt := range pk {
			binary.BigEndian.PutUint32(pkt[28:], uint32(i)+1)
			if err := p.DecodeFromBytes(pkt); err != nil {
				b.Fatal(err)
			}
			if j == len(pk)-1 {
				b.StartTimer()
			}
			s.handle(&p, pkt, src1, h.now, h.now)
			b.StopTimer()
		}
	}
	if len(h.Events()) != b.N {
		b.Fatalf("%d dumps stored, want %d", len(h.Events()), b.N)
	}
}
