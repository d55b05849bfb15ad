package reassembly

import (
	"encoding/binary"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/netoops/netoops/internal/catcher/metrics"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
	"github.com/netoops/netoops/pkg/wire"
)

// TestFlood sends random bytes, valid headers with huge totals and
// thousands of fake boot ids through the concurrent pipeline while good
// dumps arrive: the in-flight table stays capped (fake dumps are evicted,
// stored partial), memory stays bounded, and every good dump is stored
// whole.
func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short")
	}
	dir := t.TempDir()
	var mu sync.Mutex
	var evs []event.Event
	e, err := NewEngine(Config{
		Dir: dir, FS: storetest.NoSyncFS{}, Idle: time.Minute, MaxDumps: 500, MaxPerSource: 1 << 20, Shards: 4,
		MaxDumpBytes: 1 << 20, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnStored: onStored(&mu, &evs),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	f := e.NewFeeder()

	r := rand.New(rand.NewPCG(7, 7))
	var good [][][]byte
	var goodDumps []*wire.Dump
	for i := 0; i < 10; i++ {
		d := testDump("good-"+string(rune('a'+i)), byte(100+i), 1, 100<<10)
		goodDumps = append(goodDumps, d)
		good = append(good, packets(t, d, 1300))
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapAlloc

	fake := testDump("fake", 0, 1, 0)
	fake.Log = make([]byte, 1<<20) // total_len 1 MiB, only one piece sent
	var fakePkt []byte
	fake.Encode(1300, func(p []byte) error {
		if fakePkt == nil {
			fakePkt = append([]byte(nil), p...)
		}
		return nil
	})
	huge := append([]byte(nil), fakePkt...)
	binary.BigEndian.PutUint32(huge[44:], 0xffffffff) // total_len 4 GiB
	rnd := make([]byte, 1500)
	fakeSrc := netip.MustParseAddrPort("203.0.113.9:6667")
	goodSrc := netip.MustParseAddrPort("192.0.2.10:6667")
	fakes := 0
	for round := 0; ; round++ {
		sent := false
		for _, pk := range good {
			if round < len(pk) {
				f.Add(pk[round], goodSrc)
				sent = true
			}
		}
		for j := 0; j < 30; j++ {
			switch j % 3 {
			case 0: // random bytes, sometimes with a valid magic
				n := r.IntN(len(rnd))
				for k := range rnd[:n] {
					rnd[k] = byte(r.Uint32())
				}
				if n > 4 && j%2 == 0 {
					copy(rnd, "NOPS\x01")
				}
				f.Add(rnd[:n], fakeSrc)
			case 1: // valid header, total above --max-dump-bytes
				f.Add(huge, fakeSrc)
			case 2: // a new fake boot id
				binary.BigEndian.PutUint64(fakePkt[12:], uint64(fakes))
				fakes++
				f.Add(fakePkt, fakeSrc)
			}
		}
		f.Flush()
		if !sent {
			break
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grown := int64(ms.HeapAlloc) - int64(heap0)
	e.Close()
	if left, err := os.ReadDir(filepath.Join(dir, ".inflight")); err != nil || len(left) != 0 {
		t.Errorf("%d files left in .inflight (%v)", len(left), err)
	}
	// Fake dumps may take the whole memory-buffer budget (then the good
	// ones take temporary files): bounded, but part of the bound.
	if limit := 48<<20 + e.Config().MemBytes; grown > limit {
		t.Errorf("heap grew by %d MiB during the flood, limit %d MiB", grown>>20, limit>>20)
	}
	m := e.Metrics()
	if v := counterValue(m.Dropped(metrics.DropTooLarge)); v == 0 {
		t.Error("huge totals not dropped")
	}
	if v := counterValue(m.Malformed(wire.ErrMagic)) + counterValue(m.Malformed(wire.ErrShort)); v == 0 {
		t.Error("random bytes not counted malformed")
	}
	if v := counterValue(m.DumpsPart); v < float64(fakes-600) {
		t.Errorf("only %v fake dumps evicted of %d", v, fakes)
	}
	complete := map[string]bool{}
	mu.Lock()
	for _, ev := range evs {
		if ev.Complete {
			complete[ev.Host] = true
			if ev.TotalLen != 100<<10 {
				t.Errorf("good dump %s total %d", ev.Host, ev.TotalLen)
			}
		}
	}
	mu.Unlock()
	for _, d := range goodDumps {
		if !complete[string(d.Host)] {
			t.Errorf("good dump %s not stored complete", d.Host)
		}
	}
	t.Logf("fake dumps %d, heap growth %d KiB, partial stored %v", fakes, grown>>10, counterValue(m.DumpsPart))
}

// TestFeederCounts: received, decoded and malformed packets are counted
// the same whether the Feeder validates (several shards) or the one shard
// does.
func TestFeederCounts(t *testing.T) {
	for _, shards := range []int{1, 3} {
		e, err := NewEngine(Config{Dir: t.TempDir(), FS: storetest.NoSyncFS{}, Shards: shards,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		e.Start()
		f := e.NewFeeder()
		src := netip.MustParseAddrPort("192.0.2.9:6667")
		pk := packets(t, testDump("count", 1, 1, 5000), 1000)
		for _, p := range pk {
			f.Add(p, src)
			f.Add([]byte("NOPE, not a packet at all, but long enough to be read"), src)
			f.Add(p[:10], src)
		}
		f.Flush()
		e.Close()
		m := e.Metrics()
		n := float64(len(pk))
		if got := counterValue(m.Received); got != 3*n {
			t.Errorf("%d shards: received %v, want %v", shards, got, 3*n)
		}
		if got := counterValue(m.Decoded); got != n {
			t.Errorf("%d shards: decoded %v, want %v", shards, got, n)
		}
		if got := counterValue(m.Malformed(wire.ErrMagic)) + counterValue(m.Malformed(wire.ErrShort)); got != 2*n {
			t.Errorf("%d shards: malformed %v, want %v", shards, got, 2*n)
		}
		if got := counterValue(m.DumpsFull); got != 1 {
			t.Errorf("%d shards: %v dumps complete, want 1", shards, got)
		}
	}
}
