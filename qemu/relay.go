package qemu

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Relay is a lossy UDP relay on the host: every datagram it receives is
// forwarded to To unless the random draw drops it. It stands in for netem,
// which the test machines do not have.
type Relay struct {
	To        *net.UDPAddr
	Loss      float64 // probability of dropping each datagram, 0..1
	Received  atomic.Int64
	Forwarded atomic.Int64
	Dropped   atomic.Int64

	in, out *net.UDPConn
	mu      sync.Mutex
	rng     *rand.Rand
	done    chan struct{}
}

// NewRelay listens on listen (e.g. "127.0.0.1:0") and forwards to to.
// seed makes the drop pattern reproducible for a given arrival order.
func NewRelay(listen, to string, loss float64, seed uint64) (*Relay, error) {
	la, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, err
	}
	ta, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		return nil, err
	}
	in, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, err
	}
	in.SetReadBuffer(8 << 20)
	outNet := "udp4"
	if ta.IP.To4() == nil {
		outNet = "udp6"
	}
	out, err := net.ListenUDP(outNet, nil)
	if err != nil {
		in.Close()
		return nil, err
	}
	r := &Relay{To: ta, Loss: loss, in: in, out: out, rng: rand.New(rand.NewPCG(seed, 0x6e65746f6f7073)), done: make(chan struct{})}
	go r.run()
	return r, nil
}

// Addr is the address the relay listens on.
func (r *Relay) Addr() *net.UDPAddr { return r.in.LocalAddr().(*net.UDPAddr) }

// Port is the port the relay listens on.
func (r *Relay) Port() int { return r.Addr().Port }

func (r *Relay) run() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := r.in.ReadFromUDP(buf)
		if err != nil {
			return
		}
		r.Received.Add(1)
		r.mu.Lock()
		drop := r.rng.Float64() < r.Loss
		r.mu.Unlock()
		if drop {
			r.Dropped.Add(1)
			continue
		}
		if _, err := r.out.WriteToUDP(buf[:n], r.To); err == nil {
			r.Forwarded.Add(1)
		}
	}
}

// Close stops the relay.
func (r *Relay) Close() error {
	err := r.in.Close()
	<-r.done
	r.out.Close()
	return err
}

// LineCollector receives plain UDP datagrams (netconsole's) and keeps
// their payloads in arrival order.
type LineCollector struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	msgs  [][]byte
	times []time.Time
	done  chan struct{}
}

// NewLineCollector listens on listen.
func NewLineCollector(listen string) (*LineCollector, error) {
	la, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, err
	}
	c.SetReadBuffer(8 << 20)
	lc := &LineCollector{conn: c, done: make(chan struct{})}
	go func() {
		defer close(lc.done)
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			lc.mu.Lock()
			lc.msgs = append(lc.msgs, append([]byte(nil), buf[:n]...))
			lc.times = append(lc.times, time.Now())
			lc.mu.Unlock()
		}
	}()
	return lc, nil
}

// Addr is the collector's address.
func (lc *LineCollector) Addr() *net.UDPAddr { return lc.conn.LocalAddr().(*net.UDPAddr) }

// Arrivals returns when each datagram of Messages arrived.
func (lc *LineCollector) Arrivals() []time.Time {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return append([]time.Time(nil), lc.times...)
}

// Messages returns the datagrams received so far.
func (lc *LineCollector) Messages() [][]byte {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return append([][]byte(nil), lc.msgs...)
}

// Close stops the collector.
func (lc *LineCollector) Close() error {
	err := lc.conn.Close()
	<-lc.done
	return err
}
