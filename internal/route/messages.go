package route

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

var nativeEndian = binary.NativeEndian

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func bitLen(a netip.Addr) uint8 { return uint8(a.BitLen()) }

// routeGetRequest builds the RTM_GETROUTE request `ip route get DST [from
// SRC] [oif DEV]` sends: an rtmsg with only family, prefix lengths and flags
// set (strict checking refuses anything else) and RTA_DST/RTA_SRC/RTA_OIF.
// RTM_F_LOOKUP_TABLE makes the reply carry the table the route came from,
// as iproute2 does; only IPv4 accepts it under strict checking.
func routeGetRequest(dst, src netip.Addr, oif uint32, lookupTable bool) netlink.Message {
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = family(dst)
	b[1] = bitLen(dst)
	if src.IsValid() {
		b[2] = bitLen(src)
	}
	var flags uint32
	if lookupTable {
		flags |= unix.RTM_F_LOOKUP_TABLE
	}
	nativeEndian.PutUint32(b[8:12], flags)
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.RTA_DST, dst.AsSlice())
	if src.IsValid() {
		ae.Bytes(unix.RTA_SRC, src.AsSlice())
	}
	if oif != 0 {
		ae.Uint32(unix.RTA_OIF, oif)
	}
	attrs, _ := ae.Encode()
	return netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request},
		Data:   append(b, attrs...),
	}
}

// routeReply is the part of an RTM_NEWROUTE reply the resolver uses.
type routeReply struct {
	Type    uint8
	Table   uint32
	OIF     uint32
	PrefSrc netip.Addr
	Gateway netip.Addr // RTA_GATEWAY, or RTA_VIA (IPv4 route via an IPv6 gateway)
}

func parseRouteReply(msgs []netlink.Message) (routeReply, error) {
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWROUTE {
			continue
		}
		var rm rtnetlink.RouteMessage
		if err := rm.UnmarshalBinary(m.Data); err != nil {
			return routeReply{}, fmt.Errorf("decoding route reply: %w", err)
		}
		r := routeReply{Type: rm.Type, Table: uint32(rm.Table), OIF: rm.Attributes.OutIface}
		if rm.Attributes.Table != 0 {
			r.Table = rm.Attributes.Table
		}
		r.PrefSrc = addrFromIP(rm.Attributes.Src)
		r.Gateway = addrFromIP(rm.Attributes.Gateway)
		if !r.Gateway.IsValid() {
			// RTA_VIA (struct rtvia: u16 family, address), not decoded by
			// rtnetlink.RouteMessage.
			ad, err := netlink.NewAttributeDecoder(m.Data[unix.SizeofRtMsg:])
			if err != nil {
				return routeReply{}, err
			}
			for ad.Next() {
				if ad.Type() != unix.RTA_VIA {
					continue
				}
				if a, ok := parseRTVia(ad.Bytes()); ok {
					r.Gateway = a
				}
			}
			if err := ad.Err(); err != nil {
				return routeReply{}, err
			}
		}
		return r, nil
	}
	return routeReply{}, fmt.Errorf("no RTM_NEWROUTE in the kernel's reply")
}

// parseRTVia decodes a struct rtvia: the family (host byte order), then an
// address of that family.
func parseRTVia(v []byte) (netip.Addr, bool) {
	if len(v) < 2 {
		return netip.Addr{}, false
	}
	addr := v[2:]
	switch nativeEndian.Uint16(v) {
	case unix.AF_INET:
		if len(addr) != 4 {
			return netip.Addr{}, false
		}
	case unix.AF_INET6:
		if len(addr) != 16 {
			return netip.Addr{}, false
		}
	default:
		return netip.Addr{}, false
	}
	a, _ := netip.AddrFromSlice(addr)
	return a.Unmap(), true
}

func addrFromIP(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// neighGetRequest builds a single-entry RTM_GETNEIGH (no NLM_F_DUMP; kernel
// 5.0+): the kernel's neigh_valid_get_req wants ndm_state, ndm_type and the
// padding zero and NDA_DST as the only attribute, ifindex in the header.
func neighGetRequest(addr netip.Addr, ifindex uint32) netlink.Message {
	return netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETNEIGH, Flags: netlink.Request},
		Data:   neighBody(addr, ifindex, 0, 0),
	}
}

// neighDumpRequest builds the RTM_GETNEIGH dump of older kernels, filtered
// to one device. Under strict checking (4.20) neigh_valid_dump_req wants
// everything in the header but the family zero, ifindex included: the
// device goes in NDA_IFINDEX, which kernels before 4.15 ignore.
func neighDumpRequest(fam uint8, ifindex uint32) netlink.Message {
	b := make([]byte, unix.SizeofNdMsg)
	b[0] = fam
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NDA_IFINDEX, ifindex)
	attrs, _ := ae.Encode()
	return netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETNEIGH, Flags: netlink.Request | netlink.Dump},
		Data:   append(b, attrs...),
	}
}

