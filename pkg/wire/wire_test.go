package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// sample returns a valid packet with every field set to a distinct value.
func sample() Packet {
	return Packet{
		Version: Version, Reason: ReasonOops, Flags: FlagPrefixed | FlagTruncated,
		BootID:  [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		DumpSeq: 0x01020304, Index: 5, Count: 9, Offset: 0x1000, TotalLen: 0x2400,
		TimeNS: 0x0102030405060708, Copy: 2, Copies: 4,
		Host: []byte("host-a"), Release: []byte("6.12.57"), Label: []byte("asset 42"),
		ReasonText: []byte("Fatal exception"), Payload: bytes.Repeat([]byte("x"), 300),
	}
}

func mustEncode(t testing.TB, p Packet) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFieldOffsets checks each fixed header field lands at the offset the
// specification's table gives, in big-endian order.
func TestFieldOffsets(t *testing.T) {
	p := sample()
	b := mustEncode(t, p)
	be := binary.BigEndian
	tests := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"magic", uint64(be.Uint32(b[0:])), 0x4e4f5053},
		{"version", uint64(b[4]), 1},
		{"reason", uint64(b[5]), uint64(ReasonOops)},
		{"header_len", uint64(be.Uint16(b[6:])), 64 + 6 + 7 + 8 + 15},
		{"flags", uint64(be.Uint16(b[8:])), 0x0006},
		{"payload_len", uint64(be.Uint16(b[10:])), 300},
		{"boot_id[0]", uint64(b[12]), 1},
		{"boot_id[15]", uint64(b[27]), 16},
		{"dump_seq", uint64(be.Uint32(b[28:])), 0x01020304},
		{"index", uint64(be.Uint32(b[32:])), 5},
		{"count", uint64(be.Uint32(b[36:])), 9},
		{"offset", uint64(be.Uint32(b[40:])), 0x1000},
		{"total_len", uint64(be.Uint32(b[44:])), 0x2400},
		{"time_ns", be.Uint64(b[48:]), 0x0102030405060708},
		{"copy", uint64(b[56]), 2},
		{"copies", uint64(b[57]), 4},
		{"host_len", uint64(b[58]), 6},
		{"release_len", uint64(b[59]), 7},
		{"label_len", uint64(b[60]), 8},
		{"text_len", uint64(b[61]), 15},
		{"reserved", uint64(be.Uint16(b[62:])), 0},
		{"packet length", uint64(len(b)), 64 + 36 + 300},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
	if s := string(b[64 : 64+36]); s != "host-a6.12.57asset 42Fatal exception" {
		t.Errorf("strings = %q", s)
	}
	var got Packet
	if err := got.DecodeFromBytes(b); err != nil {
		t.Fatal(err)
	}
	p.HeaderLen = 100
	if d := comparePackets(&got, &p); d != "" {
		t.Error(d)
	}
}

