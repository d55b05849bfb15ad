package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/kconfig"
	"github.com/netoops/netoops/internal/kconfig/kconfigtest"
	"github.com/netoops/netoops/internal/route"
	"github.com/netoops/netoops/pkg/wire"
	"golang.org/x/sys/unix"
)

// fakeNet stands in for rtnetlink: canned resolutions per destination.
type fakeNet struct {
	mu      sync.Mutex
	results map[netip.Addr]*route.Result
	errs    map[netip.Addr]error
	links   map[string]route.Link
	reqs    []route.Request
	events  chan route.Event
	// watchErr makes Watch fail as a broken rtnetlink socket does.
	watchErr error
}

func (n *fakeNet) Resolve(ctx context.Context, req route.Request) (*route.Result, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reqs = append(n.reqs, req)
	if err := n.errs[req.Dst]; err != nil {
		return nil, err
	}
	r, ok := n.results[req.Dst]
	if !ok {
		return nil, &route.NoRouteError{Dst: req.Dst, Reason: "network is unreachable", Err: syscall.ENETUNREACH}
	}
	c := *r
	if req.Broadcast {
		c.MAC = kconfig.BroadcastMAC
	}
	return &c, nil
}

func (n *fakeNet) set(dst netip.Addr, r *route.Result) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.results[dst] = r
}

func (n *fakeNet) LinkByName(name string) (route.Link, error) {
	if l, ok := n.links[name]; ok {
		return l, nil
	}
	return route.Link{}, &route.DeviceError{Dev: name, Reason: "no such device"}
}

func (n *fakeNet) LinkByIndex(i uint32) (route.Link, error) {
	for _, l := range n.links {
		if l.Index == i {
			return l, nil
		}
	}
	return route.Link{}, errors.New("no such link")
}

// Watch behaves like the real one: errc gets nil once ctx is done, or, with
// watchErr set, the event stream closes at once and errc gets watchErr a
// moment later (the order of the two is not part of the contract).
func (n *fakeNet) Watch(ctx context.Context) (<-chan route.Event, <-chan error, error) {
	errc := make(chan error, 1)
	if n.watchErr != nil {
		ev := make(chan route.Event)
		close(ev)
		time.AfterFunc(10*time.Millisecond, func() { errc <- n.watchErr })
		return ev, errc, nil
	}
	context.AfterFunc(ctx, func() { errc <- nil })
	return n.events, errc, nil
}

func (n *fakeNet) Close() error { return nil }

var (
	eth0 = route.Link{Index: 2, Name: "eth0", Type: unix.ARPHRD_ETHER, HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 0xe0}, AdminUp: true, OperUp: true}
	eth1 = route.Link{Index: 3, Name: "eth1", Type: unix.ARPHRD_ETHER, HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 0xe1}, AdminUp: true, OperUp: true, Master: 4}
	bond = route.Link{Index: 4, Name: "bond0", Type: unix.ARPHRD_ETHER, HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 0xe1}, AdminUp: true, OperUp: true, Kind: "bond"}
	wg0  = route.Link{Index: 5, Name: "wg0", Type: unix.ARPHRD_NONE, AdminUp: true, OperUp: true, Kind: "wireguard"}

	dstOnLink = netip.MustParseAddr("192.0.2.2")
	dstRemote = netip.MustParseAddr("198.51.100.200")
	dstV6     = netip.MustParseAddr("2001:db8:ff::5")
	dstFailed = netip.MustParseAddr("192.0.2.99")
	dstLocal  = netip.MustParseAddr("192.0.2.1")
)

func mac(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }

