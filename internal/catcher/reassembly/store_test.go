package reassembly

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/netoops/netoops/internal/catcher/ranges"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
	"github.com/netoops/netoops/pkg/wire"
)

// TestHostileHostNamesStayInside stores dumps from hostile host names and
// labels and checks that every file lands under the store directory.
func TestHostileHostNamesStayInside(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	h := newHarness(t, Config{Dir: store})
	hosts := []string{"", ".", "..", "../../etc", "/", "a\x00b", strings.Repeat("z", 64), "héllo", "\x1b[31m", ".x", "../..", "%2e%2e"}
	for i, host := range hosts {
		d := testDump(host, byte(i), 1, 500)
		d.Label = []byte("../../label\x00\n")
		for _, p := range packets(t, d, 100) {
			h.feed(p, src1)
		}
	}
	ev := h.Events()
	if len(ev) != len(hosts) {
		t.Fatalf("%d events", len(ev))
	}
	dirs := map[string]bool{}
	for _, e := range ev {
		for _, p := range []string{e.Log, e.Meta} {
			rel, err := filepath.Rel(store, p)
			if err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 1 {
				t.Fatalf("%q outside the store (%q)", p, rel)
			}
		}
		dirs[filepath.Dir(e.Log)] = true
		m := readMeta(t, e.Meta)
		if m.Host != e.Host || !m.Complete {
			t.Fatalf("meta %+v", m)
		}
	}
	if len(dirs) != len(hosts) {
		t.Fatalf("host directories collapsed: %d for %d hosts", len(dirs), len(hosts))
	}
	// Nothing was created outside.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files next to the store: %v", entries)
	}
	ds, err := catalog.List(store)
	if err != nil || len(ds) != len(hosts) {
		t.Fatalf("List: %d, %v", len(ds), err)
	}
}

// TestAtomicStoreRealFS uses the real file system with fsync and checks
// that no temporary files remain.
func TestAtomicStoreRealFS(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, Config{Dir: dir, FS: store.OSFS{}})
	d := testDump("atom", 1, 1, 5000)
	for _, p := range packets(t, d, 1000)[1:] {
		h.feed(p, src1)
	}
	h.now = h.now.Add(time.Minute)
	h.sweep()
	for _, p := range packets(t, d, 1000) {
		h.feed(p, src1)
	}
	ev := h.Events()
	if len(ev) != 2 || ev[0].Complete || !ev[1].Complete {
		t.Fatalf("events %+v", ev)
	}
	for _, f := range listFiles(t, dir) {
		if strings.Contains(filepath.Base(f), ".tmp") || strings.HasSuffix(f, ".part") {
			t.Fatalf("leftover %s", f)
		}
	}
	h.e.Close()
	if files := listFiles(t, dir); len(files) != 2 {
		t.Fatalf("files %v", files)
	}
}

// TestDiskFull injects ENOSPC: the errors are counted, nothing crashes,
// and the dump is stored once space is back.
func TestDiskFull(t *testing.T) {
	mfs := storetest.NewMemFS()
	h := newHarness(t, Config{Dir: "/store", FS: mfs})
	d := testDump("full", 1, 1, 5000)
	pk := packets(t, d, 500)
	for _, p := range pk[:len(pk)-1] {
		h.feed(p, src1)
	}
	mfs.Full.Store(true)
	h.feed(pk[len(pk)-1], src1) // completes: storing fails
	if len(h.Events()) != 0 {
		t.Fatal("stored on a full disk")
	}
	if counterValue(h.e.metrics.StoreErrors.WithLabelValues("store"))+counterValue(h.e.metrics.StoreErrors.WithLabelValues("write")) == 0 {
		t.Fatal("store errors not counted")
	}
	h.now = h.now.Add(time.Minute)
	h.sweep() // retry while still full: fails again, still in flight
	if len(h.Events()) != 0 {
		t.Fatal("stored on a full disk")
	}
	mfs.Full.Store(false)
	// Copies of the lost pieces arrive, the dump completes and is stored.
	for _, p := range pk {
		h.feed(p, src1)
	}
	h.now = h.now.Add(time.Minute)
	h.sweep()
	ev := h.Events()
	if len(ev) == 0 || !ev[len(ev)-1].Complete {
		t.Fatalf("events %+v", ev)
	}
	got, _ := mfs.ReadFile(ev[len(ev)-1].Log)
	if string(got) != string(d.Log) {
		t.Fatal("log differs")
	}
}

