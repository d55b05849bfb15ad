package reassembly

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"
	"time"
)

// TestFilePath reruns the reassembly and storage tests with the memory
// buffers and the spool off, so that every dump goes through its
// temporary file.
func TestFilePath(t *testing.T) {
	harnessMemBytes, harnessNoSpool = -1, true
	defer func() { harnessMemBytes, harnessNoSpool = 0, false }()
	rerun(t)
}

// TestSpoolPath reruns them with the memory buffers off, so that every
// dump goes through the spool (and, stored partial, its own temporary
// file after).
func TestSpoolPath(t *testing.T) {
	harnessMemBytes = -1
	defer func() { harnessMemBytes = 0 }()
	rerun(t)
}

func rerun(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"Orders", TestReassemblyOrders},
		{"MissingPartialAfterIdle", TestReassemblyMissingPartialAfterIdle},
		{"TwoDumps", TestReassemblyTwoDumpsOneBootAndSameSeqTwoHosts},
		{"ConflictingTotal", TestReassemblyConflictingTotal},
		{"ConflictingFields", TestReassemblyConflictingFields},
		{"Overlap", TestReassemblyOverlap},
		{"Empty", TestReassemblyEmptyDump},
		{"Restart", TestRestartDoesNotOverwrite},
		{"Limits", TestLimits},
		{"DiskFull", TestDiskFull},
		{"DiskFullIdleRetry", TestDiskFullIdleRetry},
	} {
		t.Run(tc.name, tc.f)
	}
}

// TestMemBuffers: dumps within the budget are held in memory (no
// temporary file), the ones beyond it take temporary files, buffers come back when the
// dumps are stored, and every dump is stored whole either way, also when
// stored partial first and completed later.
func TestMemBuffers(t *testing.T) {
	h := newHarness(t, Config{MemBytes: 3 * 16 << 10}) // three 16 KiB buffers
	s := h.e.shards[0]
	r := rand.New(rand.NewPCG(5, 6))
	var pks [][][]byte
	for i := 0; i < 4; i++ {
		d := testDump("mem-host", byte(i+1), 1, 10000+i)
		pks = append(pks, shuffled(r, packets(t, d, 700)))
		h.feed(pks[i][0], src1)
	}
	inMem := 0
	for d := range s.table.all() {
		if d.mem != nil {
			inMem++
			if d.tmp() != "" {
				t.Fatal("dump has both a memory buffer and a temporary file")
			}
			if d.spooled {
				t.Fatal("dump has both a memory buffer and spool records")
			}
		} else if !d.spooled || d.ext.empty() || d.tmp() != "" {
			t.Fatalf("dump beyond the budget: in the spool %v (%d extents), temporary file %q", d.spooled, d.ext.n, d.tmp())
		}
	}
	if inMem != 3 || s.mem.used != 3*16<<10 {
		t.Fatalf("%d dumps in memory, %d bytes used; want 3, %d", inMem, s.mem.used, 3*16<<10)
	}
	// Dump 0 goes idle with a hole and is stored partial; the rest complete.
	for i := 1; i < 4; i++ {
		for _, p := range pks[i][1:] {
			h.feed(p, src1)
		}
	}
	for _, p := range pks[0][1 : len(pks[0])-1] {
		h.feed(p, src1)
	}
	h.now = h.now.Add(11 * time.Second)
	h.sweep()
	ev := h.Events()
	if len(ev) != 4 || ev[3].Complete {
		t.Fatalf("events %+v", ev)
	}
	// Its last piece arrives late: it completes from the same buffer.
	h.feed(pks[0][len(pks[0])-1], src1)
	ev = h.Events()
	if len(ev) != 5 {
		t.Fatalf("%d events", len(ev))
	}
	for _, e := range ev[:3] {
		if !e.Complete {
			t.Fatalf("event %+v", e)
		}
	}
	for i := 0; i < 4; i++ {
		d := testDump("mem-host", byte(i+1), 1, 10000+i)
		found := false
		for _, e := range ev {
			if e.Complete && e.BootID == hex.EncodeToString(d.BootID[:]) {
				checkComplete(t, h, d.Log, e)
				found = true
			}
		}
		if !found {
			t.Fatalf("dump %d not stored complete", i)
		}
	}
	for d := range s.table.all() {
		if d.mem != nil || d.tmp() != "" || d.spooled || !d.ext.empty() {
			t.Fatal("stored dump still holds its buffer or region")
		}
	}
	// The buffers are free for reuse, within the same budget.
	if s.mem.used != 3*16<<10 || len(s.mem.free[14]) != 3 {
		t.Fatalf("used %d, free %d", s.mem.used, len(s.mem.free[14]))
	}
}
