// Package netnstest builds throw-away network namespaces with veth pairs for
// integration tests. Tests using it skip, with the reason logged, unless they
// run as root with iproute2 available (CI runs them as root); as root, a
// namespace that cannot be created fails the test. Every
// namespace is deleted when the test ends, also on failure; links are
// created directly inside the namespaces, so the host's namespace is never
// touched.
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require skips t unless namespaces can be created.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping network namespace test: needs root (CI runs it as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping network namespace test: iproute2's ip is not installed")
	}
}

// NS is a named network namespace ("ip netns" name).
type NS struct {
	Name string
	t    testing.TB
}

// New creates a namespace with a unique name starting with prefix, with lo
// up, deleted at the end of the test.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	Require(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := fmt.Sprintf("netoopstest-%s-%d-%s", prefix, os.Getpid(), hex.EncodeToString(b))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		// Require has seen root and iproute2: failing here is a broken
		// environment or kernel, which must not pass as a skip.
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	ns := &NS{Name: name, t: t}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Logf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ns.IP("link set lo up")
	// No duplicate address detection: addresses are usable at once.
	ns.Sysctl("net/ipv6/conf/all/accept_dad", "0")
	ns.Sysctl("net/ipv6/conf/default/accept_dad", "0")
	return ns
}

// Path is the namespace's bind mount, for setns or netlink.Config.NetNS.
func (ns *NS) Path() string { return "/run/netns/" + ns.Name }

// IP runs `ip -n NS ARGS` (ARGS split on spaces) and fails the test on error.
func (ns *NS) IP(args string) {
	ns.t.Helper()
	full := append([]string{"-n", ns.Name}, strings.Fields(args)...)
	if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
		ns.t.Fatalf("ip %s: %v: %s", strings.Join(full, " "), err, out)
	}
}

// TryIP is IP that returns the error instead of failing the test, for
// features older kernels lack.
func (ns *NS) TryIP(args string) error {
	full := append([]string{"-n", ns.Name}, strings.Fields(args)...)
	if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(full, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Exec runs a command inside the namespace (ip netns exec).
func (ns *NS) Exec(name string, args ...string) string {
	ns.t.Helper()
	full := append([]string{"netns", "exec", ns.Name, name}, args...)
	out, err := exec.Command("ip", full...).CombinedOutput()
	if err != nil {
		ns.t.Fatalf("ip %s: %v: %s", strings.Join(full, " "), err, out)
	}
	return string(out)
}

// Sysctl writes value to /proc/sys/KEY (KEY with slashes) inside the
// namespace.
func (ns *NS) Sysctl(key, value string) {
	ns.t.Helper()
	ns.Exec("sh", "-c", fmt.Sprintf("echo %s > /proc/sys/%s", value, key))
}

// Veth creates a veth pair: local in ns, peer in other, with the given MACs,
// both up.
func Veth(ns *NS, local, localMAC string, other *NS, peer, peerMAC string) {
	ns.t.Helper()
	ns.IP(fmt.Sprintf("link add %s address %s type veth peer name %s address %s netns %s", local, localMAC, peer, peerMAC, other.Name))
	ns.IP("link set " + local + " up")
	other.IP("link set " + peer + " up")
}

// Lab is the standard topology of the netoops tests:
//
//	client namespace                        router namespace
//	a0 02:00:00:00:0a:00 192.0.2.1/24  ---  r0 02:00:00:00:0b:00 192.0.2.2/24
//	   2001:db8:1::1/64                        2001:db8:1::2/64
//	a1 02:00:00:00:0a:01 198.51.100.1/25 -- r1 02:00:00:00:0b:01 198.51.100.2/25
//
// The client's default route goes via 192.0.2.2, 2001:db8:ff::/48 via
// 2001:db8:1::2. Addresses are documentation ranges, only inside the
// namespaces. ARP on a0 gives up after one 100ms probe.
type Lab struct {
	Client, Router *NS
}

// MACs of the router's interfaces.
const (
	MACr0 = "02:00:00:00:0b:00"
	MACr1 = "02:00:00:00:0b:01"
)

// NewLab builds the standard topology.
func NewLab(t testing.TB) *Lab {
	t.Helper()
	Require(t)
	c, r := New(t, "c"), New(t, "r")
	Veth(c, "a0", "02:00:00:00:0a:00", r, "r0", MACr0)
	Veth(c, "a1", "02:00:00:00:0a:01", r, "r1", MACr1)
	c.IP("addr add 192.0.2.1/24 dev a0")
	c.IP("addr add 2001:db8:1::1/64 dev a0 nodad")
	c.IP("addr add 198.51.100.1/25 dev a1")
	r.IP("addr add 192.0.2.2/24 dev r0")
	r.IP("addr add 2001:db8:1::2/64 dev r0 nodad")
	r.IP("addr add 198.51.100.2/25 dev r1")
	c.IP("route add default via 192.0.2.2")
	c.IP("-6 route add 2001:db8:ff::/48 via 2001:db8:1::2")
	c.Sysctl("net/ipv4/neigh/a0/mcast_solicit", "1")
	c.Sysctl("net/ipv4/neigh/a0/ucast_solicit", "1")
	c.Sysctl("net/ipv4/neigh/a0/retrans_time_ms", "100")
	return &Lab{Client: c, Router: r}
}