// TestDiskFullIdleRetry: a partial dump whose store fails is retried by a
// later sweep.
func TestDiskFullIdleRetry(t *testing.T) {
	mfs := storetest.NewMemFS()
	h := newHarness(t, Config{Dir: "/store", FS: mfs})
	d := testDump("full", 1, 1, 5000)
	h.feed(packets(t, d, 500)[0], src1)
	mfs.Full.Store(true)
	h.now = h.now.Add(11 * time.Second)
	h.sweep()
	if len(h.Events()) != 0 {
		t.Fatal("stored on a full disk")
	}
	mfs.Full.Store(false)
	h.now = h.now.Add(2 * time.Second)
	h.sweep()
	ev := h.Events()
	if len(ev) != 1 || ev[0].Complete || ev[0].MissingBytes != 4500 {
		t.Fatalf("events %+v", ev)
	}
}

// TestTemporaryFiles follows dumps beyond the memory buffers (the spool
// off: Config.NoSpool; a dump moved out of the spool takes the same path)
// through their
// temporary files: no more open at once than Config.OpenFiles (here fewer
// than the dumps in flight, so files are closed and reopened, with their
// write buffers written out first), a complete dump's file renamed into
// place as its log, a partial dump's kept for the pieces to come, and
// nothing left in .inflight or open at the end.
func TestTemporaryFiles(t *testing.T) {
	mfs := storetest.NewMemFS()
	h := newHarness(t, Config{Dir: "/store", FS: mfs, MemBytes: -1, NoSpool: true, WriteBuffers: 16, OpenFiles: 8})
	inflight := h.e.store.InflightDir()
	var dumps []*wire.Dump
	var pks [][][]byte
	for i := range 40 {
		d := testDump(fmt.Sprintf("h%02d", i), byte(i+1), 1, 20000)
		dumps, pks = append(dumps, d), append(pks, packets(t, d, 1000))
	}
	// Interleaved, piece by piece; the last piece of h00 is held back.
	for j := range pks[0] {
		for i, pk := range pks {
			if i == 0 && j == len(pk)-1 {
				continue
			}
			h.feed(pk[j], src1)
		}
	}
	// 8 temporary files; the store (inline here) opens two more at most.
	if n := mfs.MaxOpen.Load(); n > 8+2 {
		t.Errorf("%d files open at once with OpenFiles 8", n)
	}
	ev := h.Events()
	if len(ev) != 39 {
		t.Fatalf("%d dumps stored, want 39", len(ev))
	}
	for _, e := range ev {
		i, _ := strconv.Atoi(strings.TrimPrefix(e.Host, "h"))
		got, _ := mfs.ReadFile(e.Log)
		if !e.Complete || string(got) != string(dumps[i].Log) {
			t.Fatalf("%s: complete %v, log differs: %v", e.Host, e.Complete, string(got) != string(dumps[i].Log))
		}
	}
	var left []string
	for _, n := range mfs.Names() {
		if strings.HasPrefix(n, inflight) {
			left = append(left, n)
		}
	}
	if len(left) != 1 {
		t.Fatalf("in .inflight: %v, want h00's file only", left)
	}
	// h00 goes idle: stored partial, its temporary file stays; the last
	// piece then completes it and the file becomes the log.
	h.now = h.now.Add(time.Minute)
	h.sweep()
	ev = h.Events()
	if len(ev) != 40 || ev[39].Complete {
		t.Fatalf("events %+v", ev[39:])
	}
	if _, err := mfs.Stat(left[0]); err != nil {
		t.Fatalf("temporary file gone after the partial store: %v", err)
	}
	h.feed(pks[0][len(pks[0])-1], src1)
	ev = h.Events()
	if len(ev) != 41 || !ev[40].Complete || ev[40].Log != ev[39].Log {
		t.Fatalf("events %+v", ev[39:])
	}
	if got, _ := mfs.ReadFile(ev[40].Log); string(got) != string(dumps[0].Log) {
		t.Fatal("h00's log differs")
	}
	if _, err := mfs.Stat(left[0]); err == nil {
		t.Fatal("temporary file left after the complete store")
	}
	h.e.Close()
	if n := mfs.Open.Load(); n != 0 {
		t.Errorf("%d files open after Close", n)
	}
}

