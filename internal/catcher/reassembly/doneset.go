package reassembly

import (
	"time"
	"unsafe"
)

// doneSet remembers the keys of dumps stored complete, to absorb their
// late copies once the dump's state is freed: per dump a key (about 100
// bytes) instead of the dump's whole state (about 1 KiB with its names,
// sidecar fields and LRU links), so that a storm of 100,000 dumps keeps
// some 15 MiB rather than 100 MiB (doubled by the GC) after they are
// stored.
//
// It is an expiring set of two generations: a key is added to the
// current one; every retain (or once the current generation holds max
// keys) the current one becomes the previous one and the previous one is
// forgotten. A key found in the previous generation moves to the current
// one. So a key is kept from retain up to twice retain after its last
// packet (and at most 2*max keys are kept).
type doneSet struct {
	cur, prev map[dumpKey]struct{}
	since     time.Time // when cur became current
	max       int
}

func newDoneSet(max int) doneSet {
	return doneSet{cur: make(map[dumpKey]struct{}), max: max}
}

// add remembers k.
func (s *doneSet) add(k dumpKey, now time.Time) {
	if s.since.IsZero() {
		s.since = now
	}
	if len(s.cur) >= s.max {
		s.rotate(now)
	}
	s.cur[k] = struct{}{}
}

// seen reports whether k is remembered, keeping it for another retain if
// it is.
func (s *doneSet) seen(k dumpKey, now time.Time) bool {
	if _, ok := s.cur[k]; ok {
		return true
	}
	if _, ok := s.prev[k]; ok {
		delete(s.prev, k)
		s.add(k, now)
		return true
	}
	return false
}

// expire starts a new generation if the current one is retain old.
func (s *doneSet) expire(now time.Time, retain time.Duration) {
	if !s.since.IsZero() && now.Sub(s.since) >= retain {
		s.rotate(now)
	}
}

func (s *doneSet) rotate(now time.Time) {
	if len(s.cur) == 0 && len(s.prev) == 0 {
		s.since = time.Time{}
		return
	}
	s.prev, s.cur, s.since = s.cur, make(map[dumpKey]struct{}), now
}

func (s *doneSet) len() int { return len(s.cur) + len(s.prev) }

// memBytes estimates the set's memory: a map slot per key (key, control
// byte, load factor).
func (s *doneSet) memBytes() int64 {
	return int64(s.len()) * (int64(unsafe.Sizeof(dumpKey{})) + 24)
}
