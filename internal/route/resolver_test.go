package route

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// fakeKernel answers the resolver's rtnetlink requests like a kernel with
// strict checking on: it refuses requests that neigh_valid_get_req,
// inet_rtm_valid_getroute_req and inet6_rtm_valid_getroute_req would refuse.
type fakeKernel struct {
	t  *testing.T
	mu sync.Mutex

	routes   map[netip.Addr]fakeRoute
	routeErr syscall.Errno // answer every route get with this
	links    map[uint32]fakeLink
	// neigh holds, per next hop, the states the entry goes through: each
	// get returns the first and advances (the last one sticks). A 0 state
	// means no entry (ENOENT).
	neigh  map[netip.Addr][]uint16
	probes []netip.Addr
	// noLookupTable refuses RTM_F_LOOKUP_TABLE for IPv4 too.
	noLookupTable bool
	// oldKernel has no single-entry RTM_GETNEIGH (before 5.0): only dumps.
	oldKernel bool
}

type fakeRoute struct {
	typ     uint8
	oif     uint32
	prefsrc netip.Addr
	gw      netip.Addr
	via     netip.Addr // RTA_VIA instead of RTA_GATEWAY
}

type fakeLink struct {
	name  string
	typ   uint16
	flags uint32
	hw    net.HardwareAddr
}

var (
	macGW   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	macPeer = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	macEth0 = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xe0}
)

func newFake(t *testing.T) *fakeKernel {
	return &fakeKernel{
		t:      t,
		routes: map[netip.Addr]fakeRoute{},
		links: map[uint32]fakeLink{
			1: {name: "lo", typ: unix.ARPHRD_LOOPBACK, flags: unix.IFF_UP | unix.IFF_LOOPBACK},
			2: {name: "eth0", typ: unix.ARPHRD_ETHER, flags: unix.IFF_UP | unix.IFF_RUNNING, hw: macEth0},
			3: {name: "wg0", typ: unix.ARPHRD_NONE, flags: unix.IFF_UP | unix.IFF_POINTOPOINT},
		},
		neigh: map[netip.Addr][]uint16{},
	}
}

// onLinkFake returns a fake kernel with dst on-link on eth0 (source
// 192.0.2.1), its neighbour entry going through states.
func onLinkFake(t *testing.T, dst string, states ...uint16) (*fakeKernel, netip.Addr) {
	k := newFake(t)
	a := netip.MustParseAddr(dst)
	k.routes[a] = fakeRoute{typ: unix.RTN_UNICAST, oif: 2, prefsrc: netip.MustParseAddr("192.0.2.1")}
	if len(states) > 0 {
		k.neigh[a] = states
	}
	return k, a
}

func (k *fakeKernel) resolver() *Resolver {
	r := NewResolver(nltest.Dial(k.handle))
	r.PollInterval = time.Millisecond
	r.Logf = k.t.Logf
	return r
}

