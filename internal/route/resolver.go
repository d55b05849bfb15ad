// Package route finds what a netoops target line needs for a destination:
// the outgoing device, the source address and the next hop's MAC, asking the
// kernel over rtnetlink exactly as `ip route get` and `ip neigh get` do, and
// making the kernel resolve the next hop when its neighbour entry is not
// usable.
package route

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Conn is the part of *netlink.Conn the resolver uses; nltest.Dial provides
// a fake one.
type Conn interface {
	Execute(m netlink.Message) ([]netlink.Message, error)
}

// A Request is what to resolve.
type Request struct {
	Dst       netip.Addr
	Dev       string     // force this output device (ip route get ... oif DEV)
	Src       netip.Addr // force this source (ip route get ... from SRC)
	Broadcast bool       // skip the neighbour: MAC ff:ff:ff:ff:ff:ff
	Timeout   time.Duration
	// NoProbe only looks: a neighbour entry that is not usable is
	// returned as it is (MAC empty) instead of being resolved.
	NoProbe bool
}

// A Result is a resolved destination.
type Result struct {
	Dst        netip.Addr       `json:"dst"`
	Src        netip.Addr       `json:"src"`
	Gateway    netip.Addr       `json:"gateway,omitzero"` // invalid when on-link
	NextHop    netip.Addr       `json:"next_hop"`
	Link       Link             `json:"link"`
	MAC        net.HardwareAddr `json:"mac"`
	NeighState uint16           `json:"neigh_state"`
	Table      uint32           `json:"table"`
	Probed     bool             `json:"probed"` // resolution had to be triggered
}

// Resolver resolves destinations over an rtnetlink connection.
type Resolver struct {
	c Conn
	// Probe starts resolution of a next hop. The default asks the kernel
	// with RTM_NEWNEIGH/NTF_USE and, if that is refused, sends a UDP
	// datagram to the discard port through the device.
	Probe func(nh netip.Addr, link Link) error
	// PollInterval is how often the neighbour entry is polled while
	// waiting; default 25ms.
	PollInterval time.Duration
	// Logf, if set, receives debug messages.
	Logf func(format string, args ...any)
	// NetNS is the network namespace file descriptor the conn lives in
	// (0: the caller's), used by the UDP fallback probe.
	NetNS int
}

// NewResolver returns a Resolver using c.
func NewResolver(c Conn) *Resolver {
	return &Resolver{c: c}
}

func (r *Resolver) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}

