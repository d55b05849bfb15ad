// Command loadgen sends synthetic netoops dumps from many simulated hosts
// to a catcher on the loopback interface, at a set rate and loss, and
// reports what it sent. With --sink it is instead a bare UDP reader (the
// same recvmmsg loop as the catcher, doing nothing with the packets), to
// measure the ceiling a receiver can reach. With --verify it checks the
// dumps a catcher stored. See docs/performance.md.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/source"
	"github.com/netoops/netoops/pkg/wire"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

type config struct {
	target     string
	hosts      int
	dumpBytes  int
	payload    int
	rate       float64
	loss       float64
	copies     int
	dumps      int
	duration   time.Duration
	senders    int
	seed       uint64
	sink       bool
	sinkStore  string
	verify     string
	verifyWait time.Duration
	hostPrefix string
	format     string
}

func main() {
	var c config
	flag.StringVar(&c.target, "target", "127.0.0.1:6668", "catcher address; only loopback (127.0.0.0/8, ::1) is allowed")
	flag.IntVar(&c.hosts, "hosts", 100, "simulated hosts sending at once")
	flag.IntVar(&c.dumpBytes, "dump-bytes", 128<<10, "log bytes per dump")
	flag.IntVar(&c.payload, "payload", 0, "payload bytes per packet (default: what fits MTU 1500)")
	flag.Float64Var(&c.rate, "rate", 0, "packets per second over all senders (0: as fast as possible)")
	flag.Float64Var(&c.loss, "loss", 0, "fraction of packets not sent (0..1)")
	flag.IntVar(&c.copies, "copies", 1, "rounds each dump is sent (the kernel's copies)")
	flag.IntVar(&c.dumps, "dumps", 0, "dumps to send in all (default: one per host); waves of --hosts dumps")
	flag.DurationVar(&c.duration, "duration", 0, "send waves until this much time has passed (instead of --dumps)")
	flag.IntVar(&c.senders, "senders", 1, "sending goroutines, each with its own socket")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed (boot ids, loss)")
	flag.BoolVar(&c.sink, "sink", false, "be a bare UDP reader on --target instead; report packets/s")
	flag.StringVar(&c.sinkStore, "sink-store", "", "with --sink, also write every datagram to files in this directory (the least a storing receiver does)")
	flag.StringVar(&c.verify, "verify", "", "after sending, check the dumps stored under this catcher --dir")
	flag.DurationVar(&c.verifyWait, "verify-wait", 60*time.Second, "how long --verify waits for the dumps to be stored")
	flag.StringVar(&c.hostPrefix, "host-prefix", "sim", "simulated host names are PREFIX-NNNNN.example.net")
	flag.StringVar(&c.format, "format", "netoops", "what to send: netoops packets, or netconsole: extended netconsole records (as netconsd parses; each host from its own 127.1.0.0/16+ address; no --verify)")
	flag.Parse()
	if c.format != "netoops" && c.format != "netconsole" {
		fmt.Fprintf(os.Stderr, "loadgen: --format %q: want netoops or netconsole\n", c.format)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if c.sink {
		err = sink(ctx, &c)
	} else {
		err = send(ctx, &c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func loopbackTarget(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("--target %q: want IP:PORT: %v", s, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return ap, fmt.Errorf("--target %s is not a loopback address: loadgen only sends to 127.0.0.0/8 or ::1", ap)
	}
	return ap, nil
}

// logText is the shared log of every simulated dump: kernel-like lines
// ending with a panic.
func logText(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "[%5d.%06d] loadgen: synthetic kernel log line %d of a netoops load test\n", i/1000, i%1000*997, i)
	}
	tail := "Kernel panic - not syncing: sysrq triggered crash\n"
	out := b.Bytes()[:n]
	if n > len(tail) {
		copy(out[n-len(tail):], tail)
	}
	return out
}

type hostInfo struct {
	name  []byte
	label []byte
	boot  [16]byte
}

func makeHosts(c *config) []hostInfo {
	r := rand.New(rand.NewPCG(c.seed, 42))
	hs := make([]hostInfo, c.hosts)
	for i := range hs {
		hs[i].name = []byte(fmt.Sprintf("%s-%05d.example.net", c.hostPrefix, i))
		hs[i].label = []byte(fmt.Sprintf("rack-%d", i%64))
		binary.BigEndian.PutUint64(hs[i].boot[:8], r.Uint64())
		binary.BigEndian.PutUint64(hs[i].boot[8:], r.Uint64())
	}
	return hs
}

type report struct {
	Mode        string  `json:"mode"`
	Target      string  `json:"target"`
	Hosts       int     `json:"hosts"`
	Dumps       int     `json:"dumps"`
	DumpBytes   int     `json:"dump_bytes"`
	Payload     int     `json:"payload"`
	Copies      int     `json:"copies"`
	Loss        float64 `json:"loss"`
	Packets     uint64  `json:"packets_sent"`
	Lost        uint64  `json:"packets_lost"`
	Bytes       uint64  `json:"bytes_sent"`
	SendErrors  uint64  `json:"send_errors"`
	ElapsedSec  float64 `json:"elapsed_s"`
	PPS         float64 `json:"pps"`
	Verified    int     `json:"verified_complete,omitempty"`
	VerifyError string  `json:"verify_error,omitempty"`
}

func send(ctx context.Context, c *config) error {
	ap, err := loopbackTarget(c.target)
	if err != nil {
		return err
	}
	if c.hosts < 1 || c.senders < 1 || c.copies < 1 || c.copies > 255 || c.loss < 0 || c.loss >= 1 {
		return errors.New("bad --hosts, --senders, --copies or --loss")
	}
	if c.format == "netconsole" {
		if c.verify != "" || c.loss > 0 || c.senders != 1 || c.duration > 0 {
			return errors.New("--format netconsole: no --verify, --loss, --senders or --duration")
		}
		rep, err := sendNetconsole(ctx, c, ap)
		rep.Mode, rep.Target, rep.Hosts, rep.DumpBytes, rep.Copies = "send-netconsole", ap.String(), c.hosts, c.dumpBytes, c.copies
		rep.PPS = float64(rep.Packets) / max(rep.ElapsedSec, 1e-9)
		out, _ := json.Marshal(rep)
		fmt.Println(string(out))
		return err
	}
	hosts := makeHosts(c)
	log := logText(c.dumpBytes)
	hdr := wire.FixedHeaderLen + len(hosts[0].name) + len("6.12.57+deb13-amd64") + len(hosts[0].label) + len("sysrq triggered crash")
	if c.payload <= 0 {
		c.payload = wire.MaxPayload(1500, ap.Addr().Is6() && !ap.Addr().Is4In6(), hdr, false)
	}
	if c.dumps <= 0 {
		c.dumps = c.hosts
	}
	waves := (c.dumps + c.hosts - 1) / c.hosts
	if c.duration > 0 {
		waves = 1 << 30
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	count := 1
	if len(log) > 0 {
		count = (len(log) + c.payload - 1) / c.payload
	}
	var sent, lost, nbytes, serr atomic.Uint64
	var dumpsSent atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < c.senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
			if err != nil {
				fmt.Fprintln(os.Stderr, "loadgen:", err)
				return
			}
			defer conn.Close()
			conn.SetWriteBuffer(8 << 20)
			var writeBatch func([]ipv4.Message) (int, error)
			if ap.Addr().Is4() {
				pc := ipv4.NewPacketConn(conn)
				writeBatch = func(ms []ipv4.Message) (int, error) { return pc.WriteBatch(ms, 0) }
			} else {
				pc := ipv6.NewPacketConn(conn)
				writeBatch = func(ms []ipv4.Message) (int, error) { return pc.WriteBatch(ms, 0) }
			}
			r := rand.New(rand.NewPCG(c.seed, uint64(s)+1000))
			const batch = 64
			msgs := make([]ipv4.Message, batch)
			bufs := make([][]byte, batch)
			for i := range msgs {
				bufs[i] = make([]byte, 0, hdr+c.payload+64)
				msgs[i].Buffers = [][]byte{nil}
			}
			nb := 0
			rate := c.rate / float64(c.senders)
			var mySent uint64
			t0 := time.Now()
			flush := func() bool {
				if nb == 0 {
					return true
				}
				for i := 0; i < nb; i++ {
					msgs[i].Buffers[0] = bufs[i]
				}
				off := 0
				for off < nb {
					n, err := writeBatch(msgs[off:nb])
					if err != nil {
						serr.Add(1)
						if errors.Is(err, syscall.ECONNREFUSED) {
							continue // nothing listening yet: the packet is lost, go on
						}
						break
					}
					off += n
				}
				for i := 0; i < nb; i++ {
					nbytes.Add(uint64(len(bufs[i])))
				}
				sent.Add(uint64(nb))
				mySent += uint64(nb)
				nb = 0
				if rate > 0 {
					due := t0.Add(time.Duration(float64(mySent) / rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				}
				return ctx.Err() == nil
			}
			var p wire.Packet
			p.Reason, p.Release, p.ReasonText = wire.ReasonPanic, []byte("6.12.57+deb13-amd64"), []byte("sysrq triggered crash")
			p.Count, p.TotalLen, p.Copies = uint32(count), uint32(len(log)), uint8(c.copies)
			for w := 0; w < waves; w++ {
				p.DumpSeq = uint32(w + 1)
				p.TimeNS = uint64(time.Now().UnixNano())
				first := w * c.hosts
				for cp := 0; cp < c.copies; cp++ {
					p.Copy = uint8(cp)
					for i := count - 1; i >= 0; i-- {
						st := i * c.payload
						p.Index, p.Offset, p.Payload = uint32(i), uint32(st), log[st:min(st+c.payload, len(log))]
						for h := s; h < c.hosts; h += c.senders {
							if first+h >= c.dumps && c.duration == 0 {
								continue
							}
							if c.loss > 0 && r.Float64() < c.loss {
								lost.Add(1)
								continue
							}
							hi := &hosts[h]
							p.Host, p.Label, p.BootID = hi.name, hi.label, hi.boot
							bufs[nb], _ = p.AppendEncode(bufs[nb][:0])
							if nb++; nb == batch && !flush() {
								return
							}
						}
					}
				}
				if !flush() {
					return
				}
				for h := s; h < c.hosts; h += c.senders {
					if first+h < c.dumps || c.duration > 0 {
						dumpsSent.Add(1)
					}
				}
			}
		}(s)
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	rep := report{Mode: "send", Target: ap.String(), Hosts: c.hosts, Dumps: int(dumpsSent.Load()), DumpBytes: c.dumpBytes,
		Payload: c.payload, Copies: c.copies, Loss: c.loss, Packets: sent.Load(), Lost: lost.Load(), Bytes: nbytes.Load(),
		SendErrors: serr.Load(), ElapsedSec: el, PPS: float64(sent.Load()) / el}
	if c.verify != "" {
		// scripts/catcher-storm.sh ends its view of the send here
		fmt.Fprintf(os.Stderr, "loadgen: sent %d packets in %.2f s; verifying\n", sent.Load(), el)
		n, err := verify(c, hosts, log, int(dumpsSent.Load()))
		rep.Verified = n
		if err != nil {
			rep.VerifyError = err.Error()
		}
	}
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
	if rep.VerifyError != "" {
		return errors.New(rep.VerifyError)
	}
	return nil
}

// verify waits for the catcher to store the dumps sent and checks that
// each is complete and holds exactly the log sent. It gives up before
// --verify-wait once every dump is stored, some partial, and nothing has
// changed for 10 s (with --idle at its default, what is missing then is
// lost).
func verify(c *config, hosts []hostInfo, log []byte, want int) (int, error) {
	deadline := time.Now().Add(c.verifyWait)
	good := map[string]bool{} // logs checked already
	lastOK, lastBad, since := -1, -1, time.Now()
	for {
		ds, err := catalog.List(c.verify)
		if err != nil {
			return 0, err
		}
		ok, bad := 0, 0
		var firstErr error
		for _, d := range ds {
			if !strings.HasPrefix(d.Host, c.hostPrefix+"-") {
				continue
			}
			if !d.Complete {
				bad++
				continue
			}
			p := filepath.Join(filepath.Dir(d.MetaPath), d.Log)
			if !good[p] {
				b, err := os.ReadFile(p)
				if err != nil || !bytes.Equal(b, log) {
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: stored log differs from the log sent", d.MetaPath)
					}
					continue
				}
				good[p] = true // a complete dump's log is never replaced
			}
			ok++
		}
		if ok != lastOK || bad != lastBad {
			lastOK, lastBad, since = ok, bad, time.Now()
		}
		settled := ok+bad >= want && time.Since(since) > 10*time.Second
		if ok >= want || settled || time.Now().After(deadline) {
			if firstErr != nil {
				return ok, firstErr
			}
			if ok < want {
				return ok, fmt.Errorf("%d of %d dumps stored complete (%d partial)", ok, want, bad)
			}
			return ok, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sink is a bare UDP reader: recvmmsg into fixed buffers, count, nothing
// else. With --sink-store it also writes every datagram once into files
// (appended through a 32 KiB buffer, the catcher's largest write; a new
// file every 128 MiB): the least a receiver that stores what it gets must
// do, with none of the catcher's bookkeeping. It stops at SIGINT, after --duration, or 2 s after the last
// packet.
func sink(ctx context.Context, c *config) error {
	ap, err := loopbackTarget(c.target)
	if err != nil {
		return err
	}
	conn, err := source.ListenUDP(ctx, ap.String(), 64<<20)
	if err != nil {
		return err
	}
	var pkts, nbytes atomic.Uint64
	var first, last atomic.Int64
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		var end <-chan time.Time
		if c.duration > 0 {
			end = time.After(c.duration)
		}
		for {
			select {
			case <-ctx.Done():
			case <-end:
			case <-t.C:
				l := last.Load()
				if l == 0 || time.Since(time.Unix(0, l)) < 2*time.Second {
					continue
				}
			}
			conn.Close()
			return
		}
	}()
	var st *sinkStore
	if c.sinkStore != "" {
		st = &sinkStore{dir: c.sinkStore, buf: make([]byte, 0, 32<<10)}
	}
	fmt.Fprintln(os.Stderr, "loadgen: sink listening on", conn.LocalAddr())
	err = source.ReadBatches(conn, func(ps [][]byte, _ []netip.AddrPort) {
		if len(ps) == 0 { // the end of a burst
			return
		}
		now := time.Now().UnixNano()
		if first.Load() == 0 {
			first.Store(now)
		}
		last.Store(now)
		pkts.Add(uint64(len(ps)))
		for _, p := range ps {
			nbytes.Add(uint64(len(p)))
			if st != nil {
				st.add(p)
			}
		}
	}, nil)
	if st != nil {
		if serr := st.close(); err == nil {
			err = serr
		}
	}
	el := time.Duration(last.Load() - first.Load()).Seconds()
	rep := map[string]any{"mode": "sink", "target": ap.String(), "packets": pkts.Load(), "bytes": nbytes.Load(),
		"elapsed_s": el, "pps": float64(pkts.Load()) / max(el, 1e-9)}
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
	return err
}

// sinkStore appends datagrams to numbered files through a buffer.
type sinkStore struct {
	dir     string
	buf     []byte
	f       *os.File
	n, size int64
	err     error
}

func (s *sinkStore) add(p []byte) {
	if len(s.buf)+len(p) > cap(s.buf) {
		s.flush()
	}
	s.buf = append(s.buf, p...)
}

func (s *sinkStore) flush() {
	if s.err != nil || len(s.buf) == 0 {
		s.buf = s.buf[:0]
		return
	}
	if s.f == nil || s.size >= 128<<20 {
		if s.f != nil {
			s.f.Close()
		}
		s.n++
		s.f, s.err = os.Create(fmt.Sprintf("%s/sink-%06d", s.dir, s.n))
		s.size = 0
		if s.err != nil {
			return
		}
	}
	w, err := s.f.Write(s.buf)
	s.size += int64(w)
	s.err = err
	s.buf = s.buf[:0]
}

func (s *sinkStore) close() error {
	s.flush()
	if s.f != nil {
		if err := s.f.Close(); s.err == nil {
			s.err = err
		}
	}
	return s.err
}
