package route

import (
	"context"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// scriptedReceiver returns canned Receive results, then blocks until its
// deadline is set.
type scriptedReceiver struct {
	mu       sync.Mutex
	script   []func() ([]netlink.Message, error)
	deadline chan struct{}
	once     sync.Once
}

func (r *scriptedReceiver) Receive() ([]netlink.Message, error) {
	r.mu.Lock()
	if len(r.script) > 0 {
		f := r.script[0]
		r.script = r.script[1:]
		r.mu.Unlock()
		return f()
	}
	r.mu.Unlock()
	<-r.deadline
	return nil, os.ErrDeadlineExceeded
}

func (r *scriptedReceiver) SetReadDeadline(time.Time) error {
	r.once.Do(func() { close(r.deadline) })
	return nil
}

func TestWatch(t *testing.T) {
	nb := neighBody(netip.MustParseAddr("192.0.2.2"), 2, unix.NUD_REACHABLE, 0)
	r := &scriptedReceiver{deadline: make(chan struct{}), script: []func() ([]netlink.Message, error){
		func() ([]netlink.Message, error) {
			return []netlink.Message{{Header: netlink.Header{Type: unix.RTM_NEWROUTE}}}, nil
		},
		func() ([]netlink.Message, error) {
			return nil, &netlink.OpError{Op: "receive", Err: os.NewSyscallError("recvmsg", syscall.ENOBUFS)}
		},
		func() ([]netlink.Message, error) {
			return []netlink.Message{{Header: netlink.Header{Type: unix.RTM_NEWNEIGH}, Data: nb}}, nil
		},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	events, errc := Watch(ctx, r)
	var got []Event
	for i := 0; i < 3; i++ {
		select {
		case ev := <-events:
			got = append(got, ev)
		case <-time.After(2 * time.Second):
			t.Fatalf("only %d events", len(got))
		}
	}
	if got[0].Kind() != "route" || !got[1].Overflow || got[2].Type != unix.RTM_NEWNEIGH || got[2].Neigh == nil ||
		got[2].Neigh.Addr != netip.MustParseAddr("192.0.2.2") || got[2].Neigh.Ifindex != 2 || got[2].Neigh.State != unix.NUD_REACHABLE {
		t.Fatalf("events %+v", got)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Watch ended with %v", err)
	}
}