func (k *fakeKernel) handle(reqs []netlink.Message) ([]netlink.Message, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	req := reqs[0]
	reply := func(typ netlink.HeaderType, data []byte) ([]netlink.Message, error) {
		return []netlink.Message{{Header: netlink.Header{Type: typ, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: data}}, nil
	}
	fail := func(errno syscall.Errno, msg string) ([]netlink.Message, error) {
		return k.errorReply(req, errno, msg), nil
	}
	ad := func(off int) map[uint16][]byte {
		m := map[uint16][]byte{}
		d, err := netlink.NewAttributeDecoder(req.Data[off:])
		if err != nil {
			k.t.Fatalf("bad attributes: %v", err)
		}
		for d.Next() {
			m[d.Type()] = d.Bytes()
		}
		return m
	}
	switch req.Header.Type {
	case unix.RTM_GETROUTE:
		if req.Header.Flags&netlink.Dump != 0 {
			k.t.Errorf("route get with NLM_F_DUMP")
		}
		b := req.Data
		fam, dlen, slen, flags := b[0], b[1], b[2], nativeEndian.Uint32(b[8:12])
		full := uint8(32)
		if fam == unix.AF_INET6 {
			full = 128
		}
		if (dlen != 0 && dlen != full) || (slen != 0 && slen != full) || b[3] != 0 || b[4] != 0 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
			return fail(syscall.EINVAL, "Invalid values in header for get route request")
		}
		if (fam == unix.AF_INET6 || k.noLookupTable) && flags&^unix.RTM_F_FIB_MATCH != 0 {
			return fail(syscall.EINVAL, "ipv6: Invalid flags for get route request")
		}
		if fam == unix.AF_INET && flags&^(unix.RTM_F_NOTIFY|unix.RTM_F_LOOKUP_TABLE|unix.RTM_F_FIB_MATCH) != 0 {
			return fail(syscall.EINVAL, "ipv4: Unsupported rtm_flags for route get request")
		}
		attrs := ad(unix.SizeofRtMsg)
		for typ := range attrs {
			switch typ {
			case unix.RTA_DST, unix.RTA_SRC, unix.RTA_OIF, unix.RTA_IIF, unix.RTA_MARK, unix.RTA_UID:
			default:
				return fail(syscall.EINVAL, "Unsupported attribute in get route request")
			}
		}
		if k.routeErr != 0 {
			return fail(k.routeErr, "")
		}
		dst, _ := netip.AddrFromSlice(attrs[unix.RTA_DST])
		rt, ok := k.routes[dst]
		if !ok {
			return fail(syscall.ENETUNREACH, "")
		}
		if oif := attrs[unix.RTA_OIF]; oif != nil && nativeEndian.Uint32(oif) != rt.oif {
			return fail(syscall.ENETUNREACH, "")
		}
		hdr := make([]byte, unix.SizeofRtMsg)
		hdr[0], hdr[1], hdr[4], hdr[7] = fam, full, unix.RT_TABLE_MAIN, rt.typ
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(unix.RTA_TABLE, unix.RT_TABLE_MAIN)
		ae.Bytes(unix.RTA_DST, dst.AsSlice())
		ae.Uint32(unix.RTA_OIF, rt.oif)
		if rt.prefsrc.IsValid() {
			ae.Bytes(unix.RTA_PREFSRC, rt.prefsrc.AsSlice())
		}
		if rt.gw.IsValid() {
			ae.Bytes(unix.RTA_GATEWAY, rt.gw.AsSlice())
		}
		if rt.via.IsValid() {
			ae.Bytes(unix.RTA_VIA, append([]byte{unix.AF_INET6, 0}, rt.via.AsSlice()...))
		}
		ae.Uint32(unix.RTA_UID, 0)
		a, _ := ae.Encode()
		return reply(unix.RTM_NEWROUTE, append(hdr, a...))

	case unix.RTM_GETLINK:
		b := req.Data
		idx := nativeEndian.Uint32(b[4:8])
		if nativeEndian.Uint16(b[2:4]) != 0 || nativeEndian.Uint32(b[8:12]) != 0 || nativeEndian.Uint32(b[12:16]) != 0 {
			return fail(syscall.EINVAL, "Invalid values in header for link get request")
		}
		name := ""
		for typ, v := range ad(unix.SizeofIfInfomsg) {
			switch typ {
			case unix.IFLA_IFNAME:
				name = strings.TrimRight(string(v), "\x00")
			case unix.IFLA_EXT_MASK:
			default:
				return fail(syscall.EINVAL, "Unsupported attribute in link get request")
			}
		}
		for i, l := range k.links {
			if (idx != 0 && i == idx) || (idx == 0 && l.name == name) {
				hdr := make([]byte, unix.SizeofIfInfomsg)
				nativeEndian.PutUint16(hdr[2:4], l.typ)
				nativeEndian.PutUint32(hdr[4:8], i)
				nativeEndian.PutUint32(hdr[8:12], l.flags)
				ae := netlink.NewAttributeEncoder()
				ae.String(unix.IFLA_IFNAME, l.name)
				if l.hw != nil {
					ae.Bytes(unix.IFLA_ADDRESS, l.hw)
				}
				ae.Uint8(unix.IFLA_OPERSTATE, 6)
				a, _ := ae.Encode()
				return reply(unix.RTM_NEWLINK, append(hdr, a...))
			}
		}
		return fail(syscall.ENODEV, "")

	case unix.RTM_GETNEIGH:
		if k.oldKernel {
			if req.Header.Flags&netlink.Dump == 0 {
				return fail(syscall.EOPNOTSUPP, "")
			}
			return k.neighDump(req)
		}
		if req.Header.Flags&netlink.Dump != 0 {
			k.t.Errorf("neighbour get with NLM_F_DUMP")
		}
		b := req.Data
		if b[1] != 0 || b[2] != 0 || b[3] != 0 || nativeEndian.Uint16(b[8:10]) != 0 || b[11] != 0 {
			return fail(syscall.EINVAL, "Invalid values in header for neighbor get request")
		}
		if b[10]&^unix.NTF_PROXY != 0 {
			return fail(syscall.EINVAL, "Invalid flags in header for neighbor get request")
		}
		attrs := ad(unix.SizeofNdMsg)
		for typ := range attrs {
			if typ != unix.NDA_DST {
				return fail(syscall.EINVAL, "Unsupported attribute in neighbor get request")
			}
		}
		dst, _ := netip.AddrFromSlice(attrs[unix.NDA_DST])
		if (b[0] == unix.AF_INET) != dst.Is4() {
			return fail(syscall.EINVAL, "neighbor get request: invalid address length")
		}
		states := k.neigh[dst]
		if len(states) == 0 || states[0] == 0 {
			if len(states) > 1 {
				k.neigh[dst] = states[1:]
			}
			return fail(syscall.ENOENT, "")
		}
		st := states[0]
		if len(states) > 1 {
			k.neigh[dst] = states[1:]
		}
		hdr := make([]byte, unix.SizeofNdMsg)
		hdr[0] = b[0]
		copy(hdr[4:8], b[4:8])
		nativeEndian.PutUint16(hdr[8:10], st)
		hdr[11] = unix.RTN_UNICAST
		ae := netlink.NewAttributeEncoder()
		ae.Bytes(unix.NDA_DST, dst.AsSlice())
		if st&nudValid != 0 {
			mac := macGW
			if !k.isGateway(dst) {
				mac = macPeer
			}
			ae.Bytes(unix.NDA_LLADDR, mac)
		}
		ae.Uint32(unix.NDA_PROBES, 0)
		a, _ := ae.Encode()
		return reply(unix.RTM_NEWNEIGH, append(hdr, a...))

	case unix.RTM_NEWNEIGH:
		b := req.Data
		if b[10]&unix.NTF_USE == 0 {
			k.t.Errorf("RTM_NEWNEIGH without NTF_USE")
		}
		dst, _ := netip.AddrFromSlice(ad(unix.SizeofNdMsg)[unix.NDA_DST])
		k.probes = append(k.probes, dst)
		return nltest.Error(0, reqs)
	}
	k.t.Errorf("unexpected request type %d", req.Header.Type)
	return fail(syscall.EOPNOTSUPP, "")
}

