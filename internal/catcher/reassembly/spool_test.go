package reassembly

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/netoops/netoops/internal/catcher/priority"
	"github.com/netoops/netoops/internal/catcher/ranges"
	"github.com/netoops/netoops/internal/catcher/spool"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
	"github.com/netoops/netoops/pkg/wire"
)

// storm returns the packets of n dumps of size bytes sent as loadgen sends
// a storm: every host's last piece, then every host's piece before, ...
func storm(t testing.TB, prefix string, n, size, payload int) ([]*wire.Dump, [][]byte) {
	var dumps []*wire.Dump
	var pks [][][]byte
	for i := range n {
		d := testDump(fmt.Sprintf("%s-%03d", prefix, i), byte(i), uint32(1+i/256), size)
		dumps = append(dumps, d)
		pks = append(pks, packets(t, d, payload))
	}
	var out [][]byte
	for j := len(pks[0]) - 1; j >= 0; j-- {
		for _, pk := range pks {
			out = append(out, pk[j])
		}
	}
	return dumps, out
}

func inflightFiles(mfs *storetest.MemFS, dir string) (spools, others []string) {
	for _, n := range mfs.Names() {
		if strings.HasPrefix(n, dir+"/") {
			if strings.HasSuffix(n, spool.Suffix) {
				spools = append(spools, n)
			} else {
				others = append(others, n)
			}
		}
	}
	return spools, others
}

// TestSpoolStorm: a storm of dumps beyond the memory buffers goes into the
// spool, sequentially: no file per dump is created while they are
// received, only segments; every dump is stored whole, and the segments
// are deleted as their dumps are stored.
func TestSpoolStorm(t *testing.T) {
	mfs := storetest.NewMemFS()
	h := newHarness(t, Config{Dir: "/store", FS: mfs, MemBytes: -1, SpoolSegment: 64 << 10})
	inflight := h.e.store.InflightDir()
	dumps, pk := storm(t, "st", 40, 20000, 1000)
	last := len(pk) - len(dumps) // the last round completes the dumps
	for _, p := range pk[:last] {
		h.feed(p, src1)
	}
	spools, others := inflightFiles(mfs, inflight)
	if len(others) != 0 || len(spools) < 10 {
		t.Fatalf("while receiving: %d segments (want 40 x 20 KB in 64 KiB segments), other files %v", len(spools), others)
	}
	if len(h.Events()) != 0 {
		t.Fatal("stored before complete")
	}
	for _, p := range pk[last:] {
		h.feed(p, src1)
	}
	ev := h.Events()
	if len(ev) != len(dumps) {
		t.Fatalf("%d dumps stored, want %d", len(ev), len(dumps))
	}
	for i, e := range ev {
		checkComplete(t, h, dumps[i].Log, e)
	}
	if spools, others := inflightFiles(mfs, inflight); len(spools) != 1 || len(others) != 0 {
		t.Fatalf("after the storm: segments %v (want the current one), other files %v", spools, others)
	}
	h.e.Close()
	if spools, others := inflightFiles(mfs, inflight); len(spools)+len(others) != 0 {
		t.Fatalf("after Close: %v %v", spools, others)
	}
	if n := mfs.Open.Load(); n != 0 {
		t.Fatalf("%d files left open", n)
	}
}

// TestSpoolPartialMovesToOwnFile: a dump in the spool stored partial moves
// into a temporary file of its own (so that the spool's segments can go);
// its last piece then completes it from there.
func TestSpoolPartialMovesToOwnFile(t *testing.T) {
	mfs := storetest.NewMemFS()
	h := newHarness(t, Config{Dir: "/store", FS: mfs, MemBytes: -1, SpoolSegment: 8 << 10})
	inflight := h.e.store.InflightDir()
	d := testDump("part", 1, 1, 30000)
	pk := packets(t, d, 1000)
	for _, p := range pk[1:] {
		h.feed(p, src1)
	}
	h.now = h.now.Add(11 * time.Second)
	h.sweep()
	ev := h.Events()
	if len(ev) != 1 || ev[0].Complete || ev[0].MissingBytes != 1000 {
		t.Fatalf("events %+v", ev)
	}
	sd := h.e.shards[0].table.get(keyOf(mustDecode(t, pk[0])))
	if sd.spooled || !sd.ext.empty() || !strings.HasPrefix(sd.tmp(), inflight+"/") {
		t.Fatalf("after the partial store: in the spool %v, %d extents, temporary file %q", sd.spooled, sd.ext.n, sd.tmp())
	}
	if n, _ := h.e.shards[0].spool.Stats(); n != 1 {
		t.Fatalf("%d spool segments held, want only the current one", n)
	}
	first := mustDecode(t, pk[0]) // the tail: Encode sends it first
	missing := []ranges.Range{{Start: first.Offset, End: uint32(first.End())}}
	if got, _ := mfs.ReadFile(ev[0].Log); string(got) != expectLog(d.Log, missing) {
		t.Fatalf("partial log differs")
	}
	h.feed(pk[0], src1)
	ev = h.Events()
	if len(ev) != 2 {
		t.Fatalf("%d events", len(ev))
	}
	checkComplete(t, h, d.Log, ev[1])
	if _, others := inflightFiles(mfs, inflight); len(others) != 0 {
		t.Fatalf("left %v", others)
	}
}