type harness struct {
	t       *testing.T
	k       *kconfigtest.Kernel
	net     *fakeNet
	env     *env
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	tmp     string
	kexec   string
	cmdline string
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, k: kconfigtest.New(), tmp: t.TempDir()}
	h.k.Devices = map[string]bool{"eth0": true, "eth1": true, "bond0": true}
	h.net = &fakeNet{
		results: map[netip.Addr]*route.Result{
			dstOnLink: {Dst: dstOnLink, Src: dstLocal, NextHop: dstOnLink, Link: eth0, MAC: mac("02:00:00:00:00:02"), NeighState: unix.NUD_REACHABLE},
			dstRemote: {Dst: dstRemote, Src: dstLocal, Gateway: dstOnLink, NextHop: dstOnLink, Link: eth0, MAC: mac("02:00:00:00:00:02"), NeighState: unix.NUD_STALE, Probed: true},
			dstV6:     {Dst: dstV6, Src: netip.MustParseAddr("2001:db8:1::1"), Gateway: netip.MustParseAddr("fe80::1"), NextHop: netip.MustParseAddr("fe80::1"), Link: eth0, MAC: mac("02:00:00:00:00:01"), NeighState: unix.NUD_REACHABLE},
		},
		errs: map[netip.Addr]error{
			dstFailed: &route.NeighbourError{NextHop: dstFailed, Dev: "eth0", State: unix.NUD_FAILED, Timeout: 3 * time.Second},
			dstLocal:  &route.DeviceError{Dev: "lo", Reason: "192.0.2.1 is an address of this host"},
		},
		links:  map[string]route.Link{"eth0": eth0, "eth1": eth1, "bond0": bond, "wg0": wg0},
		events: make(chan route.Event, 10),
	}
	h.kexec = filepath.Join(h.tmp, "kexec_crash_loaded")
	h.cmdline = filepath.Join(h.tmp, "cmdline")
	os.WriteFile(h.kexec, []byte("0\n"), 0o644)
	os.WriteFile(h.cmdline, []byte("root=/dev/vda quiet\n"), 0o644)
	h.env = &env{
		stdout: &h.stdout,
		stderr: &h.stderr,
		openStore: func(root string) (kconfig.Store, error) {
			if root == kconfig.DefaultRoot {
				return h.k, nil
			}
			return kconfig.NewDirStore(root)
		},
		openNet:          func(string) (network, error) { return h.net, nil },
		kexecCrashLoaded: h.kexec,
		kernelLogSize:    func() (int, error) { return 1 << 20, nil },
		cmdline:          h.cmdline,
		sysModule:        filepath.Join(h.tmp, "sys/module/netoops"),
		modulesDir:       filepath.Join(h.tmp, "lib/modules"),
		release:          func() string { return "6.1.0-50-amd64" },
	}
	return h
}

// run runs netoopsctl with args and checks the exit code.
func (h *harness) run(want int, args ...string) string {
	h.t.Helper()
	h.stdout.Reset()
	h.stderr.Reset()
	got := run(context.Background(), append([]string{"netoopsctl"}, args...), h.env)
	if got != want {
		h.t.Fatalf("netoopsctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, want, h.stdout.String(), h.stderr.String())
	}
	return h.stdout.String() + h.stderr.String()
}

func (h *harness) target(i int) string {
	return strings.TrimSuffix(h.k.Get(kconfig.TargetFile(i)), "\n")
}

func TestDefaultPortsMatchWire(t *testing.T) {
	if kconfig.DefaultDestPort != wire.DefaultPort || kconfig.DefaultSourcePort != wire.DefaultSourcePort {
		t.Fatalf("kconfig ports %d/%d, wire %d/%d", kconfig.DefaultSourcePort, kconfig.DefaultDestPort, wire.DefaultSourcePort, wire.DefaultPort)
	}
}

func TestParseDest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		addr string
		port uint16
		bad  bool
	}{
		{in: "192.0.2.1", addr: "192.0.2.1"},
		{in: "192.0.2.1:514", addr: "192.0.2.1", port: 514},
		{in: "2001:db8::1", addr: "2001:db8::1"},
		{in: "[2001:db8::1]", addr: "2001:db8::1"},
		{in: "[2001:db8::1]:514", addr: "2001:db8::1", port: 514},
		{in: "::ffff:192.0.2.1", addr: "::ffff:192.0.2.1"},
		{in: "192.0.2.1:0", bad: true},
		{in: "192.0.2.1:70000", bad: true},
		{in: "collector.example", bad: true},
		{in: "[2001:db8::1", bad: true},
		{in: "", bad: true},
	} {
		a, p, _, err := parseDest(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseDest(%q) succeeded", tc.in)
			}
			continue
		}
		if err != nil || a.String() != tc.addr || p != tc.port {
			t.Errorf("parseDest(%q) = %s, %d, %v", tc.in, a, p, err)
		}
	}
}

