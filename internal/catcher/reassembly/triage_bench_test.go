package reassembly

import (
	"encoding/binary"
	"testing"

	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/triage"
	"github.com/netoops/netoops/pkg/wire"
)

// BenchmarkStoreCompleteTriage is BenchmarkStoreComplete with the crash
// report extraction the catcher runs at store time (Config.Analyze), on
// the same 128 KiB dumps, from a temporary file (read back) and from a
// memory buffer.
func BenchmarkStoreCompleteTriage(b *testing.B) {
	for _, c := range []struct {
		name string
		mem  int64
	}{{"file", -1}, {"mem", 0}} {
		b.Run(c.name, func(b *testing.B) {
			h := newHarness(&testing.T{}, Config{Dir: b.TempDir(), FS: store.OSFS{}, MemBytes: c.mem, Analyze: triage.Annotate})
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
		})
	}
}
