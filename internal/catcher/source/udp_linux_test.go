package source

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestReadBatchesEndOfBurst: a burst of exactly one full batch is
// followed by an empty batch when the socket is found empty, so that the
// receiver writes out what it holds (the catcher's spool buffer) even
// when no short batch told it the socket was read empty.
func TestReadBatchesEndOfBurst(t *testing.T) {
	c, err := ListenUDP(context.Background(), "127.0.0.1:0", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s, err := net.DialUDP("udp", nil, c.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < batchLen; i++ {
		if _, err := s.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// without the empty batch nothing more would come: stop it then
	stop := time.AfterFunc(10*time.Second, func() { c.Close() })
	defer stop.Stop()
	var sizes []int
	err = ReadBatches(c, func(pkts [][]byte, _ []netip.AddrPort) {
		sizes = append(sizes, len(pkts))
		if len(pkts) == 0 {
			c.Close()
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 2 || sizes[0] != batchLen || sizes[1] != 0 {
		t.Fatalf("batches of %v, want [%d 0]", sizes, batchLen)
	}
}
