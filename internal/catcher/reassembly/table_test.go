package reassembly

import (
	"math/rand/v2"
	"testing"
)

// TestDumpTable adds and removes dumps in random order, with real hashes
// and with every key hashing alike (one chain), against a map.
func TestDumpTable(t *testing.T) {
	for _, clash := range []bool{false, true} {
		tb := newDumpTable()
		tb.clash = clash
		want := map[dumpKey]*dump{}
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 3000 {
			var k dumpKey
			k.seq = uint32(r.IntN(200))
			k.hostLen = uint8(copy(k.host[:], []byte{byte(r.IntN(3))}))
			if d, ok := want[k]; ok && i%3 != 0 {
				tb.del(d)
				delete(want, k)
			} else if !ok {
				d := &dump{key: k}
				tb.put(d)
				want[k] = d
			}
			if tb.len() != len(want) {
				t.Fatalf("clash %v: len %d, want %d", clash, tb.len(), len(want))
			}
		}
		for k, d := range want {
			if tb.get(k) != d {
				t.Fatalf("clash %v: get %+v", clash, k)
			}
		}
		n := 0
		for d := range tb.all() {
			if want[d.key] != d {
				t.Fatalf("clash %v: all yields %+v", clash, d.key)
			}
			n++
		}
		var missing dumpKey
		missing.seq = 999
		if n != len(want) || tb.get(missing) != nil {
			t.Fatalf("clash %v: all %d of %d", clash, n, len(want))
		}
	}
}
