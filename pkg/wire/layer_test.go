package wire

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// frame wraps a netoops packet in Ethernet, IP and UDP headers.
func frame(t testing.TB, p Packet, v6 bool, dport uint16) []byte {
	t.Helper()
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56},
		DstMAC:       net.HardwareAddr{0x52, 0x55, 0x0a, 0, 2, 2},
		EthernetType: layers.EthernetTypeIPv4,
	}
	udp := &layers.UDP{SrcPort: DefaultSourcePort, DstPort: layers.UDPPort(dport)}
	var ip gopacket.SerializableLayer
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
			SrcIP: net.ParseIP("fec0::15"), DstIP: net.ParseIP("fec0::2")}
		_ = udp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	} else {
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: net.IPv4(10, 0, 2, 15), DstIP: net.IPv4(10, 0, 2, 2)}
		_ = udp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, &Layer{Packet: p}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLayerFromEthernet(t *testing.T) {
	want := sample()
	want.HeaderLen = 100
	for _, v6 := range []bool{false, true} {
		data := frame(t, want, v6, DefaultPort)

		// The DecodingLayerParser path, as the catcher uses it.
		var (
			eth  layers.Ethernet
			ip4  layers.IPv4
			ip6  layers.IPv6
			udp  layers.UDP
			nops Layer
		)
		parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &udp, &nops)
		var decoded []gopacket.LayerType
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			t.Fatalf("v6=%v: DecodeLayers: %v (decoded %v)", v6, err, decoded)
		}
		if len(decoded) != 4 || decoded[3] != LayerTypeNetoops {
			t.Fatalf("v6=%v: decoded %v", v6, decoded)
		}
		if d := comparePackets(&nops.Packet, &want); d != "" {
			t.Errorf("v6=%v: %s", v6, d)
		}
		if len(nops.LayerContents()) != 100 || !bytes.Equal(nops.LayerPayload(), want.Payload) {
			t.Errorf("v6=%v: contents %d bytes, payload %d bytes", v6, len(nops.LayerContents()), len(nops.LayerPayload()))
		}

		// The gopacket.NewPacket path.
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		l, ok := pkt.Layer(LayerTypeNetoops).(*Layer)
		if !ok {
			t.Fatalf("v6=%v: NewPacket found no netoops layer: %v", v6, pkt)
		}
		if d := comparePackets(&l.Packet, &want); d != "" {
			t.Errorf("v6=%v: NewPacket: %s", v6, d)
		}
		if app := pkt.ApplicationLayer(); app == nil || !bytes.Equal(app.Payload(), want.Payload) {
			t.Errorf("v6=%v: application layer %v", v6, app)
		}
	}
}

func TestLayerFromUDPPayload(t *testing.T) {
	want := sample()
	want.HeaderLen = 100
	b := mustEncode(t, want)
	var nops Layer
	parser := gopacket.NewDecodingLayerParser(LayerTypeNetoops, &nops)
	var decoded []gopacket.LayerType
	if err := parser.DecodeLayers(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if d := comparePackets(&nops.Packet, &want); d != "" {
		t.Error(d)
	}
	if err := parser.DecodeLayers(b[:len(b)-1], &decoded); !errors.Is(err, ErrShort) {
		t.Errorf("short packet: %v", err)
	}
}

func TestLayerOtherPortIsPayload(t *testing.T) {
	data := frame(t, sample(), false, 9999)
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	if pkt.Layer(LayerTypeNetoops) != nil {
		t.Error("a packet to port 9999 decoded as netoops")
	}
}

func TestLayerMalformed(t *testing.T) {
	p := sample()
	data := frame(t, p, false, DefaultPort)
	data[len(data)-len(p.Payload)-100+4] = 9 // version byte
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	if pkt.Layer(LayerTypeNetoops) != nil {
		t.Error("bad version decoded")
	}
	if el := pkt.ErrorLayer(); el == nil || !errors.Is(el.Error(), ErrVersion) {
		t.Errorf("error layer %v", el)
	}
}

func BenchmarkDecodeLayersEthernet(b *testing.B) {
	data := frame(b, sample(), false, DefaultPort)
	var (
		eth  layers.Ethernet
		ip4  layers.IPv4
		udp  layers.UDP
		nops Layer
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &udp, &nops)
	decoded := make([]gopacket.LayerType, 0, 4)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			b.Fatal(err)
		}
	}
}
