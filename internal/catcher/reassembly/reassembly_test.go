package reassembly

import (
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/netoops/netoops/internal/catcher/metrics"
	"github.com/netoops/netoops/internal/catcher/ranges"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
	"github.com/netoops/netoops/pkg/wire"
)

func checkComplete(t *testing.T, h *harness, d []byte, ev event.Event) {
	t.Helper()
	if !ev.Complete || ev.MissingBytes != 0 {
		t.Fatalf("event not complete: %+v", ev)
	}
	got, err := h.e.cfg.FS.ReadFile(ev.Log)
	if err != nil || string(got) != string(d) {
		t.Fatalf("log differs: got %d bytes, want %d (%v)", len(got), len(d), err)
	}
	var m store.Meta
	if b, err := h.e.cfg.FS.ReadFile(ev.Meta); err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("meta %s: %v", ev.Meta, err)
	}
	if !m.Complete || len(m.Missing) != 0 || m.TotalLen != uint32(len(d)) {
		t.Fatalf("meta %+v", m)
	}
}

func TestReassemblyOrders(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, order := range []string{"tail-first", "in-order", "shuffled", "duplicated"} {
		t.Run(order, func(t *testing.T) {
			h := newHarness(t, Config{})
			d := testDump("web-1", 1, 1, 10000)
			pk := packets(t, d, 333)
			switch order {
			case "in-order":
				slices.Reverse(pk)
			case "shuffled":
				pk = shuffled(r, pk)
			case "duplicated":
				d.Copies = 3
				pk = shuffled(r, packets(t, d, 333))
			}
			for _, p := range pk {
				h.feed(p, src1)
			}
			ev := h.Events()
			if len(ev) != 1 {
				t.Fatalf("%d events", len(ev))
			}
			checkComplete(t, h, d.Log, ev[0])
			wantName := filepath.Join(h.e.cfg.Dir, "web-1", "20261122T023000Z-01020304-1.log")
			if ev[0].Log != wantName {
				t.Fatalf("log %s, want %s", ev[0].Log, wantName)
			}
			m := readMeta(t, ev[0].Meta)
			if m.Packets != uint64(len(pk)) && order != "duplicated" {
				t.Fatalf("packets %d, want %d", m.Packets, len(pk))
			}
		})
	}
}

func TestReassemblyMissingPartialAfterIdle(t *testing.T) {
	h := newHarness(t, Config{})
	d := testDump("db-7", 2, 3, 1000)
	pk := packets(t, d, 100) // tail first: pk[0] is bytes 900..999
	for i, p := range pk {
		if i == 2 || i == 3 || i == 9 { // bytes 600..800 and 0..100
			continue
		}
		h.feed(p, src1)
	}
	h.now = h.now.Add(9 * time.Second)
	h.sweep()
	if len(h.Events()) != 0 {
		t.Fatal("stored before idle")
	}
	h.now = h.now.Add(time.Second)
	h.sweep()
	ev := h.Events()
	if len(ev) != 1 || ev[0].Complete {
		t.Fatalf("events %+v", ev)
	}
	want := []ranges.Range{{Start: 0, End: 100}, {Start: 600, End: 800}}
	m := readMeta(t, ev[0].Meta)
	if !slices.Equal(m.Missing, want) || m.MissingBytes != 300 || ev[0].MissingBytes != 300 {
		t.Fatalf("missing %v (%d)", m.Missing, m.MissingBytes)
	}
	if got, exp := readLog(t, ev[0].Log), expectLog(d.Log, want); got != exp {
		t.Fatalf("log:\n%q\nwant\n%q", got, exp)
	}
	// A later complete copy replaces the partial, same names.
	h.now = h.now.Add(time.Second)
	for _, p := range pk {
		h.feed(p, src1)
	}
	ev = h.Events()
	if len(ev) != 2 || ev[1].Log != ev[0].Log || ev[1].Meta != ev[0].Meta {
		t.Fatalf("events %+v", ev)
	}
	checkComplete(t, h, d.Log, ev[1])
	if files := listFiles(t, filepath.Join(h.e.cfg.Dir, "db-7")); len(files) != 2 {
		t.Fatalf("files %v", files)
	}
}