// startedEngine returns a started engine on fsys with its events.
func startedEngine(t *testing.T, cfg Config, fsys store.FS) (*Engine, func() []event.Event) {
	t.Helper()
	var mu sync.Mutex
	var evs []event.Event
	cfg.FS = fsys
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.OnStored = onStored(&mu, &evs)
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	return e, func() []event.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]event.Event(nil), evs...)
	}
}

func waitEvents(t *testing.T, events func() []event.Event, n int) []event.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := events()
		if len(ev) >= n {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events, want %d", len(ev), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSpoolPiecesDuringStore: pieces that arrive while a dump's partial
// store runs (slow fsyncs) are not in that store; they are copied into
// the dump's own temporary file when it leaves the spool, and the dump
// completes whole.
func TestSpoolPiecesDuringStore(t *testing.T) {
	mfs := storetest.NewMemFS()
	mfs.SyncDelay.Store(int64(60 * time.Millisecond))
	e, events := startedEngine(t, Config{Dir: "/store", MemBytes: -1, Idle: 20 * time.Millisecond, Shards: 1}, mfs)
	f := e.NewFeeder()
	d := testDump("during", 1, 1, 20000)
	pk := packets(t, d, 1000)
	for _, p := range pk[3:] {
		f.Add(p, src1)
	}
	f.Flush()
	time.Sleep(50 * time.Millisecond) // idle: the partial store starts, and takes 120 ms
	f.Add(pk[2], src1)
	f.Add(pk[1], src1)
	f.Flush()
	ev := waitEvents(t, events, 1)
	if ev[0].Complete {
		t.Fatalf("event %+v", ev[0])
	}
	f.Add(pk[0], src1)
	f.Flush()
	// The pieces that came during the first store may be stored partial
	// again (idle) before piece 0 arrives: wait for the complete store.
	deadline := time.Now().Add(10 * time.Second)
	for ev = events(); !ev[len(ev)-1].Complete && time.Now().Before(deadline); ev = events() {
		time.Sleep(5 * time.Millisecond)
	}
	e.Close()
	last := ev[len(ev)-1]
	got, _ := mfs.ReadFile(last.Log)
	if !last.Complete || string(got) != string(d.Log) {
		t.Fatalf("complete %v, log differs %v (events %+v)", last.Complete, string(got) != string(d.Log), ev)
	}
	if spools, others := inflightFiles(mfs, e.store.InflightDir()); len(spools)+len(others) != 0 {
		t.Fatalf("left %v %v", spools, others)
	}
}

// TestSpoolDiskFull: while the disk is full the spool cannot be written:
// the pieces are dropped and counted, the stores wait, nothing is stored
// wrong; once there is space, the next copies complete every dump.
func TestSpoolDiskFull(t *testing.T) {
	mfs := storetest.NewMemFS()
	h := newHarness(t, Config{Dir: "/store", FS: mfs, MemBytes: -1, SpoolSegment: 256 << 10})
	dumps, pk := storm(t, "full", 12, 30000, 1000)
	half := len(pk) / 2
	for _, p := range pk[:half] {
		h.feed(p, src1)
	}
	mfs.Full.Store(true)
	for _, p := range pk[half:] {
		h.feed(p, src1)
	}
	dropped := counterValue(h.e.metrics.Dropped("store_error"))
	if dropped == 0 || counterValue(h.e.metrics.StoreErrors.WithLabelValues("write")) == 0 {
		t.Fatalf("full disk: %v pieces dropped, write errors %v", dropped, counterValue(h.e.metrics.StoreErrors.WithLabelValues("write")))
	}
	h.now = h.now.Add(2 * time.Second)
	h.sweep()
	if ev := h.Events(); len(ev) != 0 {
		t.Fatalf("stored on a full disk: %+v", ev[0])
	}
	mfs.Full.Store(false)
	for _, p := range pk { // the sender's next copy
		h.feed(p, src1)
	}
	h.now = h.now.Add(2 * time.Second)
	h.sweep()
	ev := h.Events()
	complete := map[string]event.Event{}
	for _, e := range ev {
		if !e.Complete {
			t.Fatalf("stored partial: %+v", e)
		}
		complete[e.Host] = e
	}
	if len(complete) != len(dumps) {
		t.Fatalf("%d dumps stored complete, want %d", len(complete), len(dumps))
	}
	for _, d := range dumps {
		checkComplete(t, h, d.Log, complete[string(d.Host)])
	}
}

// TestRecover: the catcher is killed (its engine abandoned, nothing
// stored at exit) with dumps in flight in the spool and one stored; the
// next run replays the spool: the stored dump is not stored again, a dump
// whose bytes were all received but not yet stored is stored, and the
// incomplete one is in flight again. Killed again during that run (with
// memory buffers, which the replay does not use), the run after still has
// it (replayed records go into the new run's spool before the old
// segments are deleted), and its last piece completes it.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	fsys := storetest.NoSyncFS{}
	done, held, open := testDump("done", 1, 1, 20000), testDump("held", 2, 1, 30000), testDump("open", 3, 1, 40000)
	pd, ph, po := packets(t, done, 1000), packets(t, held, 1000), packets(t, open, 1000)
	gate := &priority.Gate{MaxWait: time.Hour}
	busy := gate.Receiver()

	e1, ev1 := startedEngine(t, Config{Dir: dir, Idle: time.Hour, Shards: 2, MemBytes: -1, Gate: gate}, fsys)
	f := e1.NewFeeder()
	for _, p := range pd {
		f.AddAt(p, src1, t0)
	}
	f.Flush()
	waitEvents(t, ev1, 1)
	// "held" completes while the stores are held back (a receiver's
	// backlog that does not end): killed before it is stored.
	busy.Set(true)
	for _, p := range ph {
		f.AddAt(p, src1, t0.Add(time.Second))
	}
	for _, p := range po[1:] {
		f.AddAt(p, src1, t0.Add(2*time.Second))
	}
	f.Flush()
	e1.barrier() // what was fed is in the spool's files (the page cache survives the kill)
	old, _, _ := spool.List(fsys, filepath.Join(dir, ".inflight"))
	if len(old) == 0 {
		t.Fatal("no spool segments")
	}
	// killed: e1 is abandoned, its store workers held for good

	cfg := Config{Dir: dir, Idle: time.Hour, Shards: 2, MemBytes: 1 << 20}
	e2, ev2 := startedEngine(t, cfg, fsys)
	n, err := e2.Recover()
	if err != nil || n < len(ph)+len(po)-1 {
		t.Fatalf("recovered %d packets, %v", n, err)
	}
	waitEvents(t, ev2, 1)
	time.Sleep(50 * time.Millisecond)
	ev := ev2()
	if len(ev) != 1 || ev[0].Host != "held" || !ev[0].Complete {
		t.Fatalf("events after recovery %+v", ev)
	}
	checkStoredLog(t, ev[0], held.Log)
	if first := readMeta(t, ev[0].Meta).FirstPacket; !first.Equal(t0.Add(time.Second)) {
		t.Fatalf("first packet %v, want the receive time of the killed run", first)
	}
	if skipped := counterValue(e2.metrics.DumpsSkip); skipped != 1 {
		t.Fatalf("%v dumps skipped, want 1 (the dump stored before the kill)", skipped)
	}
	for _, o := range old {
		if _, err := os.Stat(o.Path); !os.IsNotExist(err) {
			t.Fatalf("old segment %s left: %v", o.Path, err)
		}
	}
	// killed again, with "open" in flight: the next run still has it.
	e3, ev3 := startedEngine(t, cfg, fsys)
	if _, err := e3.Recover(); err != nil {
		t.Fatal(err)
	}
	f3 := e3.NewFeeder()
	f3.Add(po[0], src1)
	f3.Flush()
	var got event.Event
	for _, e := range waitEvents(t, ev3, 1) {
		if e.Host == "open" {
			got = e
		}
	}
	if !got.Complete {
		t.Fatalf("events %+v", ev3())
	}
	checkStoredLog(t, got, open.Log)
	e3.Close()
	if names, _ := os.ReadDir(filepath.Join(dir, ".inflight")); len(names) != 0 {
		t.Fatalf("left in .inflight: %v", names)
	}
}

