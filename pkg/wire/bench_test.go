package wire

import "testing"

// typical is a full-size packet as a Linux sender emits it at MTU 1500.
func typical() Packet {
	p := Packet{
		Reason: ReasonPanic, Flags: FlagPrefixed, DumpSeq: 1, Index: 3, Count: 100,
		TotalLen: 1 << 17, TimeNS: 1795314600_000000000, Copies: 3,
		Host: []byte("web-042.example.net"), Release: []byte("6.12.57+deb13-amd64"),
		ReasonText: []byte("sysrq triggered crash"),
	}
	p.Payload = make([]byte, MaxPayload(1500, false, FixedHeaderLen+p.StringsLen(), false))
	p.Offset = 3 * uint32(len(p.Payload))
	return p
}

func BenchmarkDecode(b *testing.B) {
	p := typical()
	data := mustEncode(b, p)
	var q Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := q.DecodeFromBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMalformed(b *testing.B) {
	p := typical()
	data := mustEncode(b, p)
	data[4] = 9
	var q Packet
	b.ReportAllocs()
	for b.Loop() {
		if q.DecodeFromBytes(data) == nil {
			b.Fatal("decoded")
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	p := typical()
	buf := make([]byte, 0, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(p.EncodedLen()))
	for b.Loop() {
		var err error
		if buf, err = p.AppendEncode(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