func TestReassemblyTwoDumpsOneBootAndSameSeqTwoHosts(t *testing.T) {
	h := newHarness(t, Config{})
	a := testDump("a", 5, 1, 3000)
	b := testDump("a", 5, 2, 2000)
	c := testDump("b", 5, 1, 2500) // same boot id and seq as a, other host
	var all [][]byte
	for _, d := range []any{a, b, c} {
		_ = d
	}
	all = append(all, packets(t, a, 500)...)
	all = append(all, packets(t, b, 500)...)
	all = append(all, packets(t, c, 500)...)
	all = shuffled(rand.New(rand.NewPCG(1, 1)), all)
	for _, p := range all {
		h.feed(p, src1)
	}
	ev := h.Events()
	if len(ev) != 3 {
		t.Fatalf("%d events", len(ev))
	}
	byKey := map[string]event.Event{}
	for _, e := range ev {
		byKey[e.Host+"/"+string(rune('0'+e.DumpSeq))] = e
	}
	checkComplete(t, h, a.Log, byKey["a/1"])
	checkComplete(t, h, b.Log, byKey["a/2"])
	checkComplete(t, h, c.Log, byKey["b/1"])
}

// TestReassemblyConflictingTotal: a packet whose total_len differs from
// the other packets of its dump (host, boot id, seq) does not belong to
// the same log: whether it comes first or later, the genuine dump is
// rebuilt and stored complete, and the odd packet is kept apart, stored
// partial under a name of its own, neither replacing the other.
func TestReassemblyConflictingTotal(t *testing.T) {
	for _, badFirst := range []bool{false, true} {
		h := newHarness(t, Config{})
		d := testDump("h", 1, 1, 1000)
		pk := packets(t, d, 100)
		bad := testDump("h", 1, 1, 1200) // as if total_len were damaged
		bp := packets(t, bad, 100)[0]
		if badFirst {
			h.feed(bp, src1)
		}
		h.feed(pk[0], src1)
		if !badFirst {
			h.feed(bp, src1)
		}
		for _, p := range pk[1:] {
			h.feed(p, src1)
		}
		ev := h.Events()
		if len(ev) != 1 {
			t.Fatalf("bad first %v: events %+v", badFirst, ev)
		}
		checkComplete(t, h, d.Log, ev[0])
		h.now = h.now.Add(time.Minute)
		h.sweep()
		ev = h.Events()
		if len(ev) != 2 || ev[1].Complete || ev[1].TotalLen != 1200 || ev[1].MissingBytes != 1100 || ev[1].Log == ev[0].Log {
			t.Fatalf("bad first %v: events %+v", badFirst, ev)
		}
		checkComplete(t, h, d.Log, ev[0]) // untouched
		for _, r := range metrics.DropReasons() {
			if got := counterValue(h.e.metrics.Dropped(r)); got != 0 {
				t.Fatalf("bad first %v: %v dropped (%s)", badFirst, got, r)
			}
		}
	}
}

// TestReassemblyConflictingFields: packets of one dump (same host, boot
// id, seq and total_len) whose other constant fields differ still add
// their bytes; the first packet's fields are kept and the others counted
// in the sidecar's conflicts.
func TestReassemblyConflictingFields(t *testing.T) {
	h := newHarness(t, Config{})
	d := testDump("h", 1, 1, 1000)
	pk := packets(t, d, 100)
	odd := *d
	odd.Reason, odd.TimeNS, odd.Label = wire.ReasonOops, d.TimeNS+1, []byte("other")
	op := packets(t, &odd, 100)
	for i := range pk {
		if i%3 == 1 {
			h.feed(op[i], src1)
		} else {
			h.feed(pk[i], src1)
		}
	}
	ev := h.Events()
	if len(ev) != 1 {
		t.Fatalf("events %+v", ev)
	}
	checkComplete(t, h, d.Log, ev[0])
	m := readMeta(t, ev[0].Meta)
	if m.Conflicts != 3 || m.Reason != "panic" || m.Label != "rack7" || m.Packets != 10 {
		t.Fatalf("meta %+v", m)
	}
}

func TestReassemblyOverlap(t *testing.T) {
	h := newHarness(t, Config{})
	d := testDump("ov", 1, 1, 1000)
	// Pieces of two different sizes overlap each other.
	p1 := packets(t, d, 300)
	p2 := packets(t, d, 170)
	h.feed(p1[1], src1) // 600..900
	h.feed(p2[1], src1) // 680..850: duplicate
	if counterValue(h.e.metrics.Duplicates) != 1 {
		t.Fatal("overlap inside not a duplicate")
	}
	for _, p := range p2 {
		h.feed(p, src1)
	}
	ev := h.Events()
	if len(ev) != 1 {
		t.Fatalf("%d events", len(ev))
	}
	checkComplete(t, h, d.Log, ev[0])
}

