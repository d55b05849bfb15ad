package source

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netoops/netoops/pkg/wire"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

func udpFrame(t *testing.T, v6 bool, dport uint16, payload []byte, fragment bool) []byte {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	udp := &layers.UDP{SrcPort: 6667, DstPort: layers.UDPPort(dport)}
	var ip gopacket.SerializableLayer
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("2001:db8::7"), DstIP: net.ParseIP("2001:db8::1")}
		udp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	} else {
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 7}, DstIP: net.IP{192, 0, 2, 1}}
		if fragment {
			ip4.Flags = layers.IPv4MoreFragments
		}
		udp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func TestUDPPortFilter(t *testing.T) {
	raw, err := UDPPortFilter(6668)
	if err != nil {
		t.Fatal(err)
	}
	prog := make([]bpf.Instruction, len(raw))
	for i, r := range raw {
		prog[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		frame  []byte
		accept bool
	}{
		{"ipv4", udpFrame(t, false, 6668, []byte("NOPS"), false), true},
		{"ipv6", udpFrame(t, true, 6668, []byte("NOPS"), false), true},
		{"ipv4 other port", udpFrame(t, false, 53, []byte("x"), false), false},
		{"ipv6 other port", udpFrame(t, true, 6669, []byte("x"), false), false},
		{"ipv4 fragment", udpFrame(t, false, 6668, []byte("NOPS"), true), true}, // first fragment: offset 0
		{"arp", append(make([]byte, 12), 0x08, 0x06, 0, 0), false},
	} {
		n, err := vm.Run(c.frame)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (n > 0) != c.accept {
			t.Errorf("%s: accepted %d bytes, want accept=%v", c.name, n, c.accept)
		}
	}
}

// recorder is a Sink that keeps copies of what it is given.
type recorder struct {
	pkts    [][]byte
	srcs    []netip.AddrPort
	ats     []time.Time // of AddAt
	flushes int
}

func (r *recorder) Add(b []byte, src netip.AddrPort) {
	r.pkts = append(r.pkts, append([]byte(nil), b...))
	r.srcs = append(r.srcs, src)
}

func (r *recorder) AddAt(b []byte, src netip.AddrPort, at time.Time) {
	r.Add(b, src)
	r.ats = append(r.ats, at)
}

func (r *recorder) Flush() { r.flushes++ }

// TestFrameDecoderLinkTypes feeds one dump as Ethernet, Linux cooked
// (SLL) and raw IP frames: every UDP payload arrives exactly, with its
// source, and the payloads rebuild the log.
func TestFrameDecoderLinkTypes(t *testing.T) {
	log := make([]byte, 3000)
	for i := range log {
		log[i] = "abcdefghijklmnopqrstuvwxyz\n"[i%27]
	}
	d := &wire.Dump{Reason: wire.ReasonPanic, DumpSeq: 1, Host: []byte("lt"), Log: log}
	var pk [][]byte
	if err := d.Encode(1000, func(p []byte) error { pk = append(pk, append([]byte(nil), p...)); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeRaw} {
		t.Run(lt.String(), func(t *testing.T) {
			var rec recorder
			fd := NewFrameDecoder(&rec, 6668)
			for i, p := range pk {
				fr := udpFrame(t, i%2 == 1, 6668, p, false)
				switch lt {
				case layers.LinkTypeLinuxSLL:
					// 16-byte cooked header: packet type, ARPHRD, addr len, addr, protocol.
					sll := make([]byte, 16)
					sll[2], sll[3] = 0, 1 // ARPHRD_ETHER
					sll[5] = 6
					copy(sll[14:], fr[12:14])
					fr = append(sll, fr[14:]...)
				case layers.LinkTypeRaw:
					fr = fr[14:]
				}
				at := time.Time{} // now
				if i%3 == 0 {
					at = time.Unix(1700000000, int64(i))
				}
				if !fd.Frame(lt, fr, at) {
					t.Fatalf("frame %d not decoded", i)
				}
			}
			if len(rec.pkts) != len(pk) {
				t.Fatalf("%d payloads, want %d", len(rec.pkts), len(pk))
			}
			for j, at := range rec.ats { // frames 0, 3, 6...: their capture times
				if want := time.Unix(1700000000, int64(3*j)); !at.Equal(want) {
					t.Fatalf("capture time %d: %v, want %v", j, at, want)
				}
			}
			if want := (len(pk) + 2) / 3; len(rec.ats) != want {
				t.Fatalf("%d payloads with a capture time, want %d", len(rec.ats), want)
			}
			rebuilt := make([]byte, len(log))
			for i, p := range rec.pkts {
				if !bytes.Equal(p, pk[i]) {
					t.Fatalf("payload %d differs", i)
				}
				want := netip.MustParseAddrPort("192.0.2.7:6667")
				if i%2 == 1 {
					want = netip.MustParseAddrPort("[2001:db8::7]:6667")
				}
				if rec.srcs[i] != want {
					t.Fatalf("payload %d from %v, want %v", i, rec.srcs[i], want)
				}
				var wp wire.Packet
				if err := wp.DecodeFromBytes(p); err != nil {
					t.Fatal(err)
				}
				copy(rebuilt[wp.Offset:], wp.Payload)
			}
			if !bytes.Equal(rebuilt, log) {
				t.Fatal("payloads do not rebuild the log")
			}
			if fd.Frame(lt, []byte{1, 2, 3}, time.Time{}) {
				t.Fatal("garbage frame decoded")
			}
		})
	}
}
