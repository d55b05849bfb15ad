package reassembly

import (
	"hash/maphash"
	"iter"
)

// dumpTable finds a shard's dumps by key. It is a map from a 64-bit
// seeded hash of the key to the dump, dumps whose keys share a hash
// chained through dump.hnext: its slots are 16 bytes instead of the key's
// 92, so that in a storm, with 100,000 dumps in flight and every packet
// another dump's, a lookup misses the caches about once (the slot)
// before the dump itself, which holds the whole key to compare.
type dumpTable struct {
	seed  maphash.Seed
	m     map[uint64]*dump
	n     int
	clash bool // tests: every key hashes alike
}

func newDumpTable() dumpTable {
	return dumpTable{seed: maphash.MakeSeed(), m: make(map[uint64]*dump)}
}

func (t *dumpTable) hash(k *dumpKey) uint64 {
	if t.clash {
		return 0
	}
	return maphash.Comparable(t.seed, *k)
}

// get returns the dump of key k, or nil.
func (t *dumpTable) get(k dumpKey) *dump {
	for d := t.m[t.hash(&k)]; d != nil; d = d.hnext {
		if d.key == k {
			return d
		}
	}
	return nil
}

// put adds d, whose key is not in the table.
func (t *dumpTable) put(d *dump) {
	h := t.hash(&d.key)
	d.hnext = t.m[h]
	t.m[h] = d
	t.n++
}

// del removes d.
func (t *dumpTable) del(d *dump) {
	h := t.hash(&d.key)
	p := t.m[h]
	switch {
	case p == d:
		if d.hnext == nil {
			delete(t.m, h)
		} else {
			t.m[h] = d.hnext
		}
	default:
		for p != nil && p.hnext != d {
			p = p.hnext
		}
		if p == nil {
			return
		}
		p.hnext = d.hnext
	}
	d.hnext = nil
	t.n--
}

func (t *dumpTable) len() int { return t.n }

// all yields every dump.
func (t *dumpTable) all() iter.Seq[*dump] {
	return func(yield func(*dump) bool) {
		for _, d := range t.m {
			for ; d != nil; d = d.hnext {
				if !yield(d) {
					return
				}
			}
		}
	}
}