func TestReassemblyEmptyDump(t *testing.T) {
	h := newHarness(t, Config{})
	d := testDump("empty", 1, 1, 0)
	pk := packets(t, d, 100)
	h.feed(pk[0], src1)
	ev := h.Events()
	if len(ev) != 1 || !ev[0].Complete || ev[0].TotalLen != 0 {
		t.Fatalf("events %+v", ev)
	}
}

func TestRestartDoesNotOverwrite(t *testing.T) {
	dir := t.TempDir()
	d := testDump("r", 9, 4, 2000)
	pk := packets(t, d, 100)
	h := newHarness(t, Config{Dir: dir})
	for _, p := range pk {
		h.feed(p, src1)
	}
	ev := h.Events()
	checkComplete(t, h, d.Log, ev[0])
	h.e.Close()

	// Second run: the same dump arrives partly: not stored over the
	// complete one.
	h2 := newHarness(t, Config{Dir: dir})
	h2.feed(pk[0], src1)
	h2.e.Close()
	if len(h2.Events()) != 0 {
		t.Fatalf("stored over: %+v", h2.Events())
	}
	checkComplete(t, h, d.Log, ev[0])

	// Third run: another dump with the same name components (same boot id
	// prefix, time, seq but another boot id) gets a suffix.
	h3 := newHarness(t, Config{Dir: dir})
	o := testDump("r", 9, 4, 500)
	o.BootID[15] ^= 0xff
	for _, p := range packets(t, o, 100) {
		h3.feed(p, src1)
	}
	ev3 := h3.Events()
	if len(ev3) != 1 || ev3[0].Log != filepath.Join(dir, "r", "20261122T023000Z-090a0b0c0d0e0f1011121314151617e7-4.log") {
		t.Fatalf("events %+v", ev3)
	}
	checkComplete(t, h3, o.Log, ev3[0])
	checkComplete(t, h, d.Log, ev[0])

	// Fourth run: a partial stored first, then a restart, then the complete
	// copy: replaces it.
	h4 := newHarness(t, Config{Dir: dir})
	q := testDump("r", 7, 1, 800)
	qp := packets(t, q, 100)
	h4.feed(qp[0], src1)
	h4.e.Close()
	ev4 := h4.Events()
	if len(ev4) != 1 || ev4[0].Complete {
		t.Fatalf("events %+v", ev4)
	}
	h5 := newHarness(t, Config{Dir: dir})
	for _, p := range qp {
		h5.feed(p, src1)
	}
	ev5 := h5.Events()
	if len(ev5) != 1 || ev5[0].Log != ev4[0].Log {
		t.Fatalf("events %+v vs %+v", ev5, ev4)
	}
	checkComplete(t, h5, q.Log, ev5[0])
}

func TestLimits(t *testing.T) {
	t.Run("max-dump-bytes", func(t *testing.T) {
		h := newHarness(t, Config{MaxDumpBytes: 1000})
		h.feed(packets(t, testDump("x", 1, 1, 1001), 500)[0], src1)
		if counterValue(h.e.metrics.Dropped(metrics.DropTooLarge)) != 1 {
			t.Fatal("not dropped")
		}
	})
	t.Run("max-per-source", func(t *testing.T) {
		h := newHarness(t, Config{MaxPerSource: 2})
		for seq := uint32(1); seq <= 3; seq++ {
			h.feed(packets(t, testDump("x", 1, seq, 1000), 500)[0], src1)
		}
		if counterValue(h.e.metrics.Dropped(metrics.DropPerSource)) != 1 {
			t.Fatal("not dropped")
		}
		h.feed(packets(t, testDump("x", 1, 4, 1000), 500)[0], netip.MustParseAddrPort("[2001:db8::1]:6667"))
		if counterValue(h.e.metrics.Dropped(metrics.DropPerSource)) != 1 {
			t.Fatal("other source dropped")
		}
	})
	t.Run("max-dumps-evicts-oldest", func(t *testing.T) {
		h := newHarness(t, Config{MaxDumps: 3})
		for seq := uint32(1); seq <= 5; seq++ {
			h.feed(packets(t, testDump("x", 1, seq, 1000), 500)[0], src1)
			h.now = h.now.Add(time.Millisecond)
		}
		ev := h.Events()
		if len(ev) != 2 || ev[0].DumpSeq != 1 || ev[1].DumpSeq != 2 || ev[0].Complete {
			t.Fatalf("events %+v", ev)
		}
		if counterValue(h.e.metrics.Dropped(metrics.DropMaxDumps)) != 0 {
			t.Fatal("dropped")
		}
	})
}