func TestSetReplacesAndEnables(t *testing.T) {
	h := newHarness(t)
	h.k.Set("enabled", "0\n")
	h.k.Set("target2", "dev=eth1 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:09 sport=6667 dport=6668\n")
	out := h.run(0, "set", "198.51.100.200")
	want := "dev=eth0 src=192.0.2.1 dst=198.51.100.200 mac=02:00:00:00:00:02 sport=6667 dport=6668"
	if h.target(0) != want || h.target(2) != "" || h.k.Get("enabled") != "1\n" {
		t.Fatalf("kernel: target0 %q target2 %q enabled %q", h.target(0), h.target(2), h.k.Get("enabled"))
	}
	if !strings.Contains(out, "via 192.0.2.2 dev eth0") || !strings.Contains(out, "resolved now") {
		t.Errorf("output:\n%s", out)
	}
	// The order that never leaves a half configuration.
	// log_buf_len (twice syslog(2)'s buffer size) before the first target.
	if got := strings.Join(h.k.Writes, " | "); got != "log_buf_len=2097152 | target0="+want+" | target2= | enabled=1" {
		t.Errorf("writes: %s", got)
	}
	// Again: nothing to write.
	out = h.run(0, "set", "198.51.100.200")
	if !strings.Contains(out, "nothing written") {
		t.Errorf("output:\n%s", out)
	}
}

func TestSetOptions(t *testing.T) {
	h := newHarness(t)
	h.run(0, "set", "[2001:db8:ff::5]:514", "--label", "rack7 db3", "--copies", "5", "--reasons", "panic,oops emerg", "--src-port", "1234")
	if got := h.target(0); got != "dev=eth0 src=2001:db8:1::1 dst=2001:db8:ff::5 mac=02:00:00:00:00:01 sport=1234 dport=514" {
		t.Fatalf("target0 %q", got)
	}
	if h.k.Get("label") != "rack7 db3\n" || h.k.Get("copies") != "5\n" || h.k.Get("reasons") != "oops panic emerg\n" {
		t.Fatalf("label %q copies %q reasons %q", h.k.Get("label"), h.k.Get("copies"), h.k.Get("reasons"))
	}
	if w := h.k.Writes; len(w) != 5 || !strings.HasPrefix(w[0], "reasons=") || w[3] != "log_buf_len=2097152" || !strings.HasPrefix(w[4], "target0=") {
		t.Errorf("writes %q", w)
	}
	// Unset options stay as they are.
	h.run(0, "set", "192.0.2.2", "--broadcast", "--dev", "eth0")
	if h.k.Get("label") != "rack7 db3\n" || !strings.Contains(h.target(0), "mac=ff:ff:ff:ff:ff:ff") {
		t.Fatalf("label %q target0 %q", h.k.Get("label"), h.target(0))
	}
	if r := h.net.reqs[len(h.net.reqs)-1]; r.Dev != "eth0" || !r.Broadcast || r.Timeout != 3*time.Second {
		t.Errorf("request %+v", r)
	}
	// A zone is the device.
	ll := netip.MustParseAddr("fe80::2")
	h.net.set(ll, &route.Result{Dst: ll, Src: netip.MustParseAddr("fe80::e0"), NextHop: ll, Link: eth0, MAC: mac("02:00:00:00:00:02")})
	h.run(0, "set", "[fe80::2%eth0]:514")
	if r := h.net.reqs[len(h.net.reqs)-1]; r.Dev != "eth0" || r.Dst != ll {
		t.Errorf("request %+v", r)
	}
	h.run(exitUsage, "set", "fe80::2%eth0", "--dev", "eth1")
	// Without a zone or --dev a link-local DEST is ambiguous.
	if out := h.run(exitUsage, "set", "fe80::2"); !strings.Contains(out, "link-local") {
		t.Errorf("output:\n%s", out)
	}
	h.run(0, "set", "fe80::2", "--dev", "eth0")
	// IPv4 link-local is routed like any prefix: no device needed.
	v4ll := netip.MustParseAddr("169.254.0.2")
	h.net.set(v4ll, &route.Result{Dst: v4ll, Src: netip.MustParseAddr("169.254.0.1"), NextHop: v4ll, Link: eth0, MAC: mac("02:00:00:00:00:02")})
	h.run(0, "set", "169.254.0.2")
	if r := h.net.reqs[len(h.net.reqs)-1]; r.Dev != "" || r.Dst != v4ll {
		t.Errorf("request %+v", r)
	}
	h.run(0, "set", "192.0.2.2", "--label", "")
	if h.k.Get("label") != "\n" {
		t.Errorf("label not cleared: %q", h.k.Get("label"))
	}
}

