//go:build e2e

package qemu

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/netoops/netoops/pkg/wire"
)

// TestHarnessCatcher checks the harness's own plumbing without a guest: a
// dump encoded with pkg/wire goes through a lossless relay to a real
// catcher, which stores it byte for byte.
func TestHarnessCatcher(t *testing.T) {
	s := begin(t, "harness-catcher")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	relay, err := NewRelay("127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", ports[0]), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	var log bytes.Buffer
	for i := 1; i <= 300; i++ {
		fmt.Fprintf(&log, "<12>[    1.%06d] %s\n", i, KnownLine("h", i, 300))
	}
	d := wire.Dump{Reason: wire.ReasonPanic, Flags: wire.FlagPrefixed, BootID: [16]byte{1, 2, 3}, DumpSeq: 1,
		TimeNS: uint64(time.Now().UnixNano()), Copies: 3, Host: []byte("e2e"), Release: []byte("6.12.0"),
		ReasonText: []byte("harness"), Log: log.Bytes()}
	c, err := net.DialUDP("udp", nil, relay.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := d.Encode(1400, func(p []byte) error { _, err := c.Write(p); time.Sleep(50 * time.Microsecond); return err }); err != nil {
		t.Fatal(err)
	}
	evs := s.events(cat, 1, 20*time.Second)
	got := s.checkDump(evs[0], "panic", nil, "", "h", 300)
	if !bytes.Equal(got, log.Bytes()) {
		t.Errorf("stored log differs from the sent log")
	}
	s.note("catcher stored %d bytes from %d packets (%s)", len(got), evs[0].Packets, evs[0].Log)
}
