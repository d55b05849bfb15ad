package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// HostNet is a network namespace of a scenario's own on the host, with tap
// devices that guest NICs attach to: what QEMU's user network cannot carry
// (VLAN tags, several queues) goes there, and nowhere else. Needs root.
type HostNet struct {
	NS   string
	taps []string
}

// NewHostNet creates the namespace (named after the scenario and this
// process) with its loopback up.
func NewHostNet(name string) (*HostNet, error) {
	h := &HostNet{NS: fmt.Sprintf("netoops-%s-%d", name, os.Getpid())}
	if out, err := exec.Command("ip", "netns", "add", h.NS).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", h.NS, err, strings.TrimSpace(string(out)))
	}
	if err := h.IP("link", "set", "lo", "up"); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// IP runs ip(8) inside the namespace.
func (h *HostNet) IP(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", h.NS}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s %s: %v: %s", h.NS, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// AddTap creates a persistent tap device (multi-queue if queues > 1) in
// the host's own namespace, where QEMU opens it by name; Attach moves it
// into the scenario's namespace once QEMU has. It returns the QEMU netdev
// for it.
func (h *HostNet) AddTap(name string, queues int) (string, error) {
	args := []string{"tuntap", "add", "dev", name, "mode", "tap"}
	netdev := "tap,ifname=" + name + ",script=no,downscript=no,vhost=off"
	if queues > 1 {
		args = append(args, "multi_queue")
		netdev += fmt.Sprintf(",queues=%d", queues)
	}
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	h.taps = append(h.taps, name)
	return netdev, nil
}

// Attach waits until QEMU (pid) has every queue of the tap open, then
// moves the tap into the namespace and brings it up there.
func (h *HostNet) Attach(ctx context.Context, pid int, tap string, queues int) error {
	deadline := time.Now().Add(20 * time.Second)
	for tunFDs(pid, tap) < max(queues, 1) {
		if time.Now().After(deadline) {
			return fmt.Errorf("QEMU (pid %d) did not open %d queue(s) of %s", pid, queues, tap)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if out, err := exec.Command("ip", "link", "set", tap, "netns", h.NS).CombinedOutput(); err != nil {
		return fmt.Errorf("moving %s into %s: %v: %s", tap, h.NS, err, strings.TrimSpace(string(out)))
	}
	return h.IP("link", "set", tap, "up")
}

// tunFDs counts the file descriptors of process pid attached to tap.
func tunFDs(pid int, tap string) int {
	infos, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", pid))
	n := 0
	for _, f := range infos {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), "iff:\t"+tap+"\n") {
			n++
		}
	}
	return n
}

// Command is cmd run inside the namespace.
func (h *HostNet) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Close deletes the namespace (and the taps in it) and any tap not moved.
func (h *HostNet) Close() {
	exec.Command("ip", "netns", "del", h.NS).Run()
	for _, t := range h.taps {
		exec.Command("ip", "link", "del", t).Run()
	}
}

func osGetpid() int { return os.Getpid() }