func TestSetAdd(t *testing.T) {
	h := newHarness(t)
	h.run(0, "set", "192.0.2.2")
	h.run(0, "set", "--add", "2001:db8:ff::5")
	h.run(0, "set", "--add", "198.51.100.200:514")
	if !strings.Contains(h.target(0), "dst=192.0.2.2 ") || !strings.Contains(h.target(1), "dst=2001:db8:ff::5") || !strings.Contains(h.target(2), "dport=514") {
		t.Fatalf("targets %q %q %q", h.target(0), h.target(1), h.target(2))
	}
	// The same destination again replaces its slot.
	h.run(0, "set", "--add", "2001:db8:ff::5", "--src-port", "999")
	if !strings.Contains(h.target(1), "sport=999") || h.target(3) != "" {
		t.Fatalf("targets %q %q", h.target(1), h.target(3))
	}
	h.run(0, "set", "--add", "198.51.100.200")
	out := h.run(exitUsage, "set", "--add", "192.0.2.2:9999")
	if !strings.Contains(out, "all 4 target slots are in use") {
		t.Errorf("output:\n%s", out)
	}
}

func TestSetErrors(t *testing.T) {
	h := newHarness(t)
	h.run(0, "set", "192.0.2.2")
	before := h.target(0)
	out := h.run(exitNoRoute, "set", "203.0.113.1")
	if !strings.Contains(out, "no route to 203.0.113.1") {
		t.Errorf("output:\n%s", out)
	}
	out = h.run(exitNeighbour, "set", "192.0.2.99")
	if !strings.Contains(out, "FAILED") {
		t.Errorf("output:\n%s", out)
	}
	h.run(exitDevice, "set", "192.0.2.1")
	for _, args := range [][]string{
		{"set"},
		{"set", "a", "b"},
		{"set", "not-an-ip"},
		{"set", "192.0.2.2:514", "--port", "515"},
		{"set", "192.0.2.2", "--copies", "17"},
		{"set", "192.0.2.2", "--reasons", "oops,reboot"},
		{"set", "192.0.2.2", "--label", strings.Repeat("x", 65)},
		{"set", "192.0.2.2", "--src", "2001:db8::1"},
		{"set", "192.0.2.2", "--nope"},
		{"frobnicate"},
	} {
		h.run(exitUsage, args...)
	}
	if h.target(0) != before {
		t.Fatalf("target0 changed to %q", h.target(0))
	}

	// netoops missing.
	out = h.run(exitNotPresent, "--sysctl-root", filepath.Join(h.tmp, "nope"), "set", "192.0.2.2")
	if !strings.Contains(out, "netoops is not in this kernel") {
		t.Errorf("output:\n%s", out)
	}
	t.Setenv("NETOOPS_SYSCTL_ROOT", filepath.Join(h.tmp, "nope"))
	h.run(exitNotPresent, "show")
	os.Unsetenv("NETOOPS_SYSCTL_ROOT")

	// Not root.
	h.k.Unprivileged = true
	out = h.run(exitPermission, "set", "198.51.100.200")
	if !strings.Contains(out, "permission denied") {
		t.Errorf("output:\n%s", out)
	}
	h.run(exitPermission, "off")
	h.k.Unprivileged = false

	// The kernel refuses the device: the old configuration stays.
	delete(h.k.Devices, "eth0")
	out = h.run(exitRefused, "set", "198.51.100.200", "--label", "new")
	if !strings.Contains(out, "target0") || !strings.Contains(out, "ENODEV") || !strings.Contains(out, "previous configuration stays in force") || !strings.Contains(out, "dst=198.51.100.200") {
		t.Errorf("output:\n%s", out)
	}
	if h.target(0) != before || h.k.Get("label") != "\n" {
		t.Fatalf("not rolled back: target0 %q label %q", h.target(0), h.k.Get("label"))
	}
	h.k.Devices["eth0"] = true

	// A kernel that silently ends up with something else.
	h.env.openStore = func(string) (kconfig.Store, error) { return dropLabel{h.k}, nil }
	out = h.run(exitRefused, "set", "192.0.2.2", "--label", "lost")
	if !strings.Contains(out, "differs from what was written") || !strings.Contains(out, "label") {
		t.Errorf("output:\n%s", out)
	}
}