// TestStoreFailures: a complete dump stored from its temporary file (the
// spool off) when
// the sidecar cannot be written keeps the file for the retry and changes
// nothing stored; when the directory fsync fails after both renames, the
// retry writes only the sidecar again (the log is in place). Either way
// the dump ends up stored whole, with nothing left in .inflight.
func TestStoreFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(*storetest.MemFS) *atomic.Bool
	}{
		{"sidecar", func(m *storetest.MemFS) *atomic.Bool { return &m.FailMeta }},
		{"syncdir", func(m *storetest.MemFS) *atomic.Bool { return &m.FailSyncDir }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mfs := storetest.NewMemFS()
			h := newHarness(t, Config{Dir: "/store", FS: mfs, MemBytes: -1, NoSpool: true})
			d := testDump("side", 1, 1, 5000)
			tc.fail(mfs).Store(true)
			for _, p := range packets(t, d, 500) {
				h.feed(p, src1)
			}
			if len(h.Events()) != 0 {
				t.Fatal("stored despite the failure")
			}
			sd := h.e.shards[0].table.get(keyOf(mustDecode(t, packets(t, d, 500)[0])))
			if tc.name == "sidecar" && (sd.tmp() == "" || sd.logMoved) {
				t.Fatalf("temporary file %q, moved %v after a failed sidecar", sd.tmp(), sd.logMoved)
			}
			if tc.name == "syncdir" && (sd.tmp() != "" || !sd.logMoved) {
				t.Fatalf("temporary file %q, moved %v after a failed directory fsync", sd.tmp(), sd.logMoved)
			}
			tc.fail(mfs).Store(false)
			h.now = h.now.Add(2 * time.Second)
			h.sweep()
			ev := h.Events()
			if len(ev) != 1 || !ev[0].Complete {
				t.Fatalf("events %+v", ev)
			}
			if got, _ := mfs.ReadFile(ev[0].Log); string(got) != string(d.Log) {
				t.Fatal("log differs")
			}
			b, err := mfs.ReadFile(ev[0].Meta)
			var m store.Meta
			if err == nil {
				err = json.Unmarshal(b, &m)
			}
			if err != nil || !m.Complete || m.TotalLen != 5000 {
				t.Fatalf("meta %+v: %v", m, err)
			}
			for _, n := range mfs.Names() {
				if strings.HasPrefix(n, h.e.store.InflightDir()) || strings.HasSuffix(n, ".tmp") {
					t.Fatalf("left %s", n)
				}
			}
		})
	}
}