// neighDump answers a neighbour dump with every entry of the request's
// family (older kernels ignore the ifindex filter), as a multipart reply,
// after the checks of neigh_valid_dump_req under strict checking (4.20).
func (k *fakeKernel) neighDump(req netlink.Message) ([]netlink.Message, error) {
	b := req.Data
	if len(b) < unix.SizeofNdMsg || b[1] != 0 || nativeEndian.Uint16(b[2:4]) != 0 || nativeEndian.Uint32(b[4:8]) != 0 || nativeEndian.Uint16(b[8:10]) != 0 || b[11] != 0 {
		return k.errorReply(req, syscall.EINVAL, "Invalid values in header for neighbor dump request"), nil
	}
	d, err := netlink.NewAttributeDecoder(b[unix.SizeofNdMsg:])
	if err != nil {
		k.t.Fatalf("bad attributes: %v", err)
	}
	for d.Next() {
		if d.Type() != unix.NDA_IFINDEX && d.Type() != unix.NDA_MASTER {
			return k.errorReply(req, syscall.EINVAL, "Unsupported attribute in neighbor dump request"), nil
		}
	}
	var msgs []netlink.Message
	for addr, states := range k.neigh {
		if (req.Data[0] == unix.AF_INET) != addr.Is4() || len(states) == 0 || states[0] == 0 {
			continue
		}
		hdr := make([]byte, unix.SizeofNdMsg)
		hdr[0] = req.Data[0]
		nativeEndian.PutUint32(hdr[4:8], 2)
		nativeEndian.PutUint16(hdr[8:10], states[0])
		ae := netlink.NewAttributeEncoder()
		ae.Bytes(unix.NDA_DST, addr.AsSlice())
		if states[0]&nudValid != 0 {
			ae.Bytes(unix.NDA_LLADDR, macPeer)
		}
		a, _ := ae.Encode()
		msgs = append(msgs, netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWNEIGH, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: append(hdr, a...)})
	}
	msgs = append(msgs, netlink.Message{Header: netlink.Header{Type: netlink.Done, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: make([]byte, 4)})
	return nltest.Multipart(msgs)
}

