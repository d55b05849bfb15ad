package reassembly

// A dump in the spool keeps where its pieces are: for each run of new
// bytes, the spool segment and offset of its first byte, its log offset
// and length. Extents live in blocks taken from a shard's slab, which
// holds no pointers (the garbage collector does not scan it) and is
// allocated in chunks, so that a storm of dumps neither allocates per
// packet nor copies a growing array.

// extent is a run of a dump's bytes in the spool.
type extent struct {
	seg uint32 // spool segment
	off uint32 // offset of the run's first byte in the segment
	log uint32 // its offset in the log
	n   uint32
}

const (
	extPerBlock = 15
	chunkBlocks = 4096 // blocks per slab chunk (1 MiB)
)

type extBlock struct {
	ext  [extPerBlock]extent
	n    int32
	next int32 // next block of the dump, -1 at the end
}

// extList is a dump's extents: a chain of blocks, oldest first.
type extList struct {
	head, tail int32 // block indexes; -1 when empty
	n          int32 // extents
}

func (l *extList) empty() bool { return l.n == 0 }

// extSlab holds a shard's extent blocks.
type extSlab struct {
	chunks [][]extBlock
	free   int32 // free list, through next; -1 when empty
	used   int   // blocks in use
}

func (s *extSlab) block(i int32) *extBlock {
	return &s.chunks[i/chunkBlocks][i%chunkBlocks]
}

func (s *extSlab) alloc() int32 {
	if len(s.chunks) == 0 {
		s.free = -1
	}
	if s.free < 0 {
		c := make([]extBlock, chunkBlocks)
		base := int32(len(s.chunks) * chunkBlocks)
		s.chunks = append(s.chunks, c)
		for i := chunkBlocks - 1; i >= 0; i-- {
			c[i].next = s.free
			s.free = base + int32(i)
		}
	}
	i := s.free
	b := s.block(i)
	s.free = b.next
	b.n, b.next = 0, -1
	s.used++
	return i
}

// add appends e to l.
func (s *extSlab) add(l *extList, e extent) {
	if l.n == 0 {
		l.head = s.alloc()
		l.tail = l.head
	}
	b := s.block(l.tail)
	if b.n == extPerBlock {
		nb := s.alloc()
		b.next = nb
		l.tail = nb
		b = s.block(nb)
	}
	b.ext[b.n] = e
	b.n++
	l.n++
}

// last returns l's newest extent; l is not empty.
func (s *extSlab) last(l *extList) extent {
	b := s.block(l.tail)
	return b.ext[b.n-1]
}

// each calls fn with l's extents from index from (oldest first) on.
func (s *extSlab) each(l *extList, from int32, fn func(e extent)) {
	if l.n == 0 {
		return
	}
	i := int32(0)
	for bi := l.head; bi >= 0; {
		b := s.block(bi)
		if i+b.n > from {
			for j := max(from-i, 0); j < b.n; j++ {
				fn(b.ext[j])
			}
		}
		i += b.n
		bi = b.next
	}
}

// clear frees l's blocks.
func (s *extSlab) clear(l *extList) {
	for bi := l.head; l.n > 0 && bi >= 0; {
		b := s.block(bi)
		next := b.next
		b.next = s.free
		s.free = bi
		s.used--
		bi = next
	}
	*l = extList{head: -1, tail: -1}
}

func (s *extSlab) memBytes() int64 {
	return int64(len(s.chunks)) * chunkBlocks * int64(extPerBlockBytes)
}

const extPerBlockBytes = extPerBlock*16 + 8