// TestDecodeErrors covers every validation rule of section 4.
func TestDecodeErrors(t *testing.T) {
	good := mustEncode(t, sample())
	be := binary.BigEndian
	edit := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	tests := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"63 bytes", good[:63], ErrShort},
		{"bad magic", edit(func(b []byte) []byte { b[3] = 'X'; return b }), ErrMagic},
		{"version 0", edit(func(b []byte) []byte { b[4] = 0; return b }), ErrVersion},
		{"version 2", edit(func(b []byte) []byte { b[4] = 2; return b }), ErrVersion},
		{"header_len below strings", edit(func(b []byte) []byte { be.PutUint16(b[6:], 99); return b }), ErrHeaderLen},
		{"header_len below fixed", edit(func(b []byte) []byte { be.PutUint16(b[6:], 10); return b }), ErrHeaderLen},
		{"header_len past packet", edit(func(b []byte) []byte { be.PutUint16(b[6:], 401); return b }), ErrHeaderLen},
		{"host_len past header", edit(func(b []byte) []byte { b[58] = 200; return b }), ErrHeaderLen},
		{"host_len 65", edit(func(b []byte) []byte {
			b[58] = 65
			be.PutUint16(b[6:], 64+65+7+8+15)
			be.PutUint16(b[10:], 300-59)
			return b
		}), ErrInconsistent},
		{"release_len 65", edit(func(b []byte) []byte {
			b[59] = 65
			be.PutUint16(b[6:], 64+6+65+8+15)
			be.PutUint16(b[10:], 300-58)
			return b
		}), ErrInconsistent},
		{"label_len 65", edit(func(b []byte) []byte {
			b[60] = 65
			be.PutUint16(b[6:], 64+6+7+65+15)
			be.PutUint16(b[10:], 300-57)
			return b
		}), ErrInconsistent},
		{"text_len 129", edit(func(b []byte) []byte {
			b[61] = 129
			be.PutUint16(b[6:], 64+6+7+8+129)
			be.PutUint16(b[10:], 300-114)
			return b
		}), ErrInconsistent},
		{"truncated payload", good[:len(good)-1], ErrShort},
		{"trailing byte", append(append([]byte(nil), good...), 0), ErrInconsistent},
		{"auth without tag", edit(func(b []byte) []byte { b[9] |= 1; return b }), ErrShort},
		{"count 0", edit(func(b []byte) []byte { be.PutUint32(b[36:], 0); be.PutUint32(b[32:], 0); return b }), ErrIndex},
		{"index == count", edit(func(b []byte) []byte { be.PutUint32(b[32:], 9); return b }), ErrIndex},
		{"copies 0", edit(func(b []byte) []byte { b[56], b[57] = 0, 0; return b }), ErrInconsistent},
		{"copy == copies", edit(func(b []byte) []byte { b[56] = 4; return b }), ErrInconsistent},
		{"offset+len past total", edit(func(b []byte) []byte { be.PutUint32(b[44:], 0x1000+299); return b }), ErrRange},
		{"offset overflows", edit(func(b []byte) []byte {
			be.PutUint32(b[40:], 0xffffff00)
			be.PutUint32(b[44:], 0xffffffff)
			return b
		}), ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			err := p.DecodeFromBytes(tt.pkt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var de DecodeError
			if !errors.As(err, &de) || de.Name() == "invalid" {
				t.Errorf("error %v is not a named DecodeError", err)
			}
		})
	}
}