// Resolve finds device, source and next-hop MAC for req.Dst.
func (r *Resolver) Resolve(ctx context.Context, req Request) (*Result, error) {
	dst := req.Dst.Unmap()
	if !dst.IsValid() {
		return nil, fmt.Errorf("no destination address")
	}
	if dst.Zone() != "" {
		return nil, fmt.Errorf("destination %s: zones are not supported (use --dev)", dst)
	}
	src := req.Src.Unmap()
	if src.IsValid() && src.Is4() != dst.Is4() {
		return nil, fmt.Errorf("source %s and destination %s are of different families", src, dst)
	}
	if dst.IsLoopback() {
		return nil, &DeviceError{Dev: "lo", Reason: fmt.Sprintf("%s is a loopback address; netpoll needs an Ethernet device, so the collector must be on another host", dst)}
	}
	var oif uint32
	if req.Dev != "" {
		l, err := r.LinkByName(req.Dev)
		if err != nil {
			return nil, err
		}
		oif = l.Index
	}
	rt, err := r.routeGet(dst, src, oif)
	if err != nil {
		if nr := (*NoRouteError)(nil); errors.As(err, &nr) {
			nr.Dev = req.Dev // "no route to X via device DEV"
		}
		return nil, err
	}
	switch rt.Type {
	case unix.RTN_UNICAST, unix.RTN_BROADCAST, unix.RTN_MULTICAST:
	case unix.RTN_LOCAL:
		return nil, &DeviceError{Dev: "lo", Reason: fmt.Sprintf("%s is an address of this host; netpoll cannot send to itself, the collector must be on another host", dst)}
	default: // unreachable, prohibit, blackhole, throw, ...
		return nil, &NoRouteError{Dst: dst, Dev: req.Dev, Reason: fmt.Sprintf("the route is of type %s", routeTypeName(rt.Type))}
	}
	if rt.OIF == 0 {
		return nil, &NoRouteError{Dst: dst, Dev: req.Dev, Reason: "the route has no output device"}
	}
	link, err := r.LinkByIndex(rt.OIF)
	if err != nil {
		return nil, err
	}
	if link.Loopback {
		return nil, &DeviceError{Dev: link.Name, Reason: "it is a loopback device; the collector must be on another host"}
	}
	if !link.Ethernet() {
		return nil, &DeviceError{Dev: link.Name, Reason: fmt.Sprintf("it is not an Ethernet device (%s); netpoll needs one", linkTypeName(link))}
	}
	res := &Result{Dst: dst, Src: src, Gateway: rt.Gateway.Unmap(), Link: link, Table: rt.Table}
	if !res.Src.IsValid() {
		res.Src = rt.PrefSrc.Unmap()
	}
	if !res.Src.IsValid() || res.Src.IsUnspecified() {
		return nil, &NoRouteError{Dst: dst, Dev: link.Name, Reason: fmt.Sprintf("%s has no usable source address for it (give --src)", link.Name)}
	}
	res.NextHop = dst
	if res.Gateway.IsValid() {
		res.NextHop = res.Gateway
	}
	if req.Broadcast || rt.Type == unix.RTN_BROADCAST {
		res.MAC = append(net.HardwareAddr(nil), broadcastMAC...)
		return res, nil
	}
	if rt.Type == unix.RTN_MULTICAST || dst.IsMulticast() {
		return nil, &DeviceError{Dev: link.Name, Reason: fmt.Sprintf("%s is a multicast address; netoops needs a unicast MAC or --broadcast", dst)}
	}
	if req.NoProbe {
		n, _, err := r.Neighbour(res.NextHop, link.Index)
		if err != nil {
			return nil, err
		}
		res.NeighState = n.State
		if n.Usable() {
			res.MAC = n.LLAddr
		}
		return res, nil
	}
	n, probed, err := r.waitNeighbour(ctx, res.NextHop, link, req.Timeout)
	if err != nil {
		return nil, err
	}
	res.MAC, res.NeighState, res.Probed = n.LLAddr, n.State, probed
	return res, nil
}

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func (r *Resolver) routeGet(dst, src netip.Addr, oif uint32) (routeReply, error) {
	lookupTable := dst.Is4()
	for {
		msgs, err := r.c.Execute(routeGetRequest(dst, src, oif, lookupTable))
		if err == nil {
			return parseRouteReply(msgs)
		}
		switch {
		case lookupTable && isErrno(err, syscall.EINVAL, syscall.EOPNOTSUPP):
			// A kernel with strict checking that does not know
			// RTM_F_LOOKUP_TABLE for this family: ask without it.
			r.logf("route get %s with RTM_F_LOOKUP_TABLE refused (%v); retrying without", dst, err)
			lookupTable = false
			continue
		case isErrno(err, syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENETDOWN, syscall.EACCES, syscall.ESRCH):
			var reason string
			var oe *netlink.OpError
			if errors.As(err, &oe) && oe.Message != "" {
				reason = oe.Message
			} else {
				reason = errorText(err)
			}
			return routeReply{}, &NoRouteError{Dst: dst, Reason: reason, Err: err}
		case src.IsValid() && isErrno(err, syscall.EINVAL):
			return routeReply{}, &NoRouteError{Dst: dst, Reason: fmt.Sprintf("%s is not an address of this host", src), Err: err}
		}
		return routeReply{}, withExtack("route get "+dst.String(), err)
	}
}

func errorText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// LinkByIndex asks the kernel for one link.
func (r *Resolver) LinkByIndex(index uint32) (Link, error) {
	msgs, err := r.c.Execute(linkGetRequest(index, ""))
	if err != nil {
		return Link{}, withExtack(fmt.Sprintf("link %d", index), err)
	}
	return parseLink(msgs)
}

// LinkByName asks the kernel for one link by name.
func (r *Resolver) LinkByName(name string) (Link, error) {
	msgs, err := r.c.Execute(linkGetRequest(0, name))
	if err != nil {
		if isErrno(err, syscall.ENODEV) {
			return Link{}, &DeviceError{Dev: name, Reason: "no such device"}
		}
		return Link{}, withExtack("link "+name, err)
	}
	return parseLink(msgs)
}

// Neighbour returns the neighbour entry for addr on ifindex with a
// single-entry RTM_GETNEIGH. A missing entry is returned as NUD_NONE with
// ok=false.
func (r *Resolver) Neighbour(addr netip.Addr, ifindex uint32) (n Neighbour, ok bool, err error) {
	msgs, err := r.c.Execute(neighGetRequest(addr, ifindex))
	if err != nil {
		if isErrno(err, syscall.ENOENT) {
			return Neighbour{Addr: addr, Ifindex: ifindex}, false, nil
		}
		if isErrno(err, syscall.EOPNOTSUPP, syscall.EINVAL) {
			// Before 5.0 RTM_GETNEIGH only dumped.
			return r.neighbourFromDump(addr, ifindex)
		}
		return Neighbour{}, false, withExtack("neighbour get "+addr.String(), err)
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWNEIGH {
			continue
		}
		n, err := parseNeigh(m)
		if err != nil {
			return Neighbour{}, false, err
		}
		return n, true, nil
	}
	return Neighbour{Addr: addr, Ifindex: ifindex}, false, nil
}