// TestLargeLogs stores dumps several times syscallChunk long, from a
// memory buffer and from a temporary file, whole and with gaps on either side of
// chunk boundaries, and checks every byte.
func TestLargeLogs(t *testing.T) {
	const syscallChunk = 32 << 10 // the store's copy chunk
	const size = 5*syscallChunk + 777
	for _, tc := range []struct {
		name string
		mem  int64
	}{{"memory", 0}, {"file", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{MemBytes: tc.mem})
			d := testDump("big", 3, 1, size)
			pk := packets(t, d, 1349)
			for _, p := range pk {
				h.feed(p, src1)
			}
			ev := h.Events()
			if len(ev) != 1 {
				t.Fatalf("%d events", len(ev))
			}
			checkComplete(t, h, d.Log, ev[0])

			g := testDump("gaps", 4, 1, size)
			gp := packets(t, g, 1349) // tail first
			skip := map[int]bool{3: true, len(gp) / 2: true, len(gp) - 1: true}
			var want []ranges.Range
			for i := len(gp) - 1; i >= 0; i-- { // ascending offsets
				if skip[i] {
					var p wire.Packet
					if err := p.DecodeFromBytes(gp[i]); err != nil {
						t.Fatal(err)
					}
					want = append(want, ranges.Range{Start: p.Offset, End: uint32(p.End())})
				}
			}
			for i, p := range gp {
				if !skip[i] {
					h.feed(p, src1)
				}
			}
			h.now = h.now.Add(time.Minute)
			h.sweep()
			ev = h.Events()
			if len(ev) != 2 || ev[1].Complete {
				t.Fatalf("events %+v", ev)
			}
			if m := readMeta(t, ev[1].Meta); !slices.Equal(m.Missing, want) {
				t.Fatalf("missing %v, want %v", m.Missing, want)
			}
			if got, exp := readLog(t, ev[1].Log), expectLog(g.Log, want); got != exp {
				t.Fatalf("log differs: got %d bytes, want %d", len(got), len(exp))
			}
		})
	}
}

// TestBurstOfCompleteDumps: a burst of complete one-packet dumps from one
// address, more than --max-per-source, while the store is slow: complete
// dumps waiting to be written do not count as in flight, and every one
// is stored.
func TestBurstOfCompleteDumps(t *testing.T) {
	mfs := storetest.NewMemFS()
	mfs.SyncDelay.Store(int64(2 * time.Millisecond))
	var mu sync.Mutex
	var evs []event.Event
	e, err := NewEngine(Config{Dir: "/s", FS: mfs, Shards: 1, StoreWorkers: 2, MaxPerSource: 8,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnStored: onStored(&mu, &evs)})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	f := e.NewFeeder()
	const n = 200
	for seq := uint32(1); seq <= n; seq++ {
		f.Add(packets(t, testDump("burst", 1, seq, 300), 1000)[0], src1)
	}
	f.Flush()
	e.Close()
	if got := counterValue(e.Metrics().Dropped(metrics.DropPerSource)); got != 0 {
		t.Errorf("%v packets dropped as max_per_source", got)
	}
	if len(evs) != n {
		t.Fatalf("%d dumps stored, want %d", len(evs), n)
	}
	for _, ev := range evs {
		if !ev.Complete {
			t.Fatalf("%+v", ev)
		}
	}
}

// TestConfigRejectsNegative: a negative limit is an error naming it, not
// silently the default.
func TestConfigRejectsNegative(t *testing.T) {
	for name, cfg := range map[string]Config{
		"Idle": {Idle: -1}, "Retain": {Retain: -time.Second}, "MaxDumps": {MaxDumps: -1},
		"MaxPerSource": {MaxPerSource: -1}, "WriteBuffers": {WriteBuffers: -1}, "OpenFiles": {OpenFiles: -1},
		"Shards": {Shards: -1}, "StoreWorkers": {StoreWorkers: -1},
	} {
		cfg.Dir = t.TempDir()
		if _, err := NewEngine(cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s negative: %v", name, err)
		}
	}
	if _, err := NewEngine(Config{Dir: t.TempDir(), MemBytes: -1}); err != nil {
		t.Errorf("MemBytes -1 (none): %v", err)
	}
}
