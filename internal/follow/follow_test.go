package follow

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/kconfig"
	"github.com/netoops/netoops/internal/kconfig/kconfigtest"
	"github.com/netoops/netoops/internal/route"
	"golang.org/x/sys/unix"
)

func tgt(dev, src, mac string) kconfig.Target {
	m, _ := net.ParseMAC(mac)
	return kconfig.Target{Dev: dev, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr("198.51.100.200"), MAC: m}.Normalize()
}

func TestFollowRewritesOnlyOnChange(t *testing.T) {
	k := kconfigtest.New()
	k.Set("target1", "dev=eth9 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:99\n")
	var mu sync.Mutex
	current := tgt("eth0", "192.0.2.1", "02:00:00:00:00:01")
	var fail error
	failed := make(chan struct{}, 10)   // one per failed resolution
	resolved := make(chan struct{}, 10) // one per successful resolution
	gw := netip.MustParseAddr("192.0.2.2")
	writes := make(chan kconfig.Target, 10)
	f := &Follower{
		Store: k,
		Resolve: func(ctx context.Context) (kconfig.Target, *route.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			if fail != nil {
				failed <- struct{}{}
				return kconfig.Target{}, nil, fail
			}
			select {
			case resolved <- struct{}{}:
			default:
			}
			return current, &route.Result{NextHop: gw, Link: route.Link{Index: 2}}, nil
		},
		Initial: func(cur *kconfig.Config, t kconfig.Target) (*kconfig.Config, int, error) {
			c := *cur
			c.Targets = [kconfig.NumTargets]kconfig.Target{t}
			c.Enabled = true
			return &c, 0, nil
		},
		Debounce: 10 * time.Millisecond,
		Retry:    20 * time.Millisecond,
		Interval: time.Hour,
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnWrite:  func(slot int, t kconfig.Target) { writes <- t },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan route.Event, 10)
	done := make(chan error)
	go func() { done <- f.Run(ctx, events) }()

	expect := func(want kconfig.Target) {
		t.Helper()
		select {
		case got := <-writes:
			if !got.Equal(want) {
				t.Fatalf("wrote %s, want %s", got, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("no write of %s", want)
		}
		if got, _ := kconfig.ParseTarget(k.Get("target0")); !got.Equal(want) {
			t.Fatalf("kernel has %s", got)
		}
	}
	expect(current)
	<-resolved
	if k.Get("target1") != "" {
		t.Fatalf("target1 not cleared: %q", k.Get("target1"))
	}
	nwrites := len(k.Writes)

	// An unrelated neighbour and a route event that changes nothing: no write.
	events <- route.Event{Type: unix.RTM_NEWNEIGH, Neigh: &route.Neighbour{Addr: netip.MustParseAddr("192.0.2.77"), Ifindex: 2, State: unix.NUD_REACHABLE, LLAddr: net.HardwareAddr{2, 0, 0, 0, 0, 0x77}}}
	events <- route.Event{Type: unix.RTM_NEWROUTE}
	select { // the route event's resolution, however slow the machine
	case <-resolved:
	case <-time.After(2 * time.Second):
		t.Fatal("the route event did not cause a resolution")
	}
	if len(k.Writes) != nwrites {
		t.Fatalf("unexpected writes %v", k.Writes[nwrites:])
	}

	// The gateway's MAC changes. Its INCOMPLETE/FAILED events (what
	// resolution itself causes) do not trigger anything; the usable entry
	// does.
	mu.Lock()
	current = tgt("eth0", "192.0.2.1", "02:00:00:00:00:02")
	mu.Unlock()
	events <- route.Event{Type: unix.RTM_NEWNEIGH, Neigh: &route.Neighbour{Addr: gw, Ifindex: 2, State: unix.NUD_INCOMPLETE}}
	events <- route.Event{Type: unix.RTM_NEWNEIGH, Neigh: &route.Neighbour{Addr: gw, Ifindex: 2, State: unix.NUD_FAILED}}
	time.Sleep(50 * time.Millisecond)
	if len(k.Writes) != nwrites {
		t.Fatalf("INCOMPLETE/FAILED events caused writes %v", k.Writes[nwrites:])
	}
	events <- route.Event{Type: unix.RTM_NEWNEIGH, Neigh: &route.Neighbour{Addr: gw, Ifindex: 2, State: unix.NUD_REACHABLE, LLAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}}}
	expect(current)

	// Resolution fails for a while: the old target stays, then a retry
	// picks up the new one without any event.
	mu.Lock()
	fail = errors.New("no route")
	mu.Unlock()
	events <- route.Event{Overflow: true}
	for i := 0; i < 2; i++ { // the overflow's resolution, then a retry
		select {
		case <-failed:
		case <-time.After(2 * time.Second):
			t.Fatalf("%d failed resolutions, want 2", i)
		}
	}
	if len(k.Writes) != nwrites+1 {
		t.Fatalf("writes while resolution failed: %v", k.Writes[nwrites:])
	}
	old := current
	mu.Lock()
	fail = nil
	current = tgt("eth1", "198.51.100.1", "02:00:00:00:00:03")
	mu.Unlock()
	if got, _ := kconfig.ParseTarget(k.Get("target0")); !got.Equal(old) {
		t.Fatalf("kernel has %s after failures, want the old %s", got, old)
	}
	expect(current)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

func TestFollowFatalErrors(t *testing.T) {
	k := kconfigtest.New()
	k.Unprivileged = true
	f := &Follower{
		Store: k,
		Resolve: func(ctx context.Context) (kconfig.Target, *route.Result, error) {
			return tgt("eth0", "192.0.2.1", "02:00:00:00:00:01"), nil, nil
		},
		Initial: func(cur *kconfig.Config, t kconfig.Target) (*kconfig.Config, int, error) {
			c := *cur
			c.Targets[0] = t
			return &c, 0, nil
		},
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	}
	if err := f.Run(context.Background(), nil); !kconfig.IsPermission(err) {
		t.Fatalf("Run = %v, want permission error", err)
	}
	k.Unprivileged = false
	f.Initial = func(*kconfig.Config, kconfig.Target) (*kconfig.Config, int, error) {
		return nil, 0, errors.New("all slots in use")
	}
	if err := f.Run(context.Background(), nil); err == nil || err.Error() != "all slots in use" {
		t.Fatalf("Run = %v", err)
	}
}
