package qemu

import (
	"fmt"
	"net"
	"testing"
	"time"
)

func TestRelayDropsAboutLoss(t *testing.T) {
	lc, err := NewLineCollector("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	r, err := NewRelay("127.0.0.1:0", lc.Addr().String(), 0.10, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := net.DialUDP("udp", nil, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 2000
	for i := range n {
		fmt.Fprintf(c, "msg %d", i)
		if i%100 == 0 {
			time.Sleep(time.Millisecond) // stay within socket buffers
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Received.Load() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for int64(len(lc.Messages())) < r.Forwarded.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got, dropped := len(lc.Messages()), r.Dropped.Load()
	if r.Received.Load() != n || int64(got)+dropped != n {
		t.Fatalf("received %d, forwarded %d, dropped %d, collected %d", r.Received.Load(), r.Forwarded.Load(), dropped, got)
	}
	if dropped < n*6/100 || dropped > n*14/100 {
		t.Errorf("dropped %d of %d, want about 10%%", dropped, n)
	}
}
