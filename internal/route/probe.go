package route

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// discardPort is the UDP discard service (RFC 863).
const discardPort = 9

// udpProbe makes the kernel resolve nh by sending one empty UDP datagram to
// its discard port, bound to the device, from inside network namespace ns
// (0: the caller's).
func udpProbe(ns int, nh netip.Addr, link Link) error {
	send := func() error {
		fam := unix.AF_INET
		if nh.Is6() {
			fam = unix.AF_INET6
		}
		fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.BindToDevice(fd, link.Name); err != nil {
			return fmt.Errorf("binding to %s: %w", link.Name, err)
		}
		var sa unix.Sockaddr
		if nh.Is4() {
			sa = &unix.SockaddrInet4{Port: discardPort, Addr: nh.As4()}
		} else {
			sa = &unix.SockaddrInet6{Port: discardPort, Addr: nh.As16(), ZoneId: link.Index}
		}
		err = unix.Sendto(fd, nil, unix.MSG_DONTWAIT, sa)
		if err == unix.EAGAIN {
			// Queued behind the unresolved neighbour: that is the point.
			err = nil
		}
		if err != nil {
			return fmt.Errorf("sending to %s: %w", net.JoinHostPort(nh.String(), strconv.Itoa(discardPort)), err)
		}
		return nil
	}
	if ns == 0 {
		return send()
	}
	// setns(2) moves only the calling thread: do it on a goroutine of its
	// own, locked to its thread. If the thread cannot be put back into its
	// namespace it stays locked, and the runtime discards it when the
	// goroutine exits, so the caller's goroutine never runs in the wrong
	// namespace (where, for one, the kernel refuses netoops's sysctl
	// writes).
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering network namespace: %w", err)
			return
		}
		err = send()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}
