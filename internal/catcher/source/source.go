// Package source reads netoops packets from where they arrive, a UDP
// socket (recvmmsg), an AF_PACKET ring on an interface, or a pcap/pcapng
// file, and hands each UDP payload to a Sink (the reassembly engine's
// Feeder). Nothing here looks inside a payload.
package source

import (
	"net/netip"
	"time"
)

// Sink takes the UDP payloads a source reads.
type Sink interface {
	// Add takes one UDP payload from src, received now. b is valid only
	// during the call.
	Add(b []byte, src netip.AddrPort)
	// AddAt is Add for a payload captured at time at (a capture file's
	// frame time), which is then its receive time.
	AddAt(b []byte, src netip.AddrPort, at time.Time)
	// Flush hands on what Add took; sources call it after each batch
	// they read.
	Flush()
}

// Counter counts events, such as the frames a capture ignored (a
// prometheus.Counter is one).
type Counter interface{ Inc() }

// nopCounter counts nothing.
type nopCounter struct{}

func (nopCounter) Inc() {}

func orNop(c Counter) Counter {
	if c == nil {
		return nopCounter{}
	}
	return c
}