func (k *fakeKernel) isGateway(a netip.Addr) bool {
	for _, r := range k.routes {
		if r.gw == a || r.via == a {
			return true
		}
	}
	return false
}

// errorReply is an NLMSG_ERROR the way a kernel with extended acks sends it
// (NETLINK_CAP_ACK unset): the whole request echoed, then NLMSGERR_ATTR_MSG.
func (k *fakeKernel) errorReply(req netlink.Message, errno syscall.Errno, msg string) []netlink.Message {
	hb, _ := req.MarshalBinary()
	data := append(nlenc.Int32Bytes(-int32(errno)), hb...)
	var flags netlink.HeaderFlags
	if msg != "" {
		flags |= netlink.AcknowledgeTLVs
		ae := netlink.NewAttributeEncoder()
		ae.String(1, msg) // NLMSGERR_ATTR_MSG
		a, _ := ae.Encode()
		data = append(data, a...)
	}
	return []netlink.Message{{
		Header: netlink.Header{Type: netlink.Error, Flags: flags, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   data,
	}}
}

var ctx = context.Background()

func TestOnLink(t *testing.T) {
	k, dst := onLinkFake(t, "192.0.2.2", unix.NUD_REACHABLE)
	res, err := k.resolver().Resolve(ctx, Request{Dst: dst, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Link.Name != "eth0" || res.Src.String() != "192.0.2.1" || res.Gateway.IsValid() || res.NextHop != dst || res.MAC.String() != macPeer.String() || res.Probed {
		t.Fatalf("got %+v", res)
	}
	if res.Table != unix.RT_TABLE_MAIN {
		t.Errorf("table %d", res.Table)
	}
}

func TestViaGateway(t *testing.T) {
	k := newFake(t)
	dst, gw := netip.MustParseAddr("198.51.100.200"), netip.MustParseAddr("192.0.2.254")
	k.routes[dst] = fakeRoute{typ: unix.RTN_UNICAST, oif: 2, prefsrc: netip.MustParseAddr("192.0.2.1"), gw: gw}
	k.neigh[gw] = []uint16{unix.NUD_STALE}
	res, err := k.resolver().Resolve(ctx, Request{Dst: dst, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Gateway != gw || res.NextHop != gw || res.MAC.String() != macGW.String() {
		t.Fatalf("got %+v", res)
	}
}

func TestLookupTableRefused(t *testing.T) {
	k, dst := onLinkFake(t, "192.0.2.2", unix.NUD_REACHABLE)
	k.noLookupTable = true
	if _, err := k.resolver().Resolve(ctx, Request{Dst: dst}); err != nil {
		t.Fatal(err)
	}
}

func TestIPv6(t *testing.T) {
	k := newFake(t)
	dst, gw := netip.MustParseAddr("2001:db8:ff::5"), netip.MustParseAddr("fe80::1")
	k.routes[dst] = fakeRoute{typ: unix.RTN_UNICAST, oif: 2, prefsrc: netip.MustParseAddr("2001:db8:1::1"), gw: gw}
	k.neigh[gw] = []uint16{unix.NUD_DELAY}
	res, err := k.resolver().Resolve(ctx, Request{Dst: dst, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Src.String() != "2001:db8:1::1" || res.NextHop != gw || res.MAC.String() != macGW.String() {
		t.Fatalf("got %+v", res)
	}
}

func TestIPv4ViaIPv6(t *testing.T) {
	k := newFake(t)
	dst, gw := netip.MustParseAddr("198.51.100.9"), netip.MustParseAddr("fe80::1")
	k.routes[dst] = fakeRoute{typ: unix.RTN_UNICAST, oif: 2, prefsrc: netip.MustParseAddr("192.0.2.1"), via: gw}
	k.neigh[gw] = []uint16{unix.NUD_PERMANENT}
	res, err := k.resolver().Resolve(ctx, Request{Dst: dst, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.NextHop != gw || res.MAC.String() != macGW.String() {
		t.Fatalf("got %+v", res)
	}
}

func TestMissingThenReachable(t *testing.T) {
	for _, first := range []uint16{0 /* no entry */, unix.NUD_INCOMPLETE, unix.NUD_FAILED} {
		k, dst := onLinkFake(t, "192.0.2.2", first, unix.NUD_INCOMPLETE, unix.NUD_INCOMPLETE, unix.NUD_REACHABLE)
		res, err := k.resolver().Resolve(ctx, Request{Dst: dst, Timeout: time.Second})
		if err != nil {
			t.Fatalf("first state %s: %v", StateString(first), err)
		}
		if !res.Probed || len(k.probes) != 1 || k.probes[0] != dst || res.MAC.String() != macPeer.String() {
			t.Fatalf("first state %s: got %+v, probes %v", StateString(first), res, k.probes)
		}
	}
}

func TestOldKernelNeighbourDump(t *testing.T) {
	k, dst := onLinkFake(t, "192.0.2.2", unix.NUD_STALE)
	k.oldKernel = true
	k.neigh[netip.MustParseAddr("192.0.2.3")] = []uint16{unix.NUD_REACHABLE}
	res, err := k.resolver().Resolve(ctx, Request{Dst: dst})
	if err != nil || res.MAC.String() != macPeer.String() || res.NeighState != unix.NUD_STALE {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestNoProbe(t *testing.T) {
	k, dst := onLinkFake(t, "192.0.2.2", unix.NUD_INCOMPLETE)
	res, err := k.resolver().Resolve(ctx, Request{Dst: dst, NoProbe: true})
	if err != nil || res.MAC != nil || res.NeighState != unix.NUD_INCOMPLETE || len(k.probes) != 0 {
		t.Fatalf("got %+v, %v, probes %v", res, err, k.probes)
	}
}

func TestNeighbourFailed(t *testing.T) {
	k, dst := onLinkFake(t, "192.0.2.99", 0, unix.NUD_INCOMPLETE, unix.NUD_FAILED)
	_, err := k.resolver().Resolve(ctx, Request{Dst: dst, Timeout: time.Second})
	var ne *NeighbourError
	if !errors.As(err, &ne) || ne.State != unix.NUD_FAILED {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
}

func TestNeighbourTimeout(t *testing.T) {
	k, dst := onLinkFake(t, "192.0.2.99", 0, unix.NUD_INCOMPLETE)
	start := time.Now()
	_, err := k.resolver().Resolve(ctx, Request{Dst: dst, Timeout: 50 * time.Millisecond})
	var ne *NeighbourError
	if !errors.As(err, &ne) || ne.State != unix.NUD_INCOMPLETE {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s", d)
	}
	if !strings.Contains(err.Error(), "within 50ms") {
		t.Errorf("message %q", err)
	}
}

// TestNeighbourCallerDeadline: the caller's deadline running out while the
// next hop is probed is the caller's error, not a NeighbourError (exit 3
// with a "raise --timeout" hint).
func TestNeighbourCallerDeadline(t *testing.T) {
	k, dst := onLinkFake(t, "192.0.2.99", 0, unix.NUD_INCOMPLETE)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := k.resolver().Resolve(ctx, Request{Dst: dst, Timeout: time.Minute})
	var ne *NeighbourError
	if errors.As(err, &ne) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's context.DeadlineExceeded", err)
	}
}

func TestNoRoute(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENETUNREACH, syscall.EHOSTUNREACH} {
		k := newFake(t)
		k.routeErr = errno
		_, err := k.resolver().Resolve(ctx, Request{Dst: netip.MustParseAddr("203.0.113.1")})
		var nr *NoRouteError
		if !errors.As(err, &nr) || !errors.Is(err, errno) {
			t.Fatalf("%v: err = %v", errno, err)
		}
		t.Log(err)
	}
	k := newFake(t)
	dst := netip.MustParseAddr("203.0.113.1")
	k.routes[dst] = fakeRoute{typ: unix.RTN_BLACKHOLE, oif: 1}
	_, err := k.resolver().Resolve(ctx, Request{Dst: dst})
	var nr *NoRouteError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "blackhole") {
		t.Fatalf("blackhole: err = %v", err)
	}
}

func TestRefusedDevices(t *testing.T) {
	k := newFake(t)
	local := netip.MustParseAddr("192.0.2.1")
	k.routes[local] = fakeRoute{typ: unix.RTN_LOCAL, oif: 1, prefsrc: local}
	wg := netip.MustParseAddr("10.9.0.1")
	k.routes[wg] = fakeRoute{typ: unix.RTN_UNICAST, oif: 3, prefsrc: netip.MustParseAddr("10.9.0.2")}
	for _, dst := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), local, wg} {
		_, err := k.resolver().Resolve(ctx, Request{Dst: dst})
		var de *DeviceError
		if !errors.As(err, &de) {
			t.Fatalf("%s: err = %v", dst, err)
		}
		t.Log(err)
	}
	_, err := k.resolver().Resolve(ctx, Request{Dst: wg, Dev: "nope0"})
	var de *DeviceError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "no such device") {
		t.Fatalf("unknown dev: err = %v", err)
	}
}

func TestForcedDeviceAndBroadcast(t *testing.T) {
	k, dst := onLinkFake(t, "192.0.2.2")
	res, err := k.resolver().Resolve(ctx, Request{Dst: dst, Dev: "eth0", Broadcast: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.MAC.String() != "ff:ff:ff:ff:ff:ff" || len(k.probes) != 0 {
		t.Fatalf("got %+v, probes %v", res, k.probes)
	}
	// A forced device the route does not go through.
	_, err = k.resolver().Resolve(ctx, Request{Dst: dst, Dev: "wg0"})
	var nr *NoRouteError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "no route to 192.0.2.2 via device wg0") {
		t.Fatalf("err = %v", err)
	}
}

func TestStrictErrorCarriesExtack(t *testing.T) {
	k := newFake(t)
	r := k.resolver()
	// A request strict checking refuses: neighbour get with a state set.
	m := neighGetRequest(netip.MustParseAddr("192.0.2.2"), 2)
	nativeEndian.PutUint16(m.Data[8:10], unix.NUD_REACHABLE)
	_, err := r.c.Execute(m)
	err = withExtack("neighbour get", err)
	if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "Invalid values in header for neighbor get request") {
		t.Fatalf("err = %v", err)
	}
}

func TestStateString(t *testing.T) {
	if s := StateString(unix.NUD_REACHABLE); s != "REACHABLE" {
		t.Error(s)
	}
	if s := StateString(0); s != "NONE" {
		t.Error(s)
	}
}

func TestParseRTVia(t *testing.T) {
	via := func(fam uint16, addr ...byte) []byte {
		b := make([]byte, 2, 2+len(addr))
		nativeEndian.PutUint16(b, fam)
		return append(b, addr...)
	}
	v6 := netip.MustParseAddr("fe80::1")
	for _, tc := range []struct {
		in   []byte
		want netip.Addr
		ok   bool
	}{
		{in: via(unix.AF_INET6, v6.AsSlice()...), want: v6, ok: true},
		{in: via(unix.AF_INET, 192, 0, 2, 1), want: netip.MustParseAddr("192.0.2.1"), ok: true},
		{in: via(unix.AF_INET, v6.AsSlice()...)},    // length does not match the family
		{in: via(unix.AF_INET6, 192, 0, 2, 1)},      // likewise
		{in: via(unix.AF_PACKET, 2, 0, 0, 0, 0, 1)}, // not an IP next hop
		{in: []byte{10}},
	} {
		got, ok := parseRTVia(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseRTVia(%x) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
