package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestDumpEncodeOrder(t *testing.T) {
	log := bytes.Repeat([]byte("abcdefghij"), 25) // 250 bytes
	d := Dump{Reason: ReasonPanic, DumpSeq: 3, Copies: 2, Host: []byte("h"), Log: log}
	var got []Packet
	err := d.Encode(100, func(b []byte) error {
		var p Packet
		if err := p.UnmarshalBinary(b); err != nil {
			return err
		}
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Tail first, the whole sequence twice.
	want := []struct{ copy, index, offset, n int }{
		{0, 2, 200, 50}, {0, 1, 100, 100}, {0, 0, 0, 100},
		{1, 2, 200, 50}, {1, 1, 100, 100}, {1, 0, 0, 100},
	}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i, w := range want {
		p := got[i]
		if int(p.Copy) != w.copy || int(p.Index) != w.index || int(p.Offset) != w.offset ||
			len(p.Payload) != w.n || p.Count != 3 || p.TotalLen != 250 || p.Copies != 2 {
			t.Errorf("packet %d: copy %d index %d/%d offset %d len %d total %d",
				i, p.Copy, p.Index, p.Count, p.Offset, len(p.Payload), p.TotalLen)
		}
		if !bytes.Equal(p.Payload, log[p.Offset:p.End()]) {
			t.Errorf("packet %d: payload is not the log at its offset", i)
		}
	}
}

func TestDumpEmptyLog(t *testing.T) {
	d := Dump{Reason: ReasonTest}
	n := 0
	err := d.Encode(1000, func(b []byte) error {
		var p Packet
		if err := p.DecodeFromBytes(b); err != nil {
			return err
		}
		if p.Count != 1 || p.Index != 0 || p.TotalLen != 0 || len(p.Payload) != 0 || p.Copies != 1 {
			t.Errorf("empty dump packet: %+v", p)
		}
		n++
		return nil
	})
	if err != nil || n != 1 {
		t.Errorf("err %v, %d packets", err, n)
	}
}

func TestDumpEncodeErrors(t *testing.T) {
	d := Dump{Log: []byte("x")}
	if err := d.Encode(0, func([]byte) error { return nil }); !errors.Is(err, ErrInconsistent) {
		t.Errorf("payload 0: %v", err)
	}
	stop := errors.New("stop")
	calls := 0
	d.Copies = 3
	if err := d.Encode(1, func([]byte) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("callback error: %v after %d calls", err, calls)
	}
}

// TestDumpEncodeCutsLongStrings: a sender puts in the first bytes of a
// string over its limit, cutting at a byte (section 3.4), even inside a
// UTF-8 character.
func TestDumpEncodeCutsLongStrings(t *testing.T) {
	text := bytes.Repeat([]byte("é"), 100) // 200 bytes; byte 128 is inside a character
	d := Dump{Host: bytes.Repeat([]byte("h"), 70), Release: bytes.Repeat([]byte("r"), 65),
		Label: bytes.Repeat([]byte("l"), 64), ReasonText: text, Log: []byte("log\n")}
	n := 0
	err := d.Encode(100, func(b []byte) error {
		var p Packet
		if err := p.DecodeFromBytes(b); err != nil {
			return err
		}
		n++
		if !bytes.Equal(p.Host, d.Host[:64]) || !bytes.Equal(p.Release, d.Release[:64]) ||
			!bytes.Equal(p.Label, d.Label) || !bytes.Equal(p.ReasonText, text[:128]) ||
			int(p.HeaderLen) != FixedHeaderLen+64+64+64+128 {
			t.Errorf("strings %q %q %q %q, header_len %d", p.Host, p.Release, p.Label, p.ReasonText, p.HeaderLen)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("err %v, %d packets", err, n)
	}
	if d.HeaderLen() != FixedHeaderLen+64+64+64+128 {
		t.Errorf("HeaderLen %d", d.HeaderLen())
	}
}

// TestNonceIndependentOfCut: the AUTH nonce is the dump's (section 8): the
// same for every packet of a dump whatever its cut, target or round, and
// another for another dump.
func TestNonceIndependentOfCut(t *testing.T) {
	d := Dump{BootID: [16]byte{1, 2, 3}, DumpSeq: 9, Copies: 2, Log: bytes.Repeat([]byte("x"), 1000)}
	var nonces [][NonceLen]byte
	for _, pl := range []int{100, 333} { // two targets' cuts
		err := d.Encode(pl, func(b []byte) error {
			var p Packet
			if err := p.DecodeFromBytes(b); err != nil {
				return err
			}
			nonces = append(nonces, p.Nonce())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := [NonceLen]byte{1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0}
	for i, n := range nonces {
		if n != want {
			t.Fatalf("packet %d: nonce %x, want %x", i, n, want)
		}
	}
	p := Packet{BootID: d.BootID, DumpSeq: 10}
	if p.Nonce() == want {
		t.Fatal("another dump has the same nonce")
	}
}

func BenchmarkDumpEncode(b *testing.B) {
	d := Dump{Reason: ReasonPanic, Copies: 1, Host: []byte("web-042.example.net"),
		Release: []byte("6.12.57+deb13-amd64"), ReasonText: []byte("sysrq triggered crash"),
		Log: bytes.Repeat([]byte("<4>some kernel log line of typical length\n"), 3000)}
	pl := MaxPayload(1500, false, d.HeaderLen(), false)
	b.ReportAllocs()
	b.SetBytes(int64(len(d.Log)))
	for b.Loop() {
		_ = d.Encode(pl, func([]byte) error { return nil })
	}
}