func checkStoredLog(t *testing.T, ev event.Event, want []byte) {
	t.Helper()
	b, err := os.ReadFile(ev.Log)
	if err != nil || string(b) != string(want) {
		t.Fatalf("%s: log differs (%d bytes, want %d): %v", ev.Log, len(b), len(want), err)
	}
}

// TestGateHoldsStores: while a receiver has a backlog, a complete dump
// waits to be stored; as soon as none has, it is stored.
func TestGateHoldsStores(t *testing.T) {
	gate := &priority.Gate{MaxWait: time.Hour}
	r := gate.Receiver()
	e, events := startedEngine(t, Config{Dir: t.TempDir(), Gate: gate}, storetest.NoSyncFS{})
	defer e.Close()
	r.Set(true)
	f := e.NewFeeder()
	d := testDump("gated", 1, 1, 5000)
	for _, p := range packets(t, d, 1000) {
		f.Add(p, src1)
	}
	f.Flush()
	time.Sleep(100 * time.Millisecond)
	if ev := events(); len(ev) != 0 {
		t.Fatalf("stored while the receiver had a backlog: %+v", ev)
	}
	r.Set(false)
	ev := waitEvents(t, events, 1)
	checkStoredLog(t, ev[0], d.Log)
}

// TestReadersShareDumps: dumps whose packets arrive on two sockets (two
// source ports, two addresses), read by two Readers of a two-shard
// engine, are each put together by one shard and stored once, whole.
func TestReadersShareDumps(t *testing.T) {
	e, events := startedEngine(t, Config{Dir: t.TempDir(), Shards: 2, MemBytes: 64 << 10, MaxPerSource: 100}, storetest.NoSyncFS{})
	readers := []*Reader{e.NewReader(0), e.NewReader(1)}
	srcs := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:6667"), netip.MustParseAddrPort("[2001:db8::1]:6000")}
	dumps, pk := storm(t, "two", 30, 12000, 900)
	// Batches of 8 packets, alternately to each reader, the packets'
	// sources alternating too; the readers run at once.
	var wg sync.WaitGroup
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 8 * i; j < len(pk); j += 16 {
				batch := pk[j:min(j+8, len(pk))]
				ss := make([]netip.AddrPort, len(batch))
				for k := range ss {
					ss[k] = srcs[k%2]
				}
				r.Batch(batch, ss)
			}
		}()
	}
	wg.Wait()
	ev := waitEvents(t, events, len(dumps))
	time.Sleep(20 * time.Millisecond)
	e.Close()
	if ev = events(); len(ev) != len(dumps) {
		t.Fatalf("%d events for %d dumps", len(ev), len(dumps))
	}
	byHost := map[string]event.Event{}
	for _, x := range ev {
		byHost[x.Host] = x
	}
	for _, d := range dumps {
		x, ok := byHost[string(d.Host)]
		if !ok || !x.Complete {
			t.Fatalf("%s: %+v", d.Host, x)
		}
		checkStoredLog(t, x, d.Log)
	}
}