func (r *Resolver) neighbourFromDump(addr netip.Addr, ifindex uint32) (Neighbour, bool, error) {
	msgs, err := r.c.Execute(neighDumpRequest(family(addr), ifindex))
	if err != nil {
		return Neighbour{}, false, withExtack("neighbour dump", err)
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWNEIGH {
			continue
		}
		n, err := parseNeigh(m)
		if err != nil {
			continue
		}
		if n.Ifindex == ifindex && n.Addr == addr {
			return n, true, nil
		}
	}
	return Neighbour{Addr: addr, Ifindex: ifindex}, false, nil
}

// Usable reports whether n has a link-layer address netpoll can use
// (REACHABLE, STALE, DELAY, PROBE, PERMANENT, NOARP).
func (n Neighbour) Usable() bool {
	return n.State&nudValid != 0 && len(n.LLAddr) == 6
}

func (r *Resolver) waitNeighbour(ctx context.Context, nh netip.Addr, link Link, timeout time.Duration) (Neighbour, bool, error) {
	n, _, err := r.Neighbour(nh, link.Index)
	if err != nil {
		return Neighbour{}, false, err
	}
	if n.Usable() {
		return n, false, nil
	}
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	r.logf("neighbour %s on %s is %s; triggering resolution", nh, link.Name, StateString(n.State))
	probe := r.Probe
	if probe == nil {
		probe = r.defaultProbe
	}
	if err := probe(nh, link); err != nil {
		return Neighbour{}, true, fmt.Errorf("starting neighbour resolution of %s on %s: %w", nh, link.Name, err)
	}
	interval := r.PollInterval
	if interval <= 0 {
		interval = 25 * time.Millisecond
	}
	errTimeout := errors.New("neighbour resolution timed out")
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	last := n.State
	for {
		select {
		case <-ctx.Done():
			// Only our own timeout is the next hop's fault; the
			// caller's cancellation or deadline is returned as is.
			if context.Cause(ctx) == errTimeout {
				return Neighbour{}, true, &NeighbourError{NextHop: nh, Dev: link.Name, Ifindex: link.Index, State: last, Timeout: timeout}
			}
			return Neighbour{}, true, ctx.Err()
		case <-t.C:
		}
		n, _, err := r.Neighbour(nh, link.Index)
		if err != nil {
			return Neighbour{}, true, err
		}
		last = n.State
		if n.Usable() {
			return n, true, nil
		}
		if n.State&unix.NUD_FAILED != 0 {
			return Neighbour{}, true, &NeighbourError{NextHop: nh, Dev: link.Name, Ifindex: link.Index, State: n.State, Timeout: timeout}
		}
	}
}

func (r *Resolver) defaultProbe(nh netip.Addr, link Link) error {
	_, err := r.c.Execute(neighUseRequest(nh, link.Index))
	if err == nil {
		return nil
	}
	r.logf("RTM_NEWNEIGH/NTF_USE for %s refused (%v); sending a UDP datagram instead", nh, err)
	return udpProbe(r.NetNS, nh, link)
}

func routeTypeName(t uint8) string {
	switch t {
	case unix.RTN_UNICAST:
		return "unicast"
	case unix.RTN_LOCAL:
		return "local"
	case unix.RTN_BROADCAST:
		return "broadcast"
	case unix.RTN_MULTICAST:
		return "multicast"
	case unix.RTN_BLACKHOLE:
		return "blackhole"
	case unix.RTN_UNREACHABLE:
		return "unreachable"
	case unix.RTN_PROHIBIT:
		return "prohibit"
	case unix.RTN_THROW:
		return "throw"
	}
	return fmt.Sprintf("%d", t)
}

func linkTypeName(l Link) string {
	s := fmt.Sprintf("ARPHRD type %d", l.Type)
	switch l.Type {
	case unix.ARPHRD_NONE:
		s = "no link-layer header, e.g. tun or wireguard"
	case unix.ARPHRD_LOOPBACK:
		s = "loopback"
	case unix.ARPHRD_IPGRE, unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6, unix.ARPHRD_SIT:
		s = "an IP tunnel"
	case unix.ARPHRD_PPP:
		s = "PPP"
	case unix.ARPHRD_INFINIBAND:
		s = "InfiniBand"
	case unix.ARPHRD_ETHER:
		s = "Ethernet without a 6-byte address"
	}
	if l.Kind != "" {
		s += ", kind " + l.Kind
	}
	return s
}
