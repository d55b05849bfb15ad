package reassembly

import (
	"net/netip"

	"github.com/netoops/netoops/pkg/wire"
)

// Reader takes the datagrams one receive socket reads (one of a
// SO_REUSEPORT group, see package steer) and handles those of its own
// shard on the reader's goroutine, under the shard's lock: no copy, no
// hand-off to another goroutine. When the kernel steers packets by dump,
// as many sockets as shards, that is every packet; a packet of another
// shard's dump (no steering program, or more sockets than shards) is
// forwarded to that shard, so that a dump whose packets arrive on several
// sockets (from several ports or addresses) is still put together by one
// shard. Each receive goroutine has its own Reader.
type Reader struct {
	e   *Engine
	own int
	f   *Feeder
	p   wire.Packet
	fwd []fwd
}

type fwd struct {
	i, shard int
}

// NewReader returns the Reader of receive socket i; the engine must be
// started.
func (e *Engine) NewReader(i int) *Reader {
	return &Reader{e: e, own: i % len(e.shards), f: e.NewFeeder()}
}

// Batch handles the datagrams of one receive call: pkts[i] from srcs[i],
// received now. The slices may be reused once it returns. A batch shorter
// than the capacity of pkts means the socket was read empty: then the
// shard's spool buffer is written out, so that what was received is in
// the page cache (and survives a crash of the catcher) whenever the
// catcher keeps up.
func (r *Reader) Batch(pkts [][]byte, srcs []netip.AddrPort) {
	e := r.e
	m := e.metrics
	m.Received.Add(float64(len(pkts)))
	s := e.shards[r.own]
	decoded := 0
	s.mu.Lock()
	now := e.cfg.Now()
	for i, b := range pkts {
		if err := r.p.DecodeFromBytes(b); err != nil {
			e.countMalformed(err)
			continue
		}
		decoded++
		if j := e.shardOf(&r.p); j != r.own {
			r.fwd = append(r.fwd, fwd{i, j})
			continue
		}
		s.handle(&r.p, b, srcs[i], now, now)
	}
	s.pumpSoon(now)
	if len(pkts) < cap(pkts) {
		s.flushSpool(now)
	}
	s.mu.Unlock()
	if decoded > 0 {
		m.Decoded.Add(float64(decoded))
	}
	if len(r.fwd) > 0 {
		// After the lock: a forward may wait for the other shard, which
		// may itself be forwarding to this one.
		for _, f := range r.fwd {
			r.f.put(f.shard, pkts[f.i], srcs[f.i], 0)
		}
		m.Forwarded.Add(float64(len(r.fwd)))
		r.fwd = r.fwd[:0]
		r.f.Flush()
	}
}

// countMalformed counts a packet validation rejected.
func (e *Engine) countMalformed(err error) {
	if de, ok := err.(wire.DecodeError); ok {
		e.metrics.Malformed(de).Inc()
	}
}
