package ranges

import (
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
