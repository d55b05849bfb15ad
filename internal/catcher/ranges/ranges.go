// Package ranges keeps the byte ranges of a dump: which bytes of a log
// are held, which are missing.
package ranges

import "math/bits"

// Range is a half-open byte range [Start, End) of a dumped log.
type Range struct {
	Start uint32 `json:"start"`
	End   uint32 `json:"end"`
}

// Len returns the number of bytes in r.
func (r Range) Len() uint32 { return r.End - r.Start }

// Set is a set of byte ranges of a log of known size, kept as sorted,
// disjoint, non-adjacent intervals: a dump received in order or tail first
// stays one interval, so its bookkeeping is usually 8 bytes whatever its
// size. A sender cutting the log into pieces that leave many holes (or a
// hostile one sending alternate bytes) would make the intervals grow with
// the bytes held; once they would take more memory than a bitmap of the
// log, one bit per byte, the set becomes that bitmap. So no piece is ever
// refused for the bookkeeping it needs, and a set never holds more than
// about size/8 bytes (plus a few intervals' worth for small logs).
//
// The zero Set is an empty set of unknown size, which never becomes a
// bitmap.
type Set struct {
	iv   []Range
	bm   *bitmap // when not nil, the set is this bitmap and iv is unused
	size uint32
}

// minIntervals is the number of intervals a set always keeps as such:
// below it a bitmap saves nothing worth the conversion.
const minIntervals = 16

// NewSet returns an empty set of the bytes [0, size).
func NewSet(size uint32) Set { return Set{size: size} }

// Fill makes the set [0, total) and nothing else.
func (s *Set) Fill(total uint32) {
	s.iv = append(s.iv[:0:0], Range{0, total})
	s.bm = nil
}

// Covered returns the number of bytes in the set.
func (s *Set) Covered() uint64 {
	if s.bm != nil {
		return s.bm.n
	}
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
	if s.bm != nil {
		return s.bm.nextClear(start, end) == end
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
	if s.bm != nil {
		s.bm.gaps(start, end, fn)
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

// Add inserts [start, end) into the set, merging with neighbours. It
// never fails: when the intervals would outgrow a bitmap of the set's
// size, the set becomes that bitmap.
func (s *Set) Add(start, end uint32) {
	if start >= end {
		return
	}
	if s.bm != nil {
		s.bm.set(start, end)
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
		if len(s.iv) > minIntervals && s.size > 0 && uint64(cap(s.iv)) > words(s.size) {
			s.toBitmap() // the intervals would hold more than the bitmap
		}
	default: // replace s.iv[i:j] with one interval
		s.iv[i] = Range{start, end}
		s.iv = append(s.iv[:i+1], s.iv[j:]...)
	}
}

// toBitmap turns the intervals into a bitmap of the set's size. An
// interval past the size (which a caller keeping its promise never adds)
// is cut.
func (s *Set) toBitmap() {
	b := &bitmap{w: make([]uint64, words(s.size)), size: s.size}
	for _, r := range s.iv {
		if r.Start < s.size {
			b.set(r.Start, min(r.End, s.size))
		}
	}
	s.bm, s.iv = b, nil
}

// Remove deletes [start, end) from the set.
func (s *Set) Remove(start, end uint32) {
	if start >= end {
		return
	}
	if s.bm != nil {
		s.bm.clear(start, end)
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
func (s *Set) MemBytes() int {
	if s.bm != nil {
		return len(s.bm.w)*8 + 48
	}
	return cap(s.iv) * 8
}

// words is the number of 64-bit words of a bitmap of size bits.
func words(size uint32) uint64 { return (uint64(size) + 63) / 64 }

// bitmap is a set as one bit per byte of [0, size). Bytes at or past size
// are never in it.
type bitmap struct {
	w    []uint64
	n    uint64 // bits set
	size uint32
}

// forWords calls fn(i, mask) for each word i that [a, b) touches, with the
// mask of its bits inside [a, b). a < b <= size.
func forWords(a, b uint32, fn func(i int, mask uint64)) {
	first, last := int(a/64), int((b-1)/64)
	for i := first; i <= last; i++ {
		mask := ^uint64(0)
		if i == first {
			mask &= ^uint64(0) << (a % 64)
		}
		if i == last {
			if r := b % 64; r != 0 {
				mask &= ^uint64(0) >> (64 - r)
			}
		}
		fn(i, mask)
	}
}

func (b *bitmap) set(start, end uint32) {
	end = min(end, b.size)
	if start >= end {
		return
	}
	forWords(start, end, func(i int, mask uint64) {
		b.n += uint64(bits.OnesCount64(mask &^ b.w[i]))
		b.w[i] |= mask
	})
}

func (b *bitmap) clear(start, end uint32) {
	end = min(end, b.size)
	if start >= end {
		return
	}
	forWords(start, end, func(i int, mask uint64) {
		b.n -= uint64(bits.OnesCount64(mask & b.w[i]))
		b.w[i] &^= mask
	})
}

// nextClear returns the first byte of [from, end) not in the set, or end.
func (b *bitmap) nextClear(from, end uint32) uint32 {
	for from < end {
		if from >= b.size {
			return from
		}
		i := from / 64
		w := ^b.w[i] >> (from % 64) // clear bits from `from` on, as set bits
		if w != 0 {
			return min(from+uint32(bits.TrailingZeros64(w)), end)
		}
		from = (i + 1) * 64
	}
	return end
}

// nextSet returns the first byte of [from, end) in the set, or end.
func (b *bitmap) nextSet(from, end uint32) uint32 {
	end2 := min(end, b.size)
	for from < end2 {
		i := from / 64
		w := b.w[i] >> (from % 64)
		if w != 0 {
			return min(from+uint32(bits.TrailingZeros64(w)), end)
		}
		from = (i + 1) * 64
	}
	return end
}

func (b *bitmap) gaps(start, end uint32, fn func(a, b uint32)) {
	for cur := b.nextClear(start, end); cur < end; {
		next := b.nextSet(cur, end)
		fn(cur, next)
		cur = b.nextClear(next, end)
	}
}
