package route

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Namespace is an open network namespace, or the caller's (zero value).
type Namespace struct {
	f *os.File
}

// OpenNamespace opens a network namespace by `ip netns` name or by path
// (e.g. /proc/PID/ns/net). "" is the caller's namespace.
func OpenNamespace(name string) (*Namespace, error) {
	if name == "" {
		return &Namespace{}, nil
	}
	p := name
	if !strings.Contains(name, "/") {
		p = filepath.Join("/run/netns", name)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("network namespace %s: %w", name, err)
	}
	return &Namespace{f: f}, nil
}

// FD returns the namespace's file descriptor, 0 for the caller's.
func (n *Namespace) FD() int {
	if n == nil || n.f == nil {
		return 0
	}
	return int(n.f.Fd())
}

// Close releases the namespace.
func (n *Namespace) Close() error {
	if n == nil || n.f == nil {
		return nil
	}
	return n.f.Close()
}

// Dial opens an rtnetlink socket in ns (nil: the caller's namespace), joined
// to groups (RTNLGRP_* numbers), with strict checking and extended acks when
// the kernel supports them.
func Dial(ns *Namespace, groups ...uint32) (*netlink.Conn, error) {
	cfg := &netlink.Config{NetNS: ns.FD(), Strict: true}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		// Kernels before 4.20 lack NETLINK_GET_STRICT_CHK.
		cfg.Strict = false
		c, err = netlink.Dial(unix.NETLINK_ROUTE, cfg)
		if err != nil {
			return nil, fmt.Errorf("opening rtnetlink socket: %w", err)
		}
		_ = c.SetOption(netlink.ExtendedAcknowledge, true)
	}
	for _, g := range groups {
		if err := c.JoinGroup(g); err != nil {
			c.Close()
			return nil, fmt.Errorf("joining rtnetlink group %d: %w", g, err)
		}
	}
	return c, nil
}

// FollowGroups are the rtnetlink groups whose events can change a resolved
// target: routes, neighbours, links and addresses.
var FollowGroups = []uint32{
	unix.RTNLGRP_IPV4_ROUTE,
	unix.RTNLGRP_IPV6_ROUTE,
	unix.RTNLGRP_NEIGH,
	unix.RTNLGRP_LINK,
	unix.RTNLGRP_IPV4_IFADDR,
	unix.RTNLGRP_IPV6_IFADDR,
}
