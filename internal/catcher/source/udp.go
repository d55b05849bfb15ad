package source

import (
	"net"
	"net/netip"
)

// ServeUDP feeds the datagrams received on c to f, a batch per
// ReadBatches call, until c is closed.
func ServeUDP(c *net.UDPConn, f Sink) error {
	return ReadBatches(c, func(pkts [][]byte, srcs []netip.AddrPort) {
		for i, p := range pkts {
			f.Add(p, srcs[i])
		}
		f.Flush()
	}, nil)
}
