package wire

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vector-*.hex from the expected packets")

// vectorLog is the 250-byte log of the test vectors: byte k is
// "0123456789"[k%10], except the last, which is a newline.
func vectorLog() []byte {
	b := make([]byte, 250)
	for k := range b {
		b[k] = "0123456789"[k%10]
	}
	b[len(b)-1] = '\n'
	return b
}

// vectors are the packets of docs/wire-format.md section 7.
func vectors() map[string]Packet {
	log := vectorLog()
	base := Packet{
		Version: Version, Reason: ReasonPanic, HeaderLen: 99, Flags: FlagTruncated,
		BootID: [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
			0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
		DumpSeq: 7, Count: 3, TotalLen: 250,
		TimeNS: 1795314600_000000000, Copies: 3,
		Host: []byte("vm1"), Release: []byte("6.12.0"), Label: []byte("rack7"),
		ReasonText: []byte("sysrq triggered crash"),
	}
	first, middle, last := base, base, base
	first.Index, first.Offset, first.Copy, first.Payload = 0, 0, 0, log[0:100]
	middle.Index, middle.Offset, middle.Copy, middle.Payload = 1, 100, 1, log[100:200]
	last.Index, last.Offset, last.Copy, last.Payload = 2, 200, 2, log[200:250]
	return map[string]Packet{"first": first, "middle": middle, "last": last}
}

func readHex(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// formatHex writes b as lines of 16 hex bytes.
func formatHex(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 16 {
		line := b[i:min(i+16, len(b))]
		for j, c := range line {
			if j > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%02x", c)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func TestVectors(t *testing.T) {
	for name, want := range vectors() {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("testdata", "vector-"+name+".hex")
			enc, err := want.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(file, []byte(formatHex(enc)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			raw := readHex(t, file)
			if !bytes.Equal(enc, raw) {
				t.Errorf("encoding differs from %s:\n got %x\nwant %x", file, enc, raw)
			}
			var got Packet
			if err := got.DecodeFromBytes(raw); err != nil {
				t.Fatalf("decode %s: %v", file, err)
			}
			if diff := comparePackets(&got, &want); diff != "" {
				t.Errorf("decoded %s: %s", file, diff)
			}
		})
	}
}

// TestVectorsRebuildLog checks section 6.1 on the vectors: the three pieces
// rebuild the log.
func TestVectorsRebuildLog(t *testing.T) {
	log := make([]byte, 250)
	for _, name := range []string{"last", "first", "middle"} {
		var p Packet
		if err := p.DecodeFromBytes(readHex(t, filepath.Join("testdata", "vector-"+name+".hex"))); err != nil {
			t.Fatal(err)
		}
		copy(log[p.Offset:], p.Payload)
	}
	if !bytes.Equal(log, vectorLog()) {
		t.Errorf("rebuilt log %q", log)
	}
}

// comparePackets returns "" when a and b have the same fields.
func comparePackets(a, b *Packet) string {
	var d []string
	f := func(name string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			d = append(d, fmt.Sprintf("%s: %v != %v", name, x, y))
		}
	}
	f("Version", a.Version, b.Version)
	f("Reason", a.Reason, b.Reason)
	f("HeaderLen", a.HeaderLen, b.HeaderLen)
	f("Flags", a.Flags, b.Flags)
	f("BootID", a.BootID, b.BootID)
	f("DumpSeq", a.DumpSeq, b.DumpSeq)
	f("Index", a.Index, b.Index)
	f("Count", a.Count, b.Count)
	f("Offset", a.Offset, b.Offset)
	f("TotalLen", a.TotalLen, b.TotalLen)
	f("TimeNS", a.TimeNS, b.TimeNS)
	f("Copy", a.Copy, b.Copy)
	f("Copies", a.Copies, b.Copies)
	f("Host", string(a.Host), string(b.Host))
	f("Release", string(a.Release), string(b.Release))
	f("Label", string(a.Label), string(b.Label))
	f("ReasonText", string(a.ReasonText), string(b.ReasonText))
	f("Ext", string(a.Ext), string(b.Ext))
	f("Payload", string(a.Payload), string(b.Payload))
	f("Tag", a.Tag, b.Tag)
	return strings.Join(d, "; ")
}

// TestVectorsInSpec checks that the hex dumps printed in
// docs/wire-format.md section 7 are the files in testdata/.
func TestVectorsInSpec(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join("..", "..", "docs", "wire-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"first", "middle", "last"} {
		marker := "(`vector-" + name + ".hex`)\n\n```\n"
		_, rest, ok := strings.Cut(string(spec), marker)
		if !ok {
			t.Fatalf("spec has no hex dump for vector-%s.hex", name)
		}
		block, _, _ := strings.Cut(rest, "```")
		var hexText strings.Builder
		for line := range strings.Lines(block) {
			_, bytesText, _ := strings.Cut(line, "  ") // drop the offset column
			hexText.WriteString(bytesText)
		}
		got, err := hex.DecodeString(strings.Join(strings.Fields(hexText.String()), ""))
		if err != nil {
			t.Fatalf("vector-%s in spec: %v", name, err)
		}
		if want := readHex(t, filepath.Join("testdata", "vector-"+name+".hex")); !bytes.Equal(got, want) {
			t.Errorf("vector-%s in spec differs from testdata", name)
		}
	}
}
