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
	d.Host = bytes.Repeat([]byte("h"), 65)
	if err := d.Encode(10, func([]byte) error { return nil }); !errors.Is(err, ErrInconsistent) {
		t.Errorf("long host: %v", err)
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