// neighUseRequest builds RTM_NEWNEIGH with NTF_USE: the kernel creates the
// entry if needed and starts resolution, as if a packet were queued to it.
func neighUseRequest(addr netip.Addr, ifindex uint32) netlink.Message {
	return netlink.Message{
		Header: netlink.Header{Type: unix.RTM_NEWNEIGH, Flags: netlink.Request | netlink.Create | netlink.Acknowledge},
		Data:   neighBody(addr, ifindex, 0, unix.NTF_USE),
	}
}

func neighBody(addr netip.Addr, ifindex uint32, state uint16, flags uint8) []byte {
	b := make([]byte, unix.SizeofNdMsg)
	b[0] = family(addr)
	nativeEndian.PutUint32(b[4:8], ifindex)
	nativeEndian.PutUint16(b[8:10], state)
	b[10] = flags
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.NDA_DST, addr.AsSlice())
	attrs, _ := ae.Encode()
	return append(b, attrs...)
}

// Neighbour is a neighbour table entry.
type Neighbour struct {
	Addr    netip.Addr
	Ifindex uint32
	State   uint16
	LLAddr  net.HardwareAddr
}

func parseNeigh(m netlink.Message) (Neighbour, error) {
	var nm rtnetlink.NeighMessage
	if err := nm.UnmarshalBinary(m.Data); err != nil {
		return Neighbour{}, fmt.Errorf("decoding neighbour: %w", err)
	}
	n := Neighbour{Ifindex: nm.Index, State: nm.State}
	if nm.Attributes != nil {
		n.Addr = addrFromIP(nm.Attributes.Address)
		n.LLAddr = nm.Attributes.LLAddress
	}
	return n, nil
}

// linkGetRequest builds RTM_GETLINK for one link, by index or by name.
func linkGetRequest(index uint32, name string) netlink.Message {
	b := make([]byte, unix.SizeofIfInfomsg)
	nativeEndian.PutUint32(b[4:8], index)
	ae := netlink.NewAttributeEncoder()
	if name != "" {
		ae.String(unix.IFLA_IFNAME, name)
	}
	ae.Uint32(unix.IFLA_EXT_MASK, rtextFilterSkipStats)
	attrs, _ := ae.Encode()
	return netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   append(b, attrs...),
	}
}

// Link describes a network interface.
type Link struct {
	Index    uint32           `json:"index"`
	Name     string           `json:"name"`
	Type     uint16           `json:"type"` // ARPHRD_*
	Flags    uint32           `json:"flags"`
	HWAddr   net.HardwareAddr `json:"hwaddr,omitempty"`
	Master   uint32           `json:"master,omitempty"`
	Kind     string           `json:"kind,omitempty"`
	OperUp   bool             `json:"oper_up"`
	AdminUp  bool             `json:"admin_up"`
	Loopback bool             `json:"loopback"`
}

// Ethernet reports whether netpoll can send Ethernet frames on l.
func (l Link) Ethernet() bool {
	return l.Type == unix.ARPHRD_ETHER && len(l.HWAddr) == 6 && !l.Loopback
}

func parseLink(msgs []netlink.Message) (Link, error) {
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK {
			continue
		}
		var lm rtnetlink.LinkMessage
		if err := lm.UnmarshalBinary(m.Data); err != nil {
			return Link{}, fmt.Errorf("decoding link: %w", err)
		}
		l := Link{Index: lm.Index, Type: lm.Type, Flags: lm.Flags}
		if a := lm.Attributes; a != nil {
			l.Name = a.Name
			l.HWAddr = a.Address
			if a.Master != nil {
				l.Master = *a.Master
			}
			if a.Info != nil {
				l.Kind = a.Info.Kind
			}
			l.OperUp = a.OperationalState == rtnetlink.OperStateUp || a.OperationalState == rtnetlink.OperStateUnknown && lm.Flags&unix.IFF_RUNNING != 0
		}
		l.AdminUp = lm.Flags&unix.IFF_UP != 0
		l.Loopback = lm.Flags&unix.IFF_LOOPBACK != 0 || lm.Type == unix.ARPHRD_LOOPBACK
		return l, nil
	}
	return Link{}, fmt.Errorf("no RTM_NEWLINK in the kernel's reply")
}

// RTEXT_FILTER_SKIP_STATS (linux/rtnetlink.h): leave the statistics out of
// link replies.
const rtextFilterSkipStats = 1 << 3