// TestDecodeAccepts covers what section 4 says receivers must ignore.
func TestDecodeAccepts(t *testing.T) {
	good := mustEncode(t, sample())
	be := binary.BigEndian
	tests := []struct {
		name  string
		edit  func(b []byte) []byte
		check func(t *testing.T, p *Packet)
	}{
		{"reserved bits", func(b []byte) []byte { b[62], b[63] = 0xff, 0xff; return b }, nil},
		{"unknown flags", func(b []byte) []byte { b[8] = 0xff; b[9] &^= 1; return b },
			func(t *testing.T, p *Packet) {
				if p.Flags != 0xff06 {
					t.Errorf("flags %#x", p.Flags)
				}
			}},
		{"unknown reason", func(b []byte) []byte { b[5] = 200; return b },
			func(t *testing.T, p *Packet) {
				if p.Reason.String() != "unknown" {
					t.Errorf("reason %v", p.Reason)
				}
			}},
		{"extension area", func(b []byte) []byte {
			// Insert 8 bytes between the strings and the payload.
			out := append(append(append([]byte(nil), b[:100]...), "EXTENDED"...), b[100:]...)
			be.PutUint16(out[6:], 108)
			return out
		}, func(t *testing.T, p *Packet) {
			if p.HeaderLen != 108 || !bytes.Equal(p.Payload, bytes.Repeat([]byte("x"), 300)) || string(p.Ext) != "EXTENDED" {
				t.Errorf("header_len %d payload %q extensions %q", p.HeaderLen, p.Payload, p.Ext)
			}
		}},
		{"auth with tag", func(b []byte) []byte {
			b[9] |= 1
			return append(b, bytes.Repeat([]byte{0xaa}, TagLen)...)
		}, func(t *testing.T, p *Packet) {
			if len(p.Tag) != TagLen || p.Tag[0] != 0xaa || len(p.Payload) != 300 {
				t.Errorf("tag %x payload %d", p.Tag, len(p.Payload))
			}
		}},
		{"empty log", func(b []byte) []byte {
			be.PutUint32(b[32:], 0)
			be.PutUint32(b[36:], 1)
			be.PutUint32(b[40:], 0)
			be.PutUint32(b[44:], 0)
			be.PutUint16(b[10:], 0)
			return b[:100]
		}, func(t *testing.T, p *Packet) {
			if p.TotalLen != 0 || len(p.Payload) != 0 || p.Payload == nil {
				t.Errorf("total %d payload %v", p.TotalLen, p.Payload)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			if err := p.DecodeFromBytes(tt.edit(append([]byte(nil), good...))); err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, &p)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	long := bytes.Repeat([]byte("h"), 65)
	tests := []struct {
		name string
		edit func(p *Packet)
		want error
	}{
		{"host 65", func(p *Packet) { p.Host = long }, ErrInconsistent},
		{"release 65", func(p *Packet) { p.Release = long }, ErrInconsistent},
		{"label 65", func(p *Packet) { p.Label = long }, ErrInconsistent},
		{"text 129", func(p *Packet) { p.ReasonText = bytes.Repeat([]byte("t"), 129) }, ErrInconsistent},
		{"payload 64 KiB", func(p *Packet) { p.Payload = make([]byte, 0x10000); p.TotalLen = 1 << 20 }, ErrInconsistent},
		{"auth without tag", func(p *Packet) { p.Flags |= FlagAuth }, ErrInconsistent},
		{"index == count", func(p *Packet) { p.Index = p.Count }, ErrIndex},
		{"copy == copies", func(p *Packet) { p.Copy = p.Copies }, ErrInconsistent},
		{"past total", func(p *Packet) { p.TotalLen = p.Offset + 10 }, ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sample()
			tt.edit(&p)
			if _, err := p.MarshalBinary(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// randomPacket returns a valid packet with random fields.
func randomPacket(r *rand.Rand) Packet {
	str := func(n int) []byte {
		b := make([]byte, r.IntN(n+1))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	p := Packet{
		Reason: Reason(r.UintN(256)), Flags: Flags(r.UintN(1 << 16)),
		DumpSeq: r.Uint32(), TimeNS: r.Uint64(),
		Host: str(MaxHostLen), Release: str(MaxReleaseLen), Label: str(MaxLabelLen),
		ReasonText: str(MaxReasonTextLen), Payload: str(1500),
	}
	for i := range p.BootID {
		p.BootID[i] = byte(r.Uint32())
	}
	if p.Flags&FlagAuth != 0 {
		p.Tag = str(0)[:0]
		p.Tag = append(p.Tag, make([]byte, TagLen)...)
		p.Tag[3] = byte(r.Uint32())
	}
	p.Count = 1 + r.Uint32N(1<<20)
	p.Index = r.Uint32N(p.Count)
	p.Copies = uint8(1 + r.UintN(255))
	p.Copy = uint8(r.UintN(uint(p.Copies)))
	p.Offset = r.Uint32N(1 << 30)
	p.TotalLen = p.Offset + uint32(len(p.Payload)) + r.Uint32N(1<<20)
	return p
}

// TestRoundTrip is the property test: every valid packet survives
// encode then decode unchanged, and re-encodes to the same bytes.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		p := randomPacket(r)
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("case %d: encode: %v", i, err)
		}
		if len(b) != p.EncodedLen() {
			t.Fatalf("case %d: len %d, EncodedLen %d", i, len(b), p.EncodedLen())
		}
		var q Packet
		if err := q.DecodeFromBytes(b); err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if d := comparePackets(&q, &p); d != "" {
			t.Fatalf("case %d: %s", i, d)
		}
		b2, err := q.MarshalBinary()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("case %d: re-encode differs (%v)", i, err)
		}
	}
}

func TestUnmarshalBinaryCopies(t *testing.T) {
	b := mustEncode(t, sample())
	var p Packet
	if err := p.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	clear(b)
	if string(p.Host) != "host-a" || p.Payload[0] != 'x' {
		t.Errorf("UnmarshalBinary aliased its input: host %q", p.Host)
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	b := mustEncode(t, sample())
	var p Packet
	if n := testing.AllocsPerRun(100, func() { _ = p.DecodeFromBytes(b) }); n != 0 {
		t.Errorf("DecodeFromBytes allocates %v times per packet", n)
	}
	bad := b[:10]
	if n := testing.AllocsPerRun(100, func() { _ = p.DecodeFromBytes(bad) }); n != 0 {
		t.Errorf("a failing DecodeFromBytes allocates %v times", n)
	}
}

func TestReasonNames(t *testing.T) {
	for r, name := range map[Reason]string{0: "unknown", 1: "panic", 2: "oops",
		3: "emerg", 4: "shutdown", 5: "test", 6: "unknown", 255: "unknown"} {
		if r.String() != name {
			t.Errorf("Reason(%d) = %q, want %q", r, r.String(), name)
		}
		if got, ok := ParseReason(name); ok && name != "unknown" && got != r {
			t.Errorf("ParseReason(%q) = %d", name, got)
		}
	}
	if _, ok := ParseReason("crash"); ok {
		t.Error("ParseReason accepted crash")
	}
}

func TestTimeAndNonce(t *testing.T) {
	p := sample()
	p.TimeNS = uint64(time.Date(2026, 11, 22, 2, 30, 0, 5, time.UTC).UnixNano())
	if got := p.Time().UTC(); got != time.Date(2026, 11, 22, 2, 30, 0, 5, time.UTC) {
		t.Errorf("Time() = %v", got)
	}
	p.TimeNS = 0
	if !p.Time().IsZero() {
		t.Error("TimeNS 0 is not the zero Time")
	}
	n := p.Nonce()
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1, 2, 3, 4, 0, 0, 0, 0}
	if !bytes.Equal(n[:], want) {
		t.Errorf("Nonce() = %x", n)
	}
}

func TestMaxPayload(t *testing.T) {
	tests := []struct {
		mtu, hdr   int
		ipv6, auth bool
		want       int
	}{
		{1500, 123, false, false, 1337},
		{1500, 123, true, false, 1329},
		{1500, 123, false, true, 1321},
		{1488, 123, false, false, 1337},
		{1487, 123, false, false, 1336},
		{1508, 123, true, false, 1337},
		{9000, 64, false, false, 1396},
		{1280, 384, true, false, 848},
		{100, 123, false, false, 0},
	}
	for _, tt := range tests {
		if got := MaxPayload(tt.mtu, tt.ipv6, tt.hdr, tt.auth); got != tt.want {
			t.Errorf("MaxPayload(%d, v6=%v, %d, auth=%v) = %d, want %d", tt.mtu, tt.ipv6, tt.hdr, tt.auth, got, tt.want)
		}
	}
	// The specification's efficiency target: at MTU 1500 with a typical
	// identity, the payload is at least 85% of the UDP payload.
	d := Dump{Host: []byte("web-042.example.net"), Release: []byte("6.12.57+deb13-amd64"),
		ReasonText: []byte("sysrq triggered crash")}
	for _, v6 := range []bool{false, true} {
		udp := min(1500-UDPHeaderLen-IPv4HeaderLen, MaxUDPPayload)
		if v6 {
			udp = 1500 - UDPHeaderLen - IPv6HeaderLen
		}
		pl := MaxPayload(1500, v6, d.HeaderLen(), false)
		if eff := float64(pl) / float64(udp); eff < 0.85 {
			t.Errorf("v6=%v: payload %d of %d UDP bytes = %.1f%%", v6, pl, udp, 100*eff)
		}
	}
}

func TestDecodeErrorNames(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range DecodeErrors() {
		if e.Name() == "invalid" || seen[e.Name()] || e.Error() == "netoops wire: invalid packet" {
			t.Errorf("error %d has no distinct name/text: %q %q", e, e.Name(), e.Error())
		}
		seen[e.Name()] = true
	}
	if len(seen) != 7 {
		t.Errorf("%d errors", len(seen))
	}
}

// TestExtensions parses extension areas as section 3.5 does, edge cases
// included.
func TestExtensions(t *testing.T) {
	type ext struct {
		typ   uint8
		value string
	}
	for _, tc := range []struct {
		name string
		area []byte
		want []ext
	}{
		{"empty", nil, nil},
		{"padding only", []byte{0, 0, 0}, nil},
		{"one", []byte{7, 2, 'a', 'b'}, []ext{{7, "ab"}}},
		{"empty value", []byte{7, 0}, []ext{{7, ""}}},
		{"padding around", []byte{0, 7, 1, 'a', 0, 9, 0, 0}, []ext{{7, "a"}, {9, ""}}},
		{"type at the last byte", []byte{7, 1, 'a', 5}, []ext{{7, "a"}}},
		{"only a type byte", []byte{5}, nil},
		{"runs past the area", []byte{7, 1, 'a', 8, 5, 'x', 'y'}, []ext{{7, "a"}}},
		{"length to the last byte", []byte{8, 3, 'x', 'y', 'z'}, []ext{{8, "xyz"}}},
	} {
		var got []ext
		Extensions(tc.area, func(typ uint8, value []byte) bool {
			got = append(got, ext{typ, string(value)})
			return true
		})
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	n := 0
	Extensions([]byte{1, 0, 2, 0, 3, 0}, func(uint8, []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("did not stop when told: %d calls", n)
	}
}
