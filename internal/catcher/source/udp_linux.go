package source

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// batchLen is how many datagrams one recvmmsg call can return. Not more:
// a call that copies 64 datagrams runs long enough (tens of us) for the Go
// runtime to hand the goroutine's P to another thread, and on one busy
// core those hand-offs cost more than the extra calls (docs/performance.md).
const batchLen = 32

// maxSpins is how many times in a row an empty socket is polled again,
// letting the other goroutines run in between (runtime.Gosched), before
// the reader parks in the network poller. Under load this keeps the
// receiving thread from sleeping and being woken for every few datagrams,
// which on one core (and more so in a VM) costs more than the polls; idle,
// it costs a few dozen polls after the last datagram.
const maxSpins = 64

// maxDatagram is the largest UDP payload (loopback's MTU is 64 KiB).
const maxDatagram = 65536

// ListenUDP opens the UDP socket for addr with a receive buffer of rcvbuf
// bytes (SO_RCVBUFFORCE when privileged, else SO_RCVBUF up to
// net.core.rmem_max). ":6668" listens on every IPv4 and IPv6 address.
func ListenUDP(ctx context.Context, addr string, rcvbuf int) (*net.UDPConn, error) {
	return listenUDP(ctx, addr, rcvbuf, false)
}

func listenUDP(ctx context.Context, addr string, rcvbuf int, reuse bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
			}
			if reuse && serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// ListenUDPGroup opens n sockets for addr (as ListenUDP), n > 1 of them in
// one SO_REUSEPORT group, bound in order; with port 0 they all take the
// first one's port. The kernel hands each datagram to one of them: by
// prog, if given (a classic BPF program returning the socket's index, see
// package steer), else by a hash of its addresses and ports, which keeps
// a source on one socket. If prog cannot be attached (an old kernel), the
// sockets are returned with that error in progErr, and the kernel's hash
// is used.
func ListenUDPGroup(ctx context.Context, addr string, rcvbuf, n int, prog []bpf.RawInstruction) (conns []*net.UDPConn, progErr, err error) {
	if n <= 1 {
		c, err := ListenUDP(ctx, addr, rcvbuf)
		if err != nil {
			return nil, nil, err
		}
		return []*net.UDPConn{c}, nil, nil
	}
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for i := 0; i < n; i++ {
		a := addr
		if i > 0 {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			a = net.JoinHostPort(host, strconv.Itoa(conns[0].LocalAddr().(*net.UDPAddr).Port))
		}
		c, err := listenUDP(ctx, a, rcvbuf, true)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		conns = append(conns, c)
	}
	if len(prog) > 0 {
		rc, err := conns[0].SyscallConn()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cerr := rc.Control(func(fd uintptr) {
			fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
			progErr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fprog)
		})
		if cerr != nil {
			closeAll()
			return nil, nil, cerr
		}
	}
	return conns, progErr, nil
}

// Backlog reports to a receiver's priority flag (package priority)
// whether its socket has a backlog: more than High bytes queued in the
// kernel (SO_MEMINFO) after a full batch. It ends when the socket is
// read empty or the queue falls under High/4.
type Backlog struct {
	High int
	Set  func(busy bool)
}

// BacklogHigh is the backlog threshold for a socket: a sixteenth of its
// receive buffer as the kernel counts it (RecvBufSize), at least 1 MiB.
func BacklogHigh(c *net.UDPConn) int {
	return max(RecvBufSize(c)/16, 1<<20)
}

// queued returns the bytes queued on the socket fd (SO_MEMINFO's
// rmem_alloc), or -1.
func queued(fd uintptr) int {
	var mi [unix.SK_MEMINFO_VARS]uint32
	l := uint32(unsafe.Sizeof(mi))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&mi[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return -1
	}
	return int(mi[unix.SK_MEMINFO_RMEM_ALLOC])
}

// ReadBatches calls fn with each batch of datagrams one recvmmsg call
// returns, until c is closed. The slices are reused for the next batch.
// A batch shorter than the slices' capacity means the socket was read
// empty; when it is found empty right after a full batch, fn is called
// with an empty batch, so that it always learns of the end of a burst
// (the catcher writes out its spool buffer then). bl, if not nil, is told
// when the socket has a backlog and when not.
func ReadBatches(c *net.UDPConn, fn func(pkts [][]byte, srcs []netip.AddrPort), bl *Backlog) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	bufs := make([]byte, batchLen*maxDatagram)
	names := make([]unix.RawSockaddrAny, batchLen)
	iovs := make([]unix.Iovec, batchLen)
	hdrs := make([]unix.Mmsghdr, batchLen)
	pkts := make([][]byte, batchLen)
	srcs := make([]netip.AddrPort, batchLen)
	for i := range hdrs {
		iovs[i].Base = &bufs[i*maxDatagram]
		iovs[i].SetLen(maxDatagram)
		hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
		hdrs[i].Hdr.Iov = &iovs[i]
		hdrs[i].Hdr.SetIovlen(1)
	}
	var n int
	var errno syscall.Errno
	spins := 0
	busy := false
	full := false // the last batch filled the slices
	setBusy := func(b bool) {
		if bl != nil && b != busy {
			busy = b
			bl.Set(b)
		}
	}
	recv := func(fd uintptr) bool {
		for {
			for i := range hdrs {
				hdrs[i].Hdr.Namelen = unix.SizeofSockaddrAny
				hdrs[i].Hdr.Flags = 0
				hdrs[i].Len = 0
			}
			// Raw: the call never blocks (MSG_DONTWAIT) and is short,
			// so the runtime need not be told; told, it hands the P to
			// another thread whenever a full batch's copying outlasts
			// its monitor's period, which on one busy core cost more
			// thread switches than anything else the reader did.
			r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), batchLen, unix.MSG_DONTWAIT, 0, 0)
			if e != unix.EAGAIN && e != unix.EWOULDBLOCK {
				n, errno = int(r), e
				spins = 0
				full = e == 0 && n == batchLen
				if bl != nil && e == 0 {
					if n < batchLen {
						setBusy(false) // read empty
					} else if q := queued(fd); q > bl.High {
						setBusy(true)
					} else if q >= 0 && q < bl.High/4 {
						setBusy(false)
					}
				}
				return true
			}
			setBusy(false)
			if full { // read empty after a full batch: say so
				n, errno, full = 0, 0, false
				return true
			}
			if spins >= maxSpins {
				return false
			}
			spins++
			runtime.Gosched()
		}
	}
	for {
		if err := rc.Read(recv); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if errno != 0 {
			if errno == unix.EINTR {
				continue
			}
			return errno
		}
		for i := 0; i < n; i++ {
			pkts[i] = bufs[i*maxDatagram : i*maxDatagram+int(hdrs[i].Len)]
			srcs[i] = sockaddrToAddrPort(&names[i])
		}
		fn(pkts[:n], srcs[:n])
	}
}

func sockaddrToAddrPort(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		s := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&s.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		s := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&s.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(s.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// RecvBufSize returns the socket's receive buffer as the kernel reports it
// (twice what was granted, for its bookkeeping), or 0 if unknown.
func RecvBufSize(c *net.UDPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
	return n
}
