package reassembly

import (
	"fmt"
	"testing"
	"time"
)

// TestStoredDumpForgottenKeyKept: a dump stored complete keeps no state
// but its key (the done set), and its late copies, within --retain, are
// duplicates that store nothing; after twice --retain they are a new
// dump, which the store skips (the stored copy is as complete).
func TestStoredDumpForgottenKeyKept(t *testing.T) {
	h := newHarness(t, Config{Idle: time.Second, Retain: 10 * time.Second})
	s := h.e.shards[0]
	var all [][]byte
	for i := range 20 {
		d := testDump(fmt.Sprintf("h%02d", i), byte(i+1), 1, 3000)
		pk := packets(t, d, 500)
		for _, p := range pk {
			h.feed(p, src1)
		}
		all = append(all, pk...)
	}
	if n := len(h.Events()); n != 20 {
		t.Fatalf("%d dumps stored, want 20", n)
	}
	if s.table.len() != 0 || s.n != 0 || s.lru.next != &s.lru {
		t.Fatalf("stored dumps still held: table %d, n %d", s.table.len(), s.n)
	}
	if s.done.len() != 20 {
		t.Fatalf("done set holds %d keys, want 20", s.done.len())
	}
	dups := counterValue(h.e.metrics.Duplicates)
	// Late copies, every few seconds: each keeps its key for another
	// --retain, so they stay duplicates well past --retain.
	for round := range 4 {
		h.now = h.now.Add(7 * time.Second)
		h.sweep()
		for _, p := range all {
			h.feed(p, src1)
		}
		h.sweep()
		if n := len(h.Events()); n != 20 {
			t.Fatalf("round %d: %d dumps stored, want 20", round, n)
		}
		if s.table.len() != 0 {
			t.Fatalf("round %d: a late copy started a dump", round)
		}
	}
	if got := counterValue(h.e.metrics.Duplicates) - dups; got != float64(4*len(all)) {
		t.Fatalf("%v duplicates, want %d", got, 4*len(all))
	}
	// Forgotten after at most twice --retain without a packet.
	for range 3 {
		h.now = h.now.Add(10 * time.Second)
		h.sweep()
	}
	if s.done.len() != 0 {
		t.Fatalf("done set holds %d keys after 3 x retain idle", s.done.len())
	}
	for _, p := range all {
		h.feed(p, src1)
	}
	if n := len(h.Events()); n != 20 {
		t.Fatalf("copies after retain: %d dumps stored, want 20 (a second store of a stored dump)", n)
	}
}

func TestDoneSetBounded(t *testing.T) {
	s := newDoneSet(4)
	now := t0
	var keys []dumpKey
	for i := range 10 {
		k := dumpKey{seq: uint32(i)}
		keys = append(keys, k)
		s.add(k, now)
	}
	if s.len() > 8 {
		t.Fatalf("%d keys kept, at most 8", s.len())
	}
	if !s.seen(keys[9], now) || s.seen(keys[0], now) {
		t.Fatal("newest key not kept or oldest not forgotten")
	}
}
