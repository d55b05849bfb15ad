package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/net/ipv4"
)

// maxNetconsolePacket is the largest record netconsole sends in one
// datagram without fragmenting it (the kernel's MAX_PRINT_CHUNK, which is
// also what netconsd's libncrx accepts, NCRX_PKT_MAX).
const maxNetconsolePacket = 1000

// netconsoleRecords cuts log into extended netconsole records (the format
// of the kernel's netconsole with "+", which netconsd parses):
// "LEVEL,SEQ,TS_USEC,FLAGS;TEXT\n", the text escaped as the kernel
// escapes it (bytes below ' ', '\\' and from 127 as \xNN), each record at
// most maxPayload bytes. Kernel records are one printk line; here a
// record holds as much of the log as fits, so that a packet carries about
// as many log bytes as a netoops packet does.
func netconsoleRecords(log []byte, maxPayload int) [][]byte {
	maxPayload = min(maxPayload, maxNetconsolePacket)
	var recs [][]byte
	for seq := 0; len(log) > 0; seq++ {
		r := fmt.Appendf(nil, "6,%d,%d,-;", seq, seq*1000)
		for len(log) > 0 {
			c := log[0]
			esc := c < ' ' || c == '\\' || c >= 127
			n := 1
			if esc {
				n = 4
			}
			if len(r)+n+1 > maxPayload {
				break
			}
			if esc {
				r = append(r, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			} else {
				r = append(r, c)
			}
			log = log[1:]
		}
		recs = append(recs, append(r, '\n'))
	}
	return recs
}

// netconsoleSource is simulated host h's source address: netconsd tells
// hosts apart by address alone, so every host sends from its own address
// in 127.0.0.0/8 (127.1.0.0 up), all of which are the loopback's.
func netconsoleSource(h int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(1 + h>>16), byte(h >> 8), byte(h)})
}

// sendNetconsole sends every host's log as extended netconsole records,
// each host from its own address, interleaved record by record (every
// host's first record, then every host's second...), once per --copies,
// in --dumps/--hosts waves. It reports like send.
func sendNetconsole(ctx context.Context, c *config, ap netip.AddrPort) (report, error) {
	if !ap.Addr().Is4() {
		return report{}, errors.New("--format netconsole: --target must be an IPv4 loopback address (the hosts send from 127.1.0.0 up)")
	}
	if c.hosts > 250<<16 {
		return report{}, errors.New("--format netconsole: at most 16384000 --hosts (source addresses)")
	}
	payload := c.payload
	if payload <= 0 {
		payload = maxNetconsolePacket
	}
	recs := netconsoleRecords(logText(c.dumpBytes), payload)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return report{}, err
	}
	defer conn.Close()
	conn.SetWriteBuffer(8 << 20)
	pc := ipv4.NewPacketConn(conn)
	dst := net.UDPAddrFromAddrPort(ap)
	oob := make([][]byte, c.hosts)
	for h := range oob {
		a := netconsoleSource(h).As4()
		oob[h] = (&ipv4.ControlMessage{Src: net.IP(a[:])}).Marshal()
	}
	if c.dumps <= 0 {
		c.dumps = c.hosts
	}
	waves := (c.dumps + c.hosts - 1) / c.hosts
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	bufs := make([][]byte, batch)
	for i := range msgs {
		msgs[i].Addr = dst
		msgs[i].Buffers = [][]byte{nil}
	}
	var rep report
	nb := 0
	start := time.Now()
	flush := func() error {
		for i := 0; i < nb; i++ {
			msgs[i].Buffers[0] = bufs[i]
		}
		for off := 0; off < nb; {
			n, err := pc.WriteBatch(msgs[off:nb], 0)
			if err != nil {
				rep.SendErrors++
				if errors.Is(err, net.ErrClosed) {
					return err
				}
				off++ // that packet is lost; go on
				continue
			}
			off += n
		}
		for i := 0; i < nb; i++ {
			rep.Bytes += uint64(len(bufs[i]))
		}
		rep.Packets += uint64(nb)
		nb = 0
		if c.rate > 0 {
			due := start.Add(time.Duration(float64(rep.Packets) / c.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		return ctx.Err()
	}
	for w := 0; w < waves; w++ {
		for cp := 0; cp < c.copies; cp++ {
			for i, r := range recs {
				if w > 0 { // sequence numbers go on across waves, as one host's kernel's would
					r = renumber(r, w*len(recs)+i)
				}
				for h := 0; h < c.hosts; h++ {
					if w*c.hosts+h >= c.dumps {
						continue
					}
					bufs[nb] = r
					msgs[nb].OOB = oob[h]
					if nb++; nb == batch {
						if err := flush(); err != nil {
							return rep, err
						}
					}
				}
			}
		}
		rep.Dumps += min(c.hosts, c.dumps-w*c.hosts)
	}
	if nb > 0 {
		if err := flush(); err != nil {
			return rep, err
		}
	}
	rep.ElapsedSec = time.Since(start).Seconds()
	return rep, nil
}

// renumber returns record r with sequence number seq.
func renumber(r []byte, seq int) []byte {
	i := 2 // after "6,"
	j := i
	for r[j] != ',' {
		j++
	}
	out := append([]byte(nil), r[:i]...)
	out = strconv.AppendInt(out, int64(seq), 10)
	return append(out, r[j:]...)
}
