package ranges

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestRangeSetRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 2000; iter++ {
		const n = 200
		var ref [n]bool
		var s Set
		for op := 0; op < 30; op++ {
			a := uint32(r.IntN(n))
			b := a + uint32(r.IntN(n-int(a)+1))
			// Check gaps against the reference before mutating.
			var want []Range
			for i := a; i < b; {
				if ref[i] {
					i++
					continue
				}
				j := i
				for j < b && !ref[j] {
					j++
				}
				want = append(want, Range{i, j})
				i = j
			}
			var got []Range
			s.Gaps(a, b, func(x, y uint32) { got = append(got, Range{x, y}) })
			if len(got) != len(want) {
				t.Fatalf("gaps(%d,%d) = %v, want %v (set %v)", a, b, got, want, s.iv)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("gaps(%d,%d) = %v, want %v", a, b, got, want)
				}
			}
			if s.Contains(a, b) != (len(want) == 0) {
				t.Fatalf("contains(%d,%d) wrong, set %v", a, b, s.iv)
			}
			if r.IntN(4) == 0 {
				s.Remove(a, b)
				for i := a; i < b; i++ {
					ref[i] = false
				}
			} else {
				s.Add(a, b)
				for i := a; i < b; i++ {
					ref[i] = true
				}
			}
			// Invariants: sorted, disjoint, non-adjacent, non-empty.
			for i, v := range s.iv {
				if v.Start >= v.End || (i > 0 && s.iv[i-1].End >= v.Start) {
					t.Fatalf("bad set %v", s.iv)
				}
				for k := v.Start; k < v.End; k++ {
					if !ref[k] {
						t.Fatalf("set %v has %d, reference not", s.iv, k)
					}
				}
			}
			var cnt uint64
			for _, v := range ref {
				if v {
					cnt++
				}
			}
			if s.Covered() != cnt {
				t.Fatalf("covered %d, want %d", s.Covered(), cnt)
			}
		}
	}
}

func TestRangeSetMissing(t *testing.T) {
	var s Set
	s.Add(10, 20)
	s.Add(30, 40)
	m := s.Missing(50)
	want := []Range{{0, 10}, {20, 30}, {40, 50}}
	if len(m) != len(want) {
		t.Fatalf("missing = %v", m)
	}
	for i := range m {
		if m[i] != want[i] {
			t.Fatalf("missing = %v", m)
		}
	}
	s.Add(0, 50)
	if len(s.iv) != 1 || s.Missing(50) != nil {
		t.Fatalf("set %v", s.iv)
	}
}

// TestSetBitmapRandom runs random operations on sets small enough for
// their bookkeeping to turn into a bitmap, against a reference.
func TestSetBitmapRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 7))
	const n = 1500
	bitmaps := 0
	defer func() {
		if bitmaps < 150 {
			t.Errorf("only %d of 200 sets became bitmaps", bitmaps)
		}
	}()
	for iter := 0; iter < 200; iter++ {
		ref := make([]bool, n)
		s := NewSet(n)
		for op := 0; op < 300; op++ {
			a := uint32(r.IntN(n))
			b := min(a+1+uint32(r.IntN(8)), n)
			if r.IntN(50) == 0 {
				b = min(a+uint32(r.IntN(n)), n)
			}
			var want []Range
			for i := a; i < b; {
				if ref[i] {
					i++
					continue
				}
				j := i
				for j < b && !ref[j] {
					j++
				}
				want = append(want, Range{i, j})
				i = j
			}
			var got []Range
			s.Gaps(a, b, func(x, y uint32) { got = append(got, Range{x, y}) })
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("gaps(%d,%d) = %v, want %v (bitmap %v)", a, b, got, want, s.bm != nil)
			}
			if s.Contains(a, b) != (len(want) == 0) {
				t.Fatalf("contains(%d,%d) wrong", a, b)
			}
			if r.IntN(6) == 0 {
				s.Remove(a, b)
				for i := a; i < b; i++ {
					ref[i] = false
				}
			} else {
				s.Add(a, b)
				for i := a; i < b; i++ {
					ref[i] = true
				}
			}
			var cnt uint64
			var miss []Range
			for i := 0; i < n; {
				if ref[i] {
					cnt++
					i++
					continue
				}
				j := i
				for j < n && !ref[j] {
					j++
				}
				miss = append(miss, Range{uint32(i), uint32(j)})
				i = j
			}
			if s.Covered() != cnt {
				t.Fatalf("covered %d, want %d", s.Covered(), cnt)
			}
			if fmt.Sprint(s.Missing(n)) != fmt.Sprint(miss) {
				t.Fatalf("missing %v, want %v", s.Missing(n), miss)
			}
		}
		if s.bm != nil {
			bitmaps++
		}
	}
}

// TestSetMemoryBound: however a sender cuts a dump, the set's memory
// stays within about one bit per byte of the dump, and every piece is
// taken.
func TestSetMemoryBound(t *testing.T) {
	for _, size := range []uint32{12000, 1 << 20, 16 << 20} {
		s := NewSet(size)
		for off := uint32(0); off < size; off += 2 {
			s.Add(off, off+1)
		}
		if s.bm == nil {
			t.Errorf("size %d: still %d intervals", size, len(s.iv))
		}
		if limit := int(size/8) + 256; s.MemBytes() > limit {
			t.Errorf("size %d: %d bytes of bookkeeping for alternate bytes, limit %d", size, s.MemBytes(), limit)
		}
		if s.Covered() != uint64(size/2) {
			t.Errorf("size %d: covered %d", size, s.Covered())
		}
		for off := uint32(1); off < size; off += 2 {
			s.Add(off, off+1)
		}
		if !s.Contains(0, size) || len(s.Missing(size)) != 0 {
			t.Errorf("size %d: not complete", size)
		}
	}
}
