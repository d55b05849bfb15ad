//go:build e2e

package qemu

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// setTarget is the script line that points netoops at the catcher through
// netoopsctl, then shows what the kernel took.
const setTarget = `
run netoopsctl set 10.0.2.2:$E2E_PORT
cat /proc/sys/kernel/netoops/target0 /proc/sys/kernel/netoops/state
`

// crashCase is a scenario that crashes the guest once and checks the
// dump of the crash.
type crashCase struct {
	name    string
	cmdline string
	setup   string   // script run after the target is set
	trigger string   // script that crashes the guest
	wants   []string // lines the dump must contain
	// title is the crash title the catcher must give the panic dump, the
	// same on every kernel (docs/crash-titles.md).
	title string
	// panicLine is the console text the latency is measured from.
	panicLine string
	timeout   time.Duration
}

// latencies are the panic-to-disk times the crash scenarios measured.
var latencies = struct {
	sync.Mutex
	m map[string]time.Duration
}{m: map[string]time.Duration{}}

func runCrash(t *testing.T, c crashCase) {
	s := begin(t, c.name)
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	const n = 20
	script := setTarget + c.setup + `
mark "E2E-KNOWN-BEGIN"
known 20 $E2E_SCENARIO
snapshot before
mark "E2E-CRASH"
` + c.trigger + `
sleep 90
fail "still alive 90 s after the trigger"
`
	if c.timeout == 0 {
		c.timeout = 150 * time.Second
	}
	vm := s.boot(script, guestOpts{cmdline: c.cmdline, timeout: c.timeout, env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	if c.panicLine == "" {
		c.panicLine = "Kernel panic - not syncing"
	}
	panicAt, err := vm.WaitConsole(s.ctx, c.panicLine, c.timeout)
	if err != nil {
		s.guestFailures(vm)
		s.t.Fatalf("no panic: %v", err)
	}
	evs, err := cat.WaitEvents(s.ctx, 60*time.Second, func(evs []Event) bool {
		for _, e := range evs {
			if e.Reason == "panic" {
				return true
			}
		}
		return false
	})
	if err != nil {
		s.t.Fatalf("no panic dump stored: %v (%d other events)\ncatcher stderr:\n%s", err, len(evs), cat.Stderr())
	}
	s.waitExit(vm)
	var ev Event
	for _, e := range evs {
		if e.Reason == "panic" {
			ev = e
		}
	}
	stored := ev.Time
	if stored.IsZero() {
		stored = ev.SeenAt
	}
	lat := stored.Sub(panicAt)
	latencies.Lock()
	latencies.m[c.name] = lat
	latencies.Unlock()
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, fmt.Sprintf("%d:%s", e.DumpSeq, e.Reason))
	}
	log := s.checkDump(ev, "panic", s.upload("before"), vm.ReadConsole(), c.name, n, c.wants...)
	s.checkTitle(ev, c.title)
	s.note("dumps %s; panic dump %d bytes in %d packets; panic line to stored %v", strings.Join(reasons, " "), len(log), ev.Packets, lat.Round(time.Millisecond))
}

func TestSysrqPanic(t *testing.T) {
	runCrash(t, crashCase{
		name:    "sysrq-panic",
		title:   "kernel panic: sysrq triggered crash",
		trigger: "echo c > /proc/sysrq-trigger",
		wants:   []string{"sysrq: Trigger a crash", "Kernel panic - not syncing: sysrq triggered crash"},
	})
}

// LKDTM crash types with the sysctls that turn each into a panic.
func TestLKDTMBug(t *testing.T) {
	runCrash(t, crashCase{
		name:    "lkdtm-bug",
		title:   "kernel BUG in lkdtm_BUG",
		setup:   "echo 1 > /proc/sys/kernel/panic_on_oops",
		trigger: "lkdtm BUG",
		wants:   []string{"lkdtm: Performing direct entry BUG", "kernel BUG at", "Kernel panic - not syncing: Fatal exception"},
	})
}

