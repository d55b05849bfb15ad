package wire

import (
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// LayerTypeNetoops is the gopacket layer type of a netoops packet. It is
// registered on DefaultPort, so gopacket.NewPacket and a
// gopacket.DecodingLayerParser that holds a *Layer decode netoops packets
// behind Ethernet, IPv4/IPv6 and UDP. For another port, call
// layers.RegisterUDPPortLayerType, or decode the UDP payload directly with
// Layer.DecodeFromBytes or Packet.DecodeFromBytes.
var LayerTypeNetoops = gopacket.RegisterLayerType(6668, gopacket.LayerTypeMetadata{
	Name:    "Netoops",
	Decoder: gopacket.DecodeFunc(decodeNetoops),
})

func init() {
	layers.RegisterUDPPortLayerType(layers.UDPPort(DefaultPort), LayerTypeNetoops)
}

// Layer is a netoops packet as a gopacket layer. It implements
// gopacket.Layer, gopacket.DecodingLayer and gopacket.SerializableLayer.
// Its contents are the header and its payload is the log piece (the tag, in
// AUTH mode, is in Packet.Tag only).
type Layer struct {
	layers.BaseLayer
	Packet
}

var (
	_ gopacket.DecodingLayer     = (*Layer)(nil)
	_ gopacket.SerializableLayer = (*Layer)(nil)
)

// LayerType returns LayerTypeNetoops.
func (l *Layer) LayerType() gopacket.LayerType { return LayerTypeNetoops }

// CanDecode returns LayerTypeNetoops.
func (l *Layer) CanDecode() gopacket.LayerClass { return LayerTypeNetoops }

// NextLayerType returns gopacket.LayerTypeZero: the payload is log text,
// not another layer.
func (l *Layer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

// DecodeFromBytes decodes data, the whole UDP payload, without allocating.
func (l *Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.Packet.DecodeFromBytes(data); err != nil {
		if err == ErrShort {
			df.SetTruncated()
		}
		return err
	}
	l.Contents = data[:l.HeaderLen]
	l.BaseLayer.Payload = l.Packet.Payload
	return nil
}

// SerializeTo writes the packet into b. The payload is the Packet's, not
// the serialize buffer's: the layer is always the innermost one.
func (l *Layer) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	if err := l.Validate(); err != nil {
		return err
	}
	out, err := b.PrependBytes(l.EncodedLen())
	if err != nil {
		return err
	}
	// out has exactly EncodedLen bytes, so the append fills it in place.
	_, err = l.Packet.AppendEncode(out[:0])
	return err
}

func decodeNetoops(data []byte, p gopacket.PacketBuilder) error {
	l := &Layer{}
	if err := l.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(l)
	p.SetApplicationLayer(l)
	return nil
}

// Payload returns the log piece, for gopacket.ApplicationLayer.
func (l *Layer) Payload() []byte { return l.Packet.Payload }
