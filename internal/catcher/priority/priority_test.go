package priority

import (
	"sync"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	var nilGate *Gate
	nilGate.Wait() // never waits
	nilGate.Receiver().Set(true)

	g := &Gate{MaxWait: time.Hour}
	g.Wait() // no receiver: at once
	a, b := g.Receiver(), g.Receiver()
	a.Set(true)
	b.Set(true)
	a.Set(true) // no change
	if !g.Busy() {
		t.Fatal("not busy")
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); g.Wait() }()
	}
	go func() { wg.Wait(); close(done) }()
	time.Sleep(20 * time.Millisecond)
	a.Set(false)
	select {
	case <-done:
		t.Fatal("deferred work ran while a receiver had a backlog")
	case <-time.After(20 * time.Millisecond):
	}
	b.Set(false)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("deferred work still waiting with no backlog")
	}
	if g.Busy() {
		t.Fatal("busy")
	}
	if n, d := g.Stats(); n != 3 || d < 3*30*time.Millisecond {
		t.Fatalf("stats %d, %v", n, d)
	}
}

// TestGateMaxWait: under a backlog that never ends, deferred work still
// runs, once per MaxWait.
func TestGateMaxWait(t *testing.T) {
	g := &Gate{MaxWait: 30 * time.Millisecond}
	g.Receiver().Set(true)
	start := time.Now()
	g.Wait()
	if d := time.Since(start); d < 30*time.Millisecond || d > 5*time.Second {
		t.Fatalf("waited %v", d)
	}
}
