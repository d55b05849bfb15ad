package catcher

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

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

// TestFrameDecoderLinkTypes feeds one dump as Ethernet, Linux cooked
// (SLL) and raw IP frames.
func TestFrameDecoderLinkTypes(t *testing.T) {
	d := testDump("lt", 1, 1, 3000)
	pk := packets(t, d, 1000)
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeRaw} {
		t.Run(lt.String(), func(t *testing.T) {
			var evs []Event
			e, err := NewEngine(Config{Dir: t.TempDir(), FS: noSyncFS{}, Shards: 1, Idle: time.Minute,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnStored: func(ev Event) { evs = append(evs, ev) }})
			if err != nil {
				t.Fatal(err)
			}
			e.Start()
			f := e.NewFeeder()
			fd := NewFrameDecoder(f, 6668)
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
				if !fd.Frame(lt, fr) {
					t.Fatalf("frame %d not decoded", i)
				}
			}
			f.Flush()
			e.Close()
			if len(evs) != 1 || !evs[0].Complete {
				t.Fatalf("events %+v", evs)
			}
		})
	}
}