// dropLabel is a kernel that accepts label writes and ignores them.
type dropLabel struct{ *kconfigtest.Kernel }

func (d dropLabel) Write(name, value string) error {
	if name == kconfig.FileLabel {
		return nil
	}
	return d.Kernel.Write(name, value)
}

func TestOffOnAndClear(t *testing.T) {
	h := newHarness(t)
	h.run(0, "set", "192.0.2.2")
	h.run(0, "off")
	if h.k.Get("enabled") != "0\n" || h.target(0) == "" {
		t.Fatalf("enabled %q target0 %q", h.k.Get("enabled"), h.target(0))
	}
	h.run(0, "on")
	if h.k.Get("enabled") != "1\n" {
		t.Fatal("not on")
	}
	h.k.Writes = nil
	h.run(0, "off", "--clear")
	if h.k.Get("enabled") != "0\n" || h.target(0) != "" {
		t.Fatalf("enabled %q target0 %q", h.k.Get("enabled"), h.target(0))
	}
	if w := strings.Join(h.k.Writes, " | "); w != "enabled=0 | target0=" {
		t.Errorf("writes %s", w)
	}
	out := h.run(0, "on")
	if !strings.Contains(out, "no target is configured") {
		t.Errorf("output:\n%s", out)
	}
}

func TestTest(t *testing.T) {
	h := newHarness(t)
	out := h.run(exitTestNothing, "test", "--wait", "100ms")
	if !strings.Contains(out, "no target is active") {
		t.Errorf("output:\n%s", out)
	}
	h.run(0, "set", "192.0.2.2")
	out = h.run(0, "test")
	if !strings.Contains(out, "packets_sent") || !strings.Contains(out, "+12") {
		t.Errorf("output:\n%s", out)
	}
	h.k.DeadTargets = true
	out = h.run(exitTestNothing, "test", "--wait", "100ms")
	if !strings.Contains(out, "packets_sent stayed at 12") {
		t.Errorf("output:\n%s", out)
	}
}

func TestTestBusyAndRefusals(t *testing.T) {
	h := newHarness(t)
	h.run(0, "set", "192.0.2.2")
	busy := 3
	h.k.FailWrite = func(name, value string) error {
		if name == "test" && busy > 0 {
			busy--
			return &os.PathError{Op: "write", Path: name, Err: syscall.EBUSY}
		}
		return nil
	}
	h.run(0, "test")
	if busy != 0 {
		t.Fatalf("EBUSY not retried")
	}
	// A target write fails with netpoll's error: refused, old config kept.
	before := h.target(0)
	h.k.FailWrite = func(name, value string) error {
		if strings.HasPrefix(name, "target") {
			return &os.PathError{Op: "write", Path: name, Err: syscall.EBUSY}
		}
		return nil
	}
	out := h.run(exitRefused, "set", "198.51.100.200")
	if !strings.Contains(out, "EBUSY") || !strings.Contains(out, "bond") || h.target(0) != before {
		t.Errorf("output:\n%s\ntarget0 %q", out, h.target(0))
	}
	h.k.FailWrite = func(name, value string) error {
		if strings.HasPrefix(name, "target") {
			return &os.PathError{Op: "write", Path: name, Err: syscall.Errno(524)}
		}
		return nil
	}
	out = h.run(exitRefused, "set", "198.51.100.200")
	if !strings.Contains(out, "does not support netpoll") {
		t.Errorf("output:\n%s", out)
	}
}

func TestNetnsFlagRefusedForTheKernel(t *testing.T) {
	h := newHarness(t)
	// /proc/sys/kernel is on procfs like the real netoops directory; the
	// check comes before anything is read or written.
	out := h.run(exitUsage, "--sysctl-root", "/proc/sys/kernel", "--netns", "lab", "set", "192.0.2.2")
	if !strings.Contains(out, "initial network namespace") {
		t.Errorf("output:\n%s", out)
	}
}