// TestSpoolStoreMemory: storing partial dumps from the spool needs no
// memory of their size: twenty dumps claiming 16 MiB each, with one
// piece received, are stored through temporary files (their crash named
// from the stored log, a few KB), not read back into 16 MiB buffers.
func TestSpoolStoreMemory(t *testing.T) {
	h := newHarness(t, Config{FS: storetest.NoSyncFS{}, MemBytes: -1, MaxDumpBytes: 16 << 20,
		Analyze: func(m *store.Meta, log []byte) {}})
	var ms0, ms1 runtime.MemStats
	for i := range 20 {
		d := testDump(fmt.Sprintf("big-%02d", i), byte(i), 1, 16<<20)
		h.feed(piece(t, d, 8<<20, 1000), src1)
	}
	runtime.ReadMemStats(&ms0)
	h.now = h.now.Add(time.Minute)
	h.sweep()
	runtime.ReadMemStats(&ms1)
	ev := h.Events()
	if len(ev) != 20 || ev[0].Complete || ev[0].MissingBytes != 16<<20-1000 {
		t.Fatalf("%d events: %+v", len(ev), ev[0])
	}
	if grown := ms1.TotalAlloc - ms0.TotalAlloc; grown > 16<<20 {
		t.Fatalf("storing 20 partial dumps of 16 MiB allocated %d MiB", grown>>20)
	}
}
