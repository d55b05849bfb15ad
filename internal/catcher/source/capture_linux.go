package source

import (
	"context"
	"errors"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
)

// Capture reads frames from iface with an AF_PACKET (TPACKET_V3) ring and
// a BPF filter on the UDP port, and feeds the UDP payloads to that port to
// f until ctx is done, counting the other frames in ignored (which may be
// nil). It needs CAP_NET_RAW. Loopback frames carry an Ethernet header of
// zeros, so lo works like any Ethernet interface. ready, if not nil, is
// called once the filtered ring is receiving.
func Capture(ctx context.Context, iface string, port uint16, f Sink, ignored Counter, ready func()) error {
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		afpacket.OptFrameSize(1<<16),
		afpacket.OptBlockSize(1<<21),
		afpacket.OptNumBlocks(16),
		afpacket.OptPollTimeout(100*time.Millisecond),
		afpacket.TPacketVersion3,
	)
	if err != nil {
		return err
	}
	defer tp.Close()
	filter, err := UDPPortFilter(port)
	if err != nil {
		return err
	}
	if err := tp.SetBPF(filter); err != nil {
		return err
	}
	d := NewFrameDecoder(f, port)
	ignored = orNop(ignored)
	if ready != nil {
		ready()
	}
	pending := 0
	for ctx.Err() == nil {
		data, _, err := tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, afpacket.ErrPoll) {
				f.Flush()
				pending = 0
				continue
			}
			f.Flush()
			return err
		}
		if !d.Frame(layers.LinkTypeEthernet, data, time.Time{}) {
			ignored.Inc()
		}
		if pending++; pending >= 64 {
			f.Flush()
			pending = 0
		}
	}
	f.Flush()
	return nil
}
