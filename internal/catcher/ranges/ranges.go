// Package ranges keeps the byte ranges of a dump: which bytes of a log
// are held, which are missing.
package ranges

// Range is a half-open byte range [Start, End) of a dumped log.
type Range struct {
	Start uint32 `json:"start"`
	End   uint32 `json:"end"`
}

// Len returns the number of bytes in r.
func (r Range) Len() uint32 { return r.End - r.Start }

// Set is a compact set of byte ranges: sorted, disjoint, non-adjacent
// intervals. A dump received in order or tail first stays one interval, so
// the bookkeeping for a dump is usually 8 bytes whatever its size. The zero
// Set is empty.
type Set struct {
	iv []Range
}

// Intervals returns the number of intervals in the set.
func (s *Set) Intervals() int { return len(s.iv) }

// Fill makes the set [0, total) and nothing else.
func (s *Set) Fill(total uint32) {
	s.iv = append(s.iv[:0:0], Range{0, total})
}

// Covered returns the number of bytes in the set.
func (s *Set) Covered() uint64 {
	var n uint64
	for _, r := range s.iv {
		n += uint64(r.Len())
	}
	return n
}

// search returns the index of the first interval whose End >= off.
func (s *Set) search(off uint32) int {
	lo, hi := 0, len(s.iv)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.iv[m].End < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Contains reports whether every byte of [start, end) is in the set.
func (s *Set) Contains(start, end uint32) bool {
	if start >= end {
		return true
	}
	i := s.search(start + 1)
	return i < len(s.iv) && s.iv[i].Start <= start && s.iv[i].End >= end
}

// Gaps calls fn for each sub-range of [start, end) not in the set, in
// order, without modifying the set.
func (s *Set) Gaps(start, end uint32, fn func(a, b uint32)) {
	if start >= end {
		return
	}
	cur := start
	for i := s.search(start + 1); i < len(s.iv) && cur < end; i++ {
		r := s.iv[i]
		if r.Start >= end {
			break
		}
		if r.Start > cur {
			fn(cur, r.Start)
		}
		if r.End > cur {
			cur = r.End
		}
	}
	if cur < end {
		fn(cur, end)
	}
}

// Add inserts [start, end) into the set, merging with neighbours.
func (s *Set) Add(start, end uint32) {
	if start >= end {
		return
	}
	// First interval that touches or follows start (End >= start).
	i := s.search(start)
	j := i
	for j < len(s.iv) && s.iv[j].Start <= end {
		start = min(start, s.iv[j].Start)
		end = max(end, s.iv[j].End)
		j++
	}
	switch {
	case i == j: // insert
		s.iv = append(s.iv, Range{})
		copy(s.iv[i+1:], s.iv[i:])
		s.iv[i] = Range{start, end}
	default: // replace s.iv[i:j] with one interval
		s.iv[i] = Range{start, end}
		s.iv = append(s.iv[:i+1], s.iv[j:]...)
	}
}

// Remove deletes [start, end) from the set.
func (s *Set) Remove(start, end uint32) {
	if start >= end {
		return
	}
	out := s.iv[:0:0]
	changed := false
	for _, r := range s.iv {
		if r.End <= start || r.Start >= end {
			out = append(out, r)
			continue
		}
		changed = true
		if r.Start < start {
			out = append(out, Range{r.Start, start})
		}
		if r.End > end {
			out = append(out, Range{end, r.End})
		}
	}
	if changed {
		s.iv = out
	}
}

// Missing returns the ranges of [0, total) not in the set.
func (s *Set) Missing(total uint32) []Range {
	var out []Range
	s.Gaps(0, total, func(a, b uint32) { out = append(out, Range{a, b}) })
	return out
}

// MemBytes is the memory the set holds.
func (s *Set) MemBytes() int { return cap(s.iv) * 8 }
