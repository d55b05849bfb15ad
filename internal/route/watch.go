package route

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// An Event is one rtnetlink notification, reduced to what decides whether
// a resolved target may have changed.
type Event struct {
	Type uint16 // RTM_NEWROUTE, RTM_DELNEIGH, ...
	// For neighbour events: the entry.
	Neigh *Neighbour
	// Overflow means the socket's receive buffer overflowed (ENOBUFS):
	// events were lost and everything must be re-resolved.
	Overflow bool
}

// Kind names the event for logs.
func (e Event) Kind() string {
	if e.Overflow {
		return "overflow"
	}
	switch e.Type {
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		return "route"
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		return "neighbour"
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		return "link"
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		return "address"
	}
	return "other"
}

// Receiver is the part of *netlink.Conn Watch uses.
type Receiver interface {
	Receive() ([]netlink.Message, error)
	SetReadDeadline(t time.Time) error
}

// Watch reads notifications from c (joined to FollowGroups) and sends them
// to the returned channel until ctx is done or reading fails; the final
// error, nil when ctx ended it, is sent on errc. ENOBUFS is reported as an
// Overflow event and reading goes on.
func Watch(ctx context.Context, c Receiver) (<-chan Event, <-chan error) {
	events := make(chan Event, 64)
	errc := make(chan error, 1)
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	go func() {
		defer stop()
		defer close(events)
		for {
			msgs, err := c.Receive()
			if ctx.Err() != nil {
				errc <- nil
				return
			}
			if err != nil {
				if errors.Is(err, syscall.ENOBUFS) {
					if !send(ctx, events, Event{Overflow: true}) {
						errc <- nil
						return
					}
					continue
				}
				errc <- err
				return
			}
			for _, m := range msgs {
				ev := Event{Type: uint16(m.Header.Type)}
				if ev.Type == unix.RTM_NEWNEIGH || ev.Type == unix.RTM_DELNEIGH {
					if n, err := parseNeigh(m); err == nil {
						ev.Neigh = &n
					}
				}
				if !send(ctx, events, ev) {
					errc <- nil
					return
				}
			}
		}
	}()
	return events, errc
}

func send(ctx context.Context, ch chan<- Event, ev Event) bool {
	select {
	case ch <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}
