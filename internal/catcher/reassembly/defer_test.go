package reassembly

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/priority"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
)

// TestReaderDefersCompletedStores: dumps that complete on a Reader while a
// receiver has a backlog wait in the shard's queue, snapshot not taken
// and nothing handed to the store workers, on the receive goroutine; once
// the backlog ends the shard's pumper stores them all.
func TestReaderDefersCompletedStores(t *testing.T) {
	gate := &priority.Gate{MaxWait: time.Hour}
	busy := gate.Receiver()
	e, events := startedEngine(t, Config{Dir: t.TempDir(), Idle: time.Hour, Shards: 1, MemBytes: -1, Gate: gate}, storetest.NoSyncFS{})
	defer e.Close()
	r := e.NewReader(0)
	busy.Set(true)
	const n = 50
	var pkts [][]byte
	var srcs []netip.AddrPort
	for i := range n {
		d := testDump(fmt.Sprintf("h%02d", i), byte(i+1), 1, 4000)
		for _, p := range packets(t, d, 1000) {
			pkts = append(pkts, p)
			srcs = append(srcs, src1)
		}
	}
	r.Batch(pkts[:len(pkts):len(pkts)], srcs) // a full batch: the socket was not read empty
	s := e.shards[0]
	s.mu.Lock()
	queued, running := len(s.queue)-s.qhead, s.running
	s.mu.Unlock()
	if queued != n || running != 0 {
		t.Fatalf("receiver busy: %d dumps queued, %d stores running; want %d, 0", queued, running, n)
	}
	if ev := events(); len(ev) != 0 {
		t.Fatalf("%d dumps stored while the receiver was busy", len(ev))
	}
	busy.Set(false)
	ev := waitEvents(t, events, n)
	for _, x := range ev {
		if !x.Complete {
			t.Fatalf("stored incomplete: %+v", x)
		}
	}
}
