package reassembly

import (
	"math/rand/v2"
	"testing"

	"github.com/netoops/netoops/pkg/wire"
)

// piece returns the packet of d carrying log bytes [off, off+n), as a
// sender cutting the log its own way would send it.
func piece(t testing.TB, d *wire.Dump, off, n uint32) []byte {
	p := wire.Packet{Reason: d.Reason, Flags: d.Flags, BootID: d.BootID, DumpSeq: d.DumpSeq,
		Index: 0, Count: 1, Offset: off, TotalLen: uint32(len(d.Log)), TimeNS: d.TimeNS, Copies: 1,
		Host: d.Host, Release: d.Release, Label: d.Label, ReasonText: d.ReasonText, Payload: d.Log[off : off+n]}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFragmentedThenFilled: 6000 isolated one-byte pieces, then the 6000
// bytes between them: every piece is taken, and the dump completes.
func TestFragmentedThenFilled(t *testing.T) {
	h := newHarness(t, Config{})
	d := testDump("frag", 1, 1, 12000)
	for off := uint32(0); off < 12000; off += 2 {
		h.feed(piece(t, d, off, 1), src1)
	}
	for off := uint32(1); off < 12000; off += 2 {
		h.feed(piece(t, d, off, 1), src1)
	}
	ev := h.Events()
	if len(ev) != 1 {
		t.Fatalf("%d events", len(ev))
	}
	checkComplete(t, h, d.Log, ev[0])
}

// TestLargeDumpHalfLostFirstRound: a 16 MiB dump in 848-byte pieces (the
// minimum-MTU case of wire-format section 5), half of round 0 lost at
// random, rounds 1 and 2 whole: it completes.
func TestLargeDumpHalfLostFirstRound(t *testing.T) {
	if testing.Short() {
		t.Skip("16 MiB dump skipped in -short")
	}
	h := newHarness(t, Config{})
	d := testDump("big-frag", 2, 1, 16<<20)
	d.Copies = 3
	r := rand.New(rand.NewPCG(8, 48))
	var p wire.Packet
	n := 0
	err := d.Encode(848, func(b []byte) error {
		if err := p.DecodeFromBytes(b); err != nil {
			return err
		}
		if p.Copy == 0 && r.IntN(2) == 0 {
			return nil
		}
		h.feed(b, src1)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := h.Events()
	if len(ev) != 1 {
		t.Fatalf("%d events after %d packets", len(ev), n)
	}
	checkComplete(t, h, d.Log, ev[0])
}

// TestPieceOverSeveralHoles: a piece covering two holes and the range held
// between them writes both holes and no byte twice: the dump completes,
// with as many bytes counted as it has. (Writing each hole used to add to
// the range set while its gaps were being walked, which skipped an
// interval: the held bytes after it were counted again, and the dump,
// counting more bytes than its length, never completed.)
func TestPieceOverSeveralHoles(t *testing.T) {
	for _, mem := range []int64{0, -1} {
		h := newHarness(t, Config{MemBytes: mem})
		d := testDump("holes", 1, 1, 60)
		for _, off := range []uint32{0, 20, 40} {
			h.feed(piece(t, d, off, 10), src1)
		}
		h.feed(piece(t, d, 5, 55), src1)
		ev := h.Events()
		if len(ev) != 1 {
			t.Fatalf("mem %d: %d events, want the dump stored complete", mem, len(ev))
		}
		checkComplete(t, h, d.Log, ev[0])
	}
}