func TestShow(t *testing.T) {
	h := newHarness(t)
	out := h.run(0, "show")
	if !strings.Contains(out, "no targets") || !strings.Contains(out, "warning: no target is configured") {
		t.Errorf("output:\n%s", out)
	}
	h.run(0, "set", "2001:db8:ff::5", "--label", "rack7")
	h.k.Set("target1", "dev=eth1 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:09 sport=6667 dport=6668\n")
	h.k.Set("target2", "dev=wg0 src=10.9.0.1 dst=10.9.0.2 mac=02:00:00:00:00:09 sport=6667 dport=6668\n")
	h.k.Set("state", "target0 eth0 active\ntarget1 eth1 active\ntarget2 wg0 down\n")
	os.WriteFile(h.kexec, []byte("1\n"), 0o644)
	out = h.run(0, "show")
	for _, want := range []string{
		"on (enabled=1)", "rack7", "0123456789abcdef0123456789abcdef",
		"target0  eth0  active", "[2001:db8:ff::5]:6668",
		"crash_kexec_post_notifiers",
		"eth1 is enslaved to bond0 (bond)",
		"target2: state is down",
		"wg0 is not an Ethernet device",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	os.WriteFile(h.cmdline, []byte("root=/dev/vda crash_kexec_post_notifiers\n"), 0o644)
	out = h.run(0, "show", "--json")
	var got showOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if !got.Enabled || got.Label != "rack7" || len(got.Targets) != 3 || got.Targets[2].State != "down" || got.Targets[0].DPort != 6668 {
		t.Errorf("json: %+v", got)
	}
	if !strings.Contains(out, `"warnings": [`) {
		t.Errorf("warnings is not a list:\n%s", out)
	}
	for _, w := range got.Warnings {
		if strings.Contains(w, "crash_kexec") {
			t.Errorf("kdump warning with crash_kexec_post_notifiers set: %s", w)
		}
	}
}

func TestShowDrift(t *testing.T) {
	h := newHarness(t)
	h.run(0, "set", "198.51.100.200")
	h.run(0, "set", "--add", "192.0.2.2")
	if out := h.run(0, "show"); strings.Contains(out, "warning") {
		t.Fatalf("warnings for a fresh configuration:\n%s", out)
	}
	// The gateway got another MAC; the route to 192.0.2.2 moved to eth1.
	h.net.set(dstRemote, &route.Result{Dst: dstRemote, Src: dstLocal, Gateway: dstOnLink, NextHop: dstOnLink, Link: eth0, MAC: mac("02:00:00:00:00:99")})
	h.net.set(dstOnLink, &route.Result{Dst: dstOnLink, Src: dstLocal, NextHop: dstOnLink, Link: eth1, MAC: mac("02:00:00:00:00:02")})
	out := h.run(0, "show")
	for _, want := range []string{
		"target0: next hop 192.0.2.2 now has MAC 02:00:00:00:00:99, the target sends to 02:00:00:00:00:02",
		"target1: the route to 192.0.2.2 now leaves through eth1, not eth0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if r := h.net.reqs[len(h.net.reqs)-1]; !r.NoProbe {
		t.Errorf("show resolved with probing: %+v", r)
	}
}

func TestFollow(t *testing.T) {
	h := newHarness(t)
	h.k.Set("target3", "dev=eth1 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:09 sport=6667 dport=6668\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"netoopsctl", "follow", "198.51.100.200", "--debounce", "10ms"}, h.env)
	}()
	waitFor(t, func() bool { return strings.Contains(h.target(0), "mac=02:00:00:00:00:02") && h.target(3) == "" })
	// The default route moves to another gateway.
	h.net.set(dstRemote, &route.Result{Dst: dstRemote, Src: netip.MustParseAddr("198.51.100.1"), Gateway: netip.MustParseAddr("198.51.100.2"), NextHop: netip.MustParseAddr("198.51.100.2"), Link: eth1, MAC: mac("02:00:00:00:00:22")})
	h.net.events <- route.Event{Type: unix.RTM_NEWROUTE}
	waitFor(t, func() bool {
		return h.target(0) == "dev=eth1 src=198.51.100.1 dst=198.51.100.200 mac=02:00:00:00:00:22 sport=6667 dport=6668"
	})
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("follow exited %d", code)
	}
}

