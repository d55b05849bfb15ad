package route

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A NoRouteError means the kernel has no usable route to Dst.
type NoRouteError struct {
	Dst    netip.Addr
	Dev    string // forced device, if any
	Reason string
	Err    error
}

func (e *NoRouteError) Error() string {
	s := fmt.Sprintf("no route to %s", e.Dst)
	if e.Dev != "" {
		s += " via device " + e.Dev
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s + " (check 'ip route get " + e.Dst.String() + "')"
}

func (e *NoRouteError) Unwrap() error { return e.Err }

// A NeighbourError means the next hop's MAC could not be found.
type NeighbourError struct {
	NextHop netip.Addr
	Dev     string
	Ifindex uint32
	State   uint16 // last state seen, 0 if no entry
	Timeout time.Duration
}

func (e *NeighbourError) Error() string {
	if e.State&unix.NUD_FAILED != 0 {
		return fmt.Sprintf("next hop %s on %s did not answer %s (neighbour entry FAILED); is it up and on that link? (--broadcast sends to ff:ff:ff:ff:ff:ff instead)",
			e.NextHop, e.Dev, proto(e.NextHop))
	}
	return fmt.Sprintf("next hop %s on %s did not answer %s within %s (neighbour state %s); raise --timeout, or use --broadcast",
		e.NextHop, e.Dev, proto(e.NextHop), e.Timeout, StateString(e.State))
}

func proto(a netip.Addr) string {
	if a.Is4() {
		return "ARP"
	}
	return "neighbour solicitation"
}

// A DeviceError means the route leaves through a device netpoll cannot use.
type DeviceError struct {
	Dev    string
	Reason string
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("device %s cannot carry netoops: %s", e.Dev, e.Reason)
}

// StateString renders a NUD_* state bit set like iproute2.
func StateString(s uint16) string {
	if s == 0 {
		return "NONE"
	}
	names := []struct {
		bit  uint16
		name string
	}{
		{unix.NUD_INCOMPLETE, "INCOMPLETE"},
		{unix.NUD_REACHABLE, "REACHABLE"},
		{unix.NUD_STALE, "STALE"},
		{unix.NUD_DELAY, "DELAY"},
		{unix.NUD_PROBE, "PROBE"},
		{unix.NUD_FAILED, "FAILED"},
		{unix.NUD_NOARP, "NOARP"},
		{unix.NUD_PERMANENT, "PERMANENT"},
	}
	var out []string
	for _, n := range names {
		if s&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	if len(out) == 0 {
		return fmt.Sprintf("0x%x", s)
	}
	return strings.Join(out, ",")
}

// nudValid is the kernel's NUD_VALID: states with a usable link-layer address.
const nudValid = unix.NUD_PERMANENT | unix.NUD_NOARP | unix.NUD_REACHABLE | unix.NUD_PROBE | unix.NUD_STALE | unix.NUD_DELAY

// withExtack names the operation; a *netlink.OpError already carries the
// kernel's extended ack message (strict checking explains its EINVALs).
func withExtack(op string, err error) error {
	return fmt.Errorf("%s: %w", op, err)
}

func isErrno(err error, errnos ...syscall.Errno) bool {
	for _, e := range errnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
