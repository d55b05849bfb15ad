package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
)

// FrameDecoder takes captured frames (Ethernet, Linux cooked or raw IP)
// apart with gopacket DecodingLayerParsers, without allocating, and feeds
// the UDP payloads sent to Port. Checksums are not verified, so a dump
// arrives even when they are wrong.
type FrameDecoder struct {
	Port uint16
	f    Sink

	eth     layers.Ethernet
	sll     layers.LinuxSLL
	ip4     layers.IPv4
	ip6     layers.IPv6
	udp     layers.UDP
	pEth    *gopacket.DecodingLayerParser
	pSLL    *gopacket.DecodingLayerParser
	pIP4    *gopacket.DecodingLayerParser
	pIP6    *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

// NewFrameDecoder returns a decoder feeding f.
func NewFrameDecoder(f Sink, port uint16) *FrameDecoder {
	d := &FrameDecoder{Port: port, f: f, decoded: make([]gopacket.LayerType, 0, 8)}
	ls := []gopacket.DecodingLayer{&d.eth, &d.sll, &d.ip4, &d.ip6, &d.udp}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first, ls...)
		p.IgnoreUnsupported = true
		return p
	}
	d.pEth, d.pSLL = mk(layers.LayerTypeEthernet), mk(layers.LayerTypeLinuxSLL)
	d.pIP4, d.pIP6 = mk(layers.LayerTypeIPv4), mk(layers.LayerTypeIPv6)
	return d
}

// Frame decodes one frame of the given link type, captured at time at (the
// zero time: now), and feeds its UDP payload. It returns false if the
// frame was not a UDP datagram to Port.
func (d *FrameDecoder) Frame(lt layers.LinkType, data []byte, at time.Time) bool {
	var p *gopacket.DecodingLayerParser
	switch lt {
	case layers.LinkTypeEthernet, layers.LinkTypeNull, layers.LinkTypeLoop:
		p = d.pEth
		if lt != layers.LinkTypeEthernet { // BSD loopback: 4-byte family
			if len(data) < 4 {
				return false
			}
			data = data[4:]
			p = d.ipParser(data)
		}
	case layers.LinkTypeLinuxSLL:
		p = d.pSLL
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12:
		p = d.ipParser(data)
	default:
		return false
	}
	if p == nil {
		return false
	}
	d.decoded = d.decoded[:0]
	_ = p.DecodeLayers(data, &d.decoded)
	var src netip.AddrPort
	haveUDP := false
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeIPv4:
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				return false
			}
			a, _ := netip.AddrFromSlice(d.ip4.SrcIP)
			src = netip.AddrPortFrom(a.Unmap(), 0)
		case layers.LayerTypeIPv6:
			a, _ := netip.AddrFromSlice(d.ip6.SrcIP)
			src = netip.AddrPortFrom(a, 0)
		case layers.LayerTypeUDP:
			haveUDP = true
		}
	}
	if !haveUDP || uint16(d.udp.DstPort) != d.Port {
		return false
	}
	src = netip.AddrPortFrom(src.Addr(), uint16(d.udp.SrcPort))
	if at.IsZero() {
		d.f.Add(d.udp.Payload, src)
	} else {
		d.f.AddAt(d.udp.Payload, src, at)
	}
	return true
}

func (d *FrameDecoder) ipParser(data []byte) *gopacket.DecodingLayerParser {
	if len(data) == 0 {
		return nil
	}
	switch data[0] >> 4 {
	case 4:
		return d.pIP4
	case 6:
		return d.pIP6
	}
	return nil
}

// ReadPcap feeds the UDP payload of every frame to port of a pcap or
// pcapng file (detected by its magic) to f, with the frame's capture time,
// counting the other frames in ignored (which may be nil). It returns the
// number of frames read.
func ReadPcap(ctx context.Context, r io.Reader, port uint16, f Sink, ignored Counter) (int, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return 0, fmt.Errorf("not a pcap file: %w", err)
	}
	type source interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
		LinkType() layers.LinkType
	}
	var src source
	if magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a {
		src, err = pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	} else {
		src, err = pcapgo.NewReader(br)
	}
	if err != nil {
		return 0, err
	}
	d := NewFrameDecoder(f, port)
	ignored = orNop(ignored)
	n := 0
	for {
		data, ci, err := src.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Flush()
			return n, err
		}
		n++
		if !d.Frame(src.LinkType(), data, ci.Timestamp) {
			ignored.Inc()
		}
		if n%256 == 0 {
			f.Flush()
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
		}
	}
	f.Flush()
	return n, nil
}

// UDPPortFilter returns a classic BPF program for AF_PACKET sockets of
// Ethernet link type (loopback included) that accepts IPv4 and IPv6 UDP
// datagrams to port. IPv4 non-first fragments (which carry no UDP header)
// are rejected; FrameDecoder ignores first fragments too (netoops never
// fragments).
func UDPPortFilter(port uint16) ([]bpf.RawInstruction, error) {
	p := uint32(port)
	prog := []bpf.Instruction{
		/* 0 */ bpf.LoadAbsolute{Off: 12, Size: 2},
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x0800, SkipFalse: 7},
		/* 2 */ bpf.LoadAbsolute{Off: 23, Size: 1},
		/* 3 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 17, SkipFalse: 11},
		/* 4 */ bpf.LoadAbsolute{Off: 20, Size: 2},
		/* 5 */ bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 9},
		/* 6 */ bpf.LoadMemShift{Off: 14},
		/* 7 */ bpf.LoadIndirect{Off: 16, Size: 2},
		/* 8 */ bpf.Jump{Skip: 4},
		/* 9 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x86dd, SkipFalse: 5},
		/* 10 */ bpf.LoadAbsolute{Off: 20, Size: 1},
		/* 11 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: 17, SkipFalse: 3},
		/* 12 */ bpf.LoadAbsolute{Off: 56, Size: 2},
		/* 13 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: p, SkipFalse: 1},
		/* 14 */ bpf.RetConstant{Val: 262144},
		/* 15 */ bpf.RetConstant{Val: 0},
	}
	return bpf.Assemble(prog)
}