// TestFollowWatchFails: when reading events fails, follow must not exit 0
// (systemd would not restart it) and must say why.
func TestFollowWatchFails(t *testing.T) {
	h := newHarness(t)
	h.net.watchErr = &os.SyscallError{Syscall: "recvmsg", Err: syscall.EBADF}
	out := h.run(exitUsage, "follow", "192.0.2.2")
	if !strings.Contains(out, "reading rtnetlink events: recvmsg: bad file descriptor") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestFollowNotRoot(t *testing.T) {
	h := newHarness(t)
	h.k.Unprivileged = true
	out := h.run(exitPermission, "follow", "192.0.2.2")
	if !strings.Contains(out, "permission denied") {
		t.Errorf("output:\n%s", out)
	}
	h.k.Unprivileged = false
	for i := 0; i < 4; i++ {
		h.k.Set(kconfig.TargetFile(i), "dev=eth1 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:09 sport=6667 dport="+string(rune('1'+i))+"\n")
	}
	h.run(exitUsage, "follow", "--add", "192.0.2.2")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCompletionAndMan(t *testing.T) {
	h := newHarness(t)
	for _, sh := range []string{"bash", "zsh"} {
		if out := h.run(0, "completion", sh); !strings.Contains(out, "netoopsctl") {
			t.Errorf("completion %s:\n%s", sh, out)
		}
	}
	out := h.run(0, "man")
	for _, want := range []string{".TH NETOOPSCTL 8", ".SS \"set \\fIDEST[:PORT]\\fR\"", "\\-\\-sysctl\\-root", ".SH EXIT STATUS", "NETOOPS_SYSCTL_ROOT"} {
		if !strings.Contains(out, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	for file, args := range map[string][]string{
		"../../docs/netoopsctl.8":          {"man"},
		"../../completion/netoopsctl.bash": {"completion", "bash"},
		"../../completion/_netoopsctl":     {"completion", "zsh"},
	} {
		committed, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s: %v (run 'go generate ./cmd/netoopsctl')", file, err)
			continue
		}
		if out := h.run(0, args...); string(committed) != out {
			t.Errorf("%s is stale: run 'go generate ./cmd/netoopsctl'", file)
		}
	}
}

// TestSetLogBufLen: set sizes the kernel's log snapshot from syslog(2)'s
// buffer size, refuses to go on without it, and leaves a kernel without the
// file alone.
func TestSetLogBufLen(t *testing.T) {
	h := newHarness(t)
	h.env.kernelLogSize = func() (int, error) { return 0, syscall.EPERM }
	out := h.run(exitPermission, "set", "192.0.2.2")
	if !strings.Contains(out, "SYSLOG_ACTION_SIZE_BUFFER") || len(h.k.Writes) != 0 {
		t.Fatalf("without the size: writes %q, output:\n%s", h.k.Writes, out)
	}
	h.env.kernelLogSize = func() (int, error) { return 64 << 20, nil }
	h.run(0, "set", "192.0.2.2")
	if got := h.k.Get("log_buf_len"); got != "134217728\n" {
		t.Errorf("log_buf_len %q after a 64 MiB log buffer", got)
	}
	h.env.kernelLogSize = func() (int, error) { return 1 << 30, nil }
	h.run(0, "set", "192.0.2.2")
	if got := h.k.Get("log_buf_len"); got != "268435456\n" {
		t.Errorf("log_buf_len %q, want the kernel's maximum", got)
	}

	old := newHarness(t)
	old.k.Delete("log_buf_len")
	old.env.kernelLogSize = func() (int, error) { return 0, syscall.EPERM }
	old.run(0, "set", "192.0.2.2")
	for _, w := range old.k.Writes {
		if strings.HasPrefix(w, "log_buf_len") {
			t.Errorf("wrote %q to a kernel without log_buf_len", w)
		}
	}
}

// TestTestNothingSent: the kernel's -EIO (no device took a packet) is a
// test that sent nothing, with the counters that say why.
func TestTestNothingSent(t *testing.T) {
	h := newHarness(t)
	h.run(0, "set", "192.0.2.2")
	h.k.DeadTargets = true
	out := h.run(exitTestNothing, "test", "--wait", "100ms")
	if !strings.Contains(out, "packets_sent stayed at 0") || !strings.Contains(out, "tx_errors +1") {
		t.Errorf("output:\n%s", out)
	}
}
