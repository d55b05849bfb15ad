package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder. Whatever it accepts must
// satisfy every rule of section 4, alias the input, and survive a
// re-encode; nothing may panic.
func FuzzDecode(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "vector-*.hex"))
	for _, name := range names {
		f.Add(readHex(f, name))
	}
	f.Add(mustEncode(f, sample()))
	f.Add([]byte("NOPS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		if err := p.DecodeFromBytes(b); err != nil {
			if _, ok := err.(DecodeError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if p.Count == 0 || p.Index >= p.Count || p.Copies == 0 || p.Copy >= p.Copies ||
			p.End() > uint64(p.TotalLen) || len(p.Host) > MaxHostLen ||
			len(p.Release) > MaxReleaseLen || len(p.Label) > MaxLabelLen ||
			len(p.ReasonText) > MaxReasonTextLen || int(p.HeaderLen) > len(b) {
			t.Fatalf("accepted an invalid packet: %+v", p)
		}
		if !bytes.HasSuffix(b, append(append([]byte(nil), p.Payload...), p.Tag...)) {
			t.Fatal("payload and tag are not the end of the packet")
		}
		// Re-encoding keeps the extension area and zeroes reserved: the
		// bytes are the input's but for reserved.
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		in := append([]byte(nil), b...)
		in[62], in[63] = 0, 0
		if !bytes.Equal(enc, in) {
			t.Fatalf("re-encode differs:\n%x\n%x", enc, in)
		}
		var q Packet
		if err := q.DecodeFromBytes(enc); err != nil {
			t.Fatalf("decode of re-encode: %v", err)
		}
		if d := comparePackets(&q, &p); d != "" {
			t.Fatal(d)
		}
		// Any extension area parses without panicking, within the area.
		Extensions(p.Ext, func(typ uint8, value []byte) bool {
			if typ == 0 || len(value) > len(p.Ext)-2 {
				t.Fatalf("extension %d of %d bytes in an area of %d", typ, len(value), len(p.Ext))
			}
			return true
		})
	})
}

// TestFuzzCorpusCommitted makes sure the corpus a long fuzz run found stays
// in the repository and keeps passing (go test runs it as seeds).
func TestFuzzCorpusCommitted(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzDecode"))
	if err != nil {
		t.Fatalf("the fuzz corpus is not committed: %v", err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	if n == 0 {
		t.Error("testdata/fuzz/FuzzDecode is empty")
	}
}
