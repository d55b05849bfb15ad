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
// table lookup, range bookkeeping, the copy into the dump's memory buffer
// or spool (or buffered pwrite into its temporary file), and, amortised
// over the dump's packets, storing each dump when it completes (inline
// here, no fsync: with 128 KiB dumps that is most of the cost; with 16
// MiB dumps the per-packet path dominates). Every len(pieces) packets
// start a fresh dump. The 128 KiB dumps are held in a memory buffer;
// "spool" is the same without memory buffers, as beyond Config.MemBytes;
// "file" is without the spool (Config.NoSpool) either: a temporary file
// per dump from its first piece.
func BenchmarkHandle(b *testing.B) {
	for _, bc := range []struct {
		size    int
		mem     int64
		noSpool bool
		name    string
	}{{128 << 10, 0, false, ""}, {128 << 10, -1, false, "-spool"}, {128 << 10, -1, true, "-file"},
		{16 << 20, 0, false, "-spool"}, {16 << 20, 0, true, "-file"}} {
		size := bc.size
		b.Run(fmt.Sprintf("%dKiB%s", size>>10, bc.name), func(b *testing.B) {
			h := newHarness(&testing.T{}, Config{Dir: b.TempDir(), MemBytes: bc.mem, NoSpool: bc.noSpool})
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

// BenchmarkStorm measures the receive path per packet in a storm: hosts
// dumps of size bytes in flight at once, interleaved packet by packet as
// loadgen sends them (every host's last piece, then the piece before...),
// through Reader.Batch in batches of 32: decode, lookup among all those
// dumps (cold in the caches), ranges, the spool's append and writes
// (TMPDIR, no fsync). Memory buffers are off (as for the dumps beyond
// them) and piece 0 is never sent, so no dump completes and nothing is
// stored: it is the receive path alone. After hosts*(pieces-1) packets
// the next wave's dumps (dump seq + 1) start.
func BenchmarkStorm(b *testing.B) {
	for _, bc := range []struct{ hosts, size int }{{10000, 128 << 10}, {100000, 16 << 10}} {
		b.Run(fmt.Sprintf("%dx%dKiB", bc.hosts, bc.size>>10), func(b *testing.B) {
			e, _ := startedEngine(&testing.T{}, Config{Dir: b.TempDir(), MemBytes: -1, Shards: 1, MaxDumps: 4 * bc.hosts,
				MaxPerSource: 1 << 30, Idle: time.Hour, Analyze: func(*store.Meta, []byte) {}}, storetest.NoSyncFS{})
			r := e.NewReader(0)
			names := make([][]byte, bc.hosts)
			for h := range names {
				names[h] = fmt.Appendf(nil, "%05d", h)
			}
			d := testDump("sim-00000.example.net", 1, 1, bc.size)
			pk := packets(b, d, 1349)
			pieces := len(pk) // tail first: pk[0] is the last piece, pk[len-1] piece 0
			const batch = 32
			bufs := make([][]byte, batch)
			for i := range bufs {
				bufs[i] = make([]byte, 0, 2048)
			}
			srcs := make([]netip.AddrPort, batch)
			for i := range srcs {
				srcs[i] = src1
			}
			perWave := bc.hosts * (pieces - 1)
			b.SetBytes(1349)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n += batch {
				k := min(batch, b.N-n)
				for i := 0; i < k; i++ {
					x := n + i
					wave, y := x/perWave, x%perWave
					j, h := y/bc.hosts, y%bc.hosts
					p := append(bufs[i][:0], pk[j]...)
					binary.BigEndian.PutUint32(p[12:], uint32(h)) // boot id
					binary.BigEndian.PutUint32(p[28:], uint32(wave+1))
					copy(p[wire.FixedHeaderLen+4:], names[h]) // sim-NNNNN
					bufs[i] = p
				}
				r.Batch(bufs[:k], srcs[:k])
			}
			b.StopTimer()
			e.Close() // stores every dump, partial: not measured
		})
	}
}
