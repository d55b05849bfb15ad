//go:build !linux

package source

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"golang.org/x/net/bpf"
)

// ListenUDP opens the UDP socket for addr (portable fallback: no
// recvmmsg, SO_RCVBUF through net).
func ListenUDP(ctx context.Context, addr string, rcvbuf int) (*net.UDPConn, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	c := pc.(*net.UDPConn)
	c.SetReadBuffer(rcvbuf)
	return c, nil
}

// ListenUDPGroup opens one socket: SO_REUSEPORT groups are Linux's here.
func ListenUDPGroup(ctx context.Context, addr string, rcvbuf, n int, prog []bpf.RawInstruction) ([]*net.UDPConn, error, error) {
	c, err := ListenUDP(ctx, addr, rcvbuf)
	if err != nil {
		return nil, nil, err
	}
	return []*net.UDPConn{c}, nil, nil
}

// Backlog is not measured here.
type Backlog struct {
	High int
	Set  func(busy bool)
}

// BacklogHigh is unknown here.
func BacklogHigh(c *net.UDPConn) int { return 0 }

// ReadBatches calls fn with each datagram (a batch of one) until c is
// closed.
func ReadBatches(c *net.UDPConn, fn func(pkts [][]byte, srcs []netip.AddrPort), _ *Backlog) error {
	buf := make([]byte, 65536)
	pkts := make([][]byte, 1)
	srcs := make([]netip.AddrPort, 1)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		pkts[0], srcs[0] = buf[:n], netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		fn(pkts, srcs)
	}
}

// RecvBufSize is unknown here.
func RecvBufSize(c *net.UDPConn) int { return 0 }

// Capture needs Linux's AF_PACKET.
func Capture(ctx context.Context, iface string, port uint16, f Sink, ignored Counter, ready func()) error {
	return errors.New("capture is only supported on Linux")
}