func TestLKDTMException(t *testing.T) {
	runCrash(t, crashCase{
		name:    "lkdtm-exception",
		title:   "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION",
		setup:   "echo 1 > /proc/sys/kernel/panic_on_oops",
		trigger: "lkdtm EXCEPTION",
		wants:   []string{"lkdtm: Performing direct entry EXCEPTION", "BUG: kernel NULL pointer dereference", "Kernel panic - not syncing: Fatal exception"},
	})
}

func TestLKDTMWarning(t *testing.T) {
	runCrash(t, crashCase{
		name:    "lkdtm-warning",
		title:   "WARNING in lkdtm_WARNING",
		setup:   "echo 1 > /proc/sys/kernel/panic_on_warn",
		trigger: "lkdtm WARNING",
		// The warning line: "WARNING: CPU: 0 PID: 1 at FILE:LINE FUNC" up to
		// 6.x, "WARNING: FILE:LINE at FUNC, CPU#0: COMM/PID" on 7.x.
		wants: []string{"lkdtm: Performing direct entry WARNING", "] WARNING: ", "drivers/misc/lkdtm/bugs.c:",
			"Kernel panic - not syncing: kernel: panic_on_warn set"},
	})
}

func TestLKDTMSoftLockup(t *testing.T) {
	runCrash(t, crashCase{
		name:  "lkdtm-softlockup",
		title: "BUG: soft lockup in lkdtm_SOFTLOCKUP",
		// a soft lockup is reported after 2 x watchdog_thresh seconds
		setup:   "echo 1 > /proc/sys/kernel/softlockup_panic\necho 2 > /proc/sys/kernel/watchdog_thresh",
		trigger: "lkdtm SOFTLOCKUP &\nsleep 60",
		wants:   []string{"lkdtm: Performing direct entry SOFTLOCKUP", "watchdog: BUG: soft lockup", "Kernel panic - not syncing: softlockup: hung tasks"},
	})
}

// latencySummary is the panic-to-disk figures, for the summary.
func latencySummary() string {
	latencies.Lock()
	defer latencies.Unlock()
	if len(latencies.m) == 0 {
		return ""
	}
	var names []string
	var all []time.Duration
	for n, d := range latencies.m {
		names = append(names, n)
		all = append(all, d)
	}
	sort.Strings(names)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	var b strings.Builder
	fmt.Fprintf(&b, "panic line on the console to dump stored (catcher event time): median %v, min %v, max %v over %d crashes\n",
		all[len(all)/2].Round(time.Millisecond), all[0].Round(time.Millisecond), all[len(all)-1].Round(time.Millisecond), len(all))
	for _, n := range names {
		fmt.Fprintf(&b, "  %-22s %v\n", n, latencies.m[n].Round(time.Millisecond))
	}
	return b.String()
}

// TestVirtioNet sends a large dump through virtio-net-pci. QEMU moves
// virtio's transmit ring to the network in its main loop; when that thread
// is late (a loaded host), the ring fills during the dump. netpoll would
// then defer the packet to its tx queue, and every later packet behind it,
// never to be sent in a dying kernel; netoops waits for room in the ring
// instead (patch 7). The dump must arrive complete.
func TestVirtioNet(t *testing.T) {
	s := begin(t, "virtio-net")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	const n = 2000
	vm := s.boot(setTarget+`
known `+itoa(n)+` virtio
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{nic: "virtio-net-pci", pcap: true, cmdline: "log_buf_len=1M", env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 1, 120*time.Second)
	s.waitExit(vm)
	e := evs[len(evs)-1]
	sent := countPcapDumpPackets(filepath.Join(s.dir, "guest-nic.pcap"))
	if !e.Complete {
		t.Fatalf("virtio-net dump incomplete: the guest NIC passed %d packets, %d of %d bytes missing (a stalled transmit ring?)",
			sent, e.MissingBytes, e.TotalLen)
	}
	log := s.checkDump(e, "panic", s.upload("before"), vm.ReadConsole(), "virtio", n, "Kernel panic - not syncing")
	s.note("virtio-net: %d-byte dump complete, %d packets left the guest NIC", len(log), sent)
}
