package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mdlayher/netlink"
	"github.com/netoops/netoops/internal/route"
	"golang.org/x/sys/unix"
)

// network is the rtnetlink side of netoopsctl.
type network interface {
	Resolve(ctx context.Context, req route.Request) (*route.Result, error)
	LinkByName(name string) (route.Link, error)
	LinkByIndex(index uint32) (route.Link, error)
	// Watch subscribes to route.FollowGroups.
	Watch(ctx context.Context) (<-chan route.Event, <-chan error, error)
	Close() error
}

type netlinkNet struct {
	ns   *route.Namespace
	conn *netlink.Conn
	r    *route.Resolver
}

func openNetlink(ns string, log *slog.Logger) (network, error) {
	n, err := route.OpenNamespace(ns)
	if err != nil {
		return nil, err
	}
	c, err := route.Dial(n)
	if err != nil {
		n.Close()
		return nil, err
	}
	r := route.NewResolver(c)
	r.NetNS = n.FD()
	r.Logf = func(format string, args ...any) { log.Debug("resolve: " + fmt.Sprintf(format, args...)) }
	return &netlinkNet{ns: n, conn: c, r: r}, nil
}

func (n *netlinkNet) Resolve(ctx context.Context, req route.Request) (*route.Result, error) {
	return n.r.Resolve(ctx, req)
}

func (n *netlinkNet) LinkByName(name string) (route.Link, error) { return n.r.LinkByName(name) }

func (n *netlinkNet) LinkByIndex(i uint32) (route.Link, error) { return n.r.LinkByIndex(i) }

func (n *netlinkNet) Watch(ctx context.Context) (<-chan route.Event, <-chan error, error) {
	c, err := route.Dial(n.ns, route.FollowGroups...)
	if err != nil {
		return nil, nil, err
	}
	// Events must not be lost silently: ENOBUFS is reported (and leads to
	// a full re-resolve) rather than the kernel dropping them quietly.
	_ = c.SetOption(netlink.NoENOBUFS, false)
	ev, errc := route.Watch(ctx, c)
	// route.Watch sends on errc once its reader has stopped, whether ctx
	// ended it or reading failed: close the socket then.
	done := make(chan error, 1)
	go func() {
		err := <-errc
		c.Close()
		done <- err
	}()
	return ev, done, nil
}

func (n *netlinkNet) Close() error {
	err := n.conn.Close()
	n.ns.Close()
	return err
}

// syslogBufferSize is the size of the kernel's log buffer in bytes.
func syslogBufferSize() (int, error) {
	return unix.Klogctl(unix.SYSLOG_ACTION_SIZE_BUFFER, nil)
}