func mustDecode(t *testing.T, b []byte) *wire.Packet {
	var p wire.Packet
	if err := p.DecodeFromBytes(b); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestStoresUnderEviction runs the started engine (store workers
// concurrent with the shards) with a table so small that dumps are evicted
// while their stores run or wait in the queue and their next packets take
// them back, with and without memory buffers, through the spool or (off)
// temporary files, with and without write failures coming and going (off
// before Close, which retries). No write may go into a
// temporary file after its rename, nothing may be left open or in
// .inflight, and every sidecar must describe its log exactly.
func TestStoresUnderEviction(t *testing.T) {
	for seed := uint64(0); seed < 6; seed++ {
		for _, mem := range []int64{-1, 40 << 10} {
			for _, noSpool := range []bool{false, true} {
				for _, faults := range []bool{false, true} {
					storesUnderEviction(t, seed, mem, noSpool, faults)
				}
			}
		}
	}
}

func storesUnderEviction(t *testing.T, seed uint64, mem int64, noSpool, faults bool) {
	mfs := storetest.NewMemFS()
	e, err := NewEngine(Config{Dir: "/s", FS: mfs, Idle: 3 * time.Millisecond, Retain: 5 * time.Millisecond,
		MaxDumps: 6, MaxPerSource: 1 << 20, Shards: 2, StoreWorkers: 4, WriteBuffers: 4, OpenFiles: 4,
		MemBytes: mem, NoSpool: noSpool, SpoolSegment: 16 << 10, MaxDumpBytes: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	f := e.NewFeeder()
	r := rand.New(rand.NewPCG(seed, 99))
	dumps := map[string]*wire.Dump{}
	var all [][]byte
	for i := range 30 {
		d := testDump(fmt.Sprintf("h%02d", i), byte(i+1), 1, 5000+r.IntN(60000))
		dumps[string(d.Host)] = d
		pk := packets(t, d, 700+r.IntN(1000))
		all = append(all, pk...)
		for range 3 {
			all = append(all, pk[r.IntN(len(pk))])
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		fr := rand.New(rand.NewPCG(seed, 5))
		for faults {
			select {
			case <-stop:
				mfs.Full.Store(false)
				mfs.FailMeta.Store(false)
				return
			case <-time.After(time.Duration(fr.IntN(300)) * time.Microsecond):
				mfs.Full.Store(fr.IntN(4) == 0)
				mfs.FailMeta.Store(fr.IntN(4) == 0)
			}
		}
	}()
	for i, p := range shuffled(r, all) {
		f.Add(p, src1)
		if i%7 == 0 {
			f.Flush()
		}
		if r.IntN(50) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	f.Flush()
	close(stop)
	<-done
	e.Close()
	where := fmt.Sprintf("seed %d, mem %d, no spool %v, faults %v", seed, mem, noSpool, faults)
	if n := mfs.Stale.Load(); n != 0 {
		t.Errorf("%s: %d writes into renamed or removed temporary files", where, n)
	}
	if n := mfs.Open.Load(); n != 0 {
		t.Errorf("%s: %d files left open", where, n)
	}
	for _, n := range mfs.Names() {
		if strings.HasPrefix(n, "/s/.inflight/") {
			t.Errorf("%s: left %s", where, n)
		}
		if !strings.HasSuffix(n, ".json") {
			continue
		}
		b, _ := mfs.ReadFile(n)
		var m store.Meta
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %s: %v", where, n, err)
		}
		lg, err := mfs.ReadFile(strings.TrimSuffix(n, ".json") + ".log")
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if want := expectLog(dumps[m.Host].Log, m.Missing); string(lg) != want {
			for i := range min(len(lg), len(want)) {
				if lg[i] != want[i] {
					t.Logf("first difference at %d: %q vs %q", i, lg[max(i-20, 0):min(i+40, len(lg))], want[max(i-20, 0):min(i+40, len(want))])
					break
				}
			}
			t.Errorf("%s: %s: log of %d bytes does not match its sidecar (missing %v, want %d bytes)", where, n, len(lg), m.Missing, len(want))
		}
	}
}

// TestEmptyHostApartFromUnknown: a dump with an empty host name and one
// from a host really named "unknown", same boot id, seq and time, are two
// dumps in two directories, stored one after the other or at the same
// time (started engine, slow fsyncs).
func TestEmptyHostApartFromUnknown(t *testing.T) {
	a, b := testDump("", 1, 1, 900), testDump("unknown", 1, 1, 700)
	pa, pb := packets(t, a, 100), packets(t, b, 100)
	check := func(what string, evs []event.Event, read func(string) string, skipped float64) {
		if len(evs) != 2 || evs[0].HostDir == evs[1].HostDir || evs[0].Log == evs[1].Log || skipped != 0 {
			t.Fatalf("%s: %v skipped, events %+v", what, skipped, evs)
		}
		for _, e := range evs {
			want := a.Log
			if e.Host == "unknown" {
				want = b.Log
			}
			if !e.Complete || read(e.Log) != string(want) {
				t.Fatalf("%s: %s complete %v, log differs", what, e.Log, e.Complete)
			}
		}
	}
	h := newHarness(t, Config{})
	for _, p := range slices.Concat(pa, pb) {
		h.feed(p, src1)
	}
	check("one after the other", h.Events(), func(p string) string { return readLog(t, p) }, counterValue(h.e.metrics.DumpsSkip))

	mfs := storetest.NewMemFS()
	mfs.SyncDelay.Store(int64(5 * time.Millisecond))
	var mu sync.Mutex
	var evs []event.Event
	e, err := NewEngine(Config{Dir: "/s", FS: mfs, Shards: 2, StoreWorkers: 4,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnStored: onStored(&mu, &evs)})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	f := e.NewFeeder()
	for _, p := range slices.Concat(pa[:len(pa)-1], pb[:len(pb)-1]) {
		f.Add(p, src1)
	}
	f.Flush()
	f.Add(pa[len(pa)-1], src1) // both complete in one batch
	f.Add(pb[len(pb)-1], src1)
	f.Flush()
	e.Close()
	check("at once", evs, func(p string) string { b, _ := mfs.ReadFile(p); return string(b) }, counterValue(e.Metrics().DumpsSkip))
}

// TestFailedStoreKeepsItsName: a dump whose store failed keeps the name
// it chose while it waits for the retry; another dump wanting the same
// name (same host, seq and second, boot ids sharing 8 hex digits) takes
// the next one, and the retry overwrites nothing.
func TestFailedStoreKeepsItsName(t *testing.T) {
	for _, mem := range []int64{0, -1} {
		mfs := storetest.NewMemFS()
		h := newHarness(t, Config{Dir: "/s", FS: mfs, MemBytes: mem})
		a := testDump("web", 1, 4, 3000)
		b := testDump("web", 1, 4, 2000)
		b.BootID[15] ^= 0xff // same first 8 hex digits
		mfs.FailMeta.Store(true)
		for _, p := range packets(t, a, 500) {
			h.feed(p, src1)
		}
		mfs.FailMeta.Store(false)
		if len(h.Events()) != 0 {
			t.Fatal("stored despite the failure")
		}
		for _, p := range packets(t, b, 500) {
			h.feed(p, src1)
		}
		h.now = h.now.Add(2 * time.Second)
		h.sweep() // a's retry
		ev := h.Events()
		if len(ev) != 2 || ev[0].Log == ev[1].Log {
			t.Fatalf("mem %d: events %+v", mem, ev)
		}
		for _, e := range ev {
			want := a.Log
			if e.BootID == hex.EncodeToString(b.BootID[:]) {
				want = b.Log
			}
			got, _ := mfs.ReadFile(e.Log)
			m := store.Meta{}
			mb, _ := mfs.ReadFile(e.Meta)
			if err := json.Unmarshal(mb, &m); err != nil || string(got) != string(want) || m.BootID != e.BootID || !m.Complete {
				t.Fatalf("mem %d: %s: log of %d bytes, want %d; sidecar %+v (%v)", mem, e.Log, len(got), len(want), m, err)
			}
		}
	}
}

// TestManyDumpsOneNameAtOnce: 20 different dumps whose short names are
// the same complete at the same moment on the started engine (store
// workers in parallel): all 20 are stored, each under its own name.
func TestManyDumpsOneNameAtOnce(t *testing.T) {
	dir := "/s"
	mfs := storetest.NewMemFS()
	mfs.SyncDelay.Store(int64(5 * time.Millisecond)) // a disk's fsync
	var mu sync.Mutex
	var evs []event.Event
	e, err := NewEngine(Config{Dir: dir, FS: mfs, Shards: 2, StoreWorkers: 16, MaxPerSource: 1000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnStored: onStored(&mu, &evs)})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	f := e.NewFeeder()
	var dumps []*wire.Dump
	var last [][]byte
	for i := range 20 {
		d := testDump("same", 1, 9, 3000+100*i)
		d.BootID[15] = byte(i) // boot ids share their first 8 hex digits
		dumps = append(dumps, d)
		pk := packets(t, d, 1000)
		for _, p := range pk[:len(pk)-1] {
			f.Add(p, src1)
		}
		last = append(last, pk[len(pk)-1])
	}
	f.Flush()
	for _, p := range last {
		f.Add(p, src1)
	}
	f.Flush()
	e.Close()
	logs := map[string]bool{}
	for _, ev := range evs {
		logs[ev.Log] = true
	}
	if len(evs) != 20 || len(logs) != 20 {
		t.Fatalf("%d events naming %d logs, want 20", len(evs), len(logs))
	}
	for _, ev := range evs {
		var m store.Meta
		b, err := mfs.ReadFile(ev.Meta)
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			t.Fatal(err)
		}
		i := int(m.TotalLen-3000) / 100
		got, _ := mfs.ReadFile(ev.Log)
		if !m.Complete || string(got) != string(dumps[i].Log) || m.BootID != hex.EncodeToString(dumps[i].BootID[:]) {
			t.Fatalf("%s: complete %v, log matches %v, boot id %s", ev.Log, m.Complete, string(got) == string(dumps[i].Log), m.BootID)
		}
	}
}

// TestRestartKeepsOtherTotal: across restarts, a stored partial dump is
// not replaced by a complete one that has the same host, boot id and seq
// but another total_len (not the same log), and the other way round.
func TestRestartKeepsOtherTotal(t *testing.T) {
	dir := t.TempDir()
	d := testDump("r", 3, 2, 3000)
	pk := packets(t, d, 500)
	h := newHarness(t, Config{Dir: dir})
	h.feed(pk[0], src1) // partial: 500 of 3000
	h.e.Close()
	odd := testDump("r", 3, 2, 700)
	h2 := newHarness(t, Config{Dir: dir})
	for _, p := range packets(t, odd, 500) {
		h2.feed(p, src1)
	}
	h2.e.Close()
	ev, ev2 := h.Events(), h2.Events()
	if len(ev) != 1 || len(ev2) != 1 || ev2[0].Log == ev[0].Log {
		t.Fatalf("events %+v, then %+v", ev, ev2)
	}
	checkComplete(t, h2, odd.Log, ev2[0])
	if m := readMeta(t, ev[0].Meta); m.TotalLen != 3000 || m.MissingBytes != 2500 {
		t.Fatalf("first dump's sidecar replaced: %+v", m)
	}
	if got, want := readLog(t, ev[0].Log), expectLog(d.Log, []ranges.Range{{Start: 0, End: 2500}}); got != want {
		t.Fatal("first dump's log replaced")
	}
}
