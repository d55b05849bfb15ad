//go:build e2e

package qemu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scenarios of the netdev review of issue #10's driver (M1-M5, S5,
// S8): a dump taken over in the middle of a packet, faults and stalls
// inside dumps, multi-queue devices, and the shutdown dump. Faults and
// stalls come from the driver's fault injection (CONFIG_NETOOPS_FAULT_
// INJECTION, debugfs fail_netoops_{xmit,driver,poll}).

// armFault is the guest helper that arms one fault site: arm SITE TIMES
// STALL_MS [VERBOSE]. STALL_MS 0 makes the site oops, more makes it spin
// that long with interrupts off, holding what the site holds (xmit: the
// transmit lock; driver: the transmit lock, inside the driver; poll: a
// NAPI instance).
const armFault = `
arm() {
	F=/sys/kernel/debug/fail_netoops_$1
	[ -d $F ] || fail "no $F (CONFIG_NETOOPS_FAULT_INJECTION)"
	echo ${4:-1} > $F/verbose
	echo $3 > $F/stall_ms
	echo 100 > $F/probability
	echo $2 > $F/times
}
# wait_fault: until the armed site fired (the line is in the log at once,
# whatever the console does).
wait_fault() {
	i=0
	while ! dmesg | grep -q "FAULT_INJECTION: forcing a failure" && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
	dmesg | grep -q "FAULT_INJECTION: forcing a failure" || fail "the fault did not fire"
}
P=/proc/sys/kernel/netoops
`

// offCPU1 keeps the script and everything it starts on CPU 0: while CPU 1
// sits in a stall with interrupts off, a process that ran there would wait
// for it in a TLB shootdown (and so would the script).
const offCPU1 = `
taskset -p 1 $$ > /dev/null || fail "taskset -p"
`

// secondNIC is eth1 on a second QEMU user network, with its own address.
var secondNIC = NIC{Netdev: "user,net=10.0.3.0/24,ipv4=on,ipv6=off"}

const setupEth1 = `
ip link set eth1 up
ip addr add 10.0.3.15/24 dev eth1
i=0; while [ "$(cat /sys/class/net/eth1/carrier)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ping -c 1 -W 2 10.0.3.2 > /dev/null || echo "e2e: 10.0.3.2 does not answer ping"
`

// eventsFor returns the events of a reason.
func eventsFor(evs []Event, reason string) []Event {
	var l []Event
	for _, e := range evs {
		if e.Reason == reason {
			l = append(l, e)
		}
	}
	return l
}

// ringDry makes eth0's test dumps poll its NAPI instance: with eth0's
// transmit interrupts delayed (up to 67 ms) and throttled, the target's 64
// buffers run out before the driver reaps them in a 16-copy dump. eth1
// (the second e1000) keeps the defaults (e1000's parameters are per
// board), so a dump with a target there never needs to poll it.
const ringDry = "e1000.InterruptThrottleRate=100,3 e1000.TxIntDelay=65535,8 e1000.TxAbsIntDelay=65535,32"

// nmiDuringTestDump: one vCPU, a test dump stalled at site (xmit: holding
// eth0's transmit lock; driver: inside eth0's driver; napi: inside eth0's
// NAPI poll, which a 16-copy dump over a dry ring reaches) when an NMI
// panics the same CPU. Targets on eth0 (catcher a) and eth1 (catcher b).
func nmiDuringTestDump(t *testing.T, name, site string) (s *scenario, a, b []Event, console string) {
	s = begin(t, name)
	catA, pa := s.catcher("catcher-eth0", nil, "127.0.0.1")
	catB, pb := s.catcher("catcher-eth1", nil, "127.0.0.1")
	cmdline, copies := "unknown_nmi_panic", ""
	if site == "napi" {
		cmdline, copies = cmdline+" "+ringDry, "echo 16 > $P/copies"
	}
	vm := s.boot(armFault+setupEth1+`
run netoopsctl set 10.0.2.2:$E2E_PORT
run netoopsctl set --add 10.0.3.2:$E2E_PORT2
cat $P/state
`+copies+`
known 20 nmi
snapshot before
arm `+site+` 1 30000
mark "E2E-ARMED"
sleep 1
echo 1 > $P/test &
sleep 60
fail "no panic"
`, guestOpts{cmdline: cmdline, qmp: true, timeout: 150 * time.Second, nics: []NIC{secondNIC},
		env: map[string]string{"E2E_PORT": itoa(pa[0]), "E2E_PORT2": itoa(pb[0])}})
	if _, err := vm.WaitConsole(s.ctx, "E2E-ARMED", 120*time.Second); err != nil {
		s.guestFailures(vm)
		t.Fatalf("guest not ready: %v", err)
	}
	// The test dump starts a second after the marker and stalls for 30 s
	// at its first packet (xmit, driver) or its first poll (napi), which
	// the fault's message on the console tells.
	if _, err := vm.WaitConsole(s.ctx, "FAULT_INJECTION: forcing a failure", 60*time.Second); err != nil {
		s.guestFailures(vm)
		t.Fatalf("the stall was not injected: %v", err)
	}
	time.Sleep(time.Second)
	if err := vm.InjectNMI(s.ctx); err != nil {
		t.Fatal(err)
	}
	ev, bEvs := s.panicDump(catB, 90*time.Second)
	s.waitExit(vm)
	console = vm.ReadConsole()
	s.checkDump(ev, "panic", s.upload("before"), "", "nmi", 20, "NMI received for unknown reason",
		"Kernel panic - not syncing: NMI: Not continuing", "netoops: panic takes over from the test dump of CPU 0")
	// Let the other catcher see whatever eth0 sent.
	time.Sleep(3 * time.Second)
	aEvs, err := catA.ReadEvents()
	if err != nil {
		t.Fatal(err)
	}
	return s, aEvs, bEvs, console
}

// TestNMIDuringTestDump (review M1): an NMI panic lands on the CPU whose
// test dump is inside eth0's driver. The frame below is live: netoops must
// not release eth0's transmit lock and call the driver again on top of it
// (the driver is halfway through its ring). The panic dump goes out
// through eth1 complete, and nothing of it through eth0. The driver before
// the fix released the lock ("netoops_unwind") and sent through eth0 too.
func TestNMIDuringTestDump(t *testing.T) {
	nmiInsideDriver(t, "nmi-during-test-driver", "driver", "transmit")
}

// TestNMIDuringTestDumpPoll (review SF2, M1's NAPI row): the same NMI on
// a test dump stalled inside eth0's NAPI poll (reached with eth0's ring
// run dry): the panic leaves that NAPI instance alone and, being inside
// one of eth0's NAPI polls on this CPU, does not call into eth0 at all;
// the panic dump goes out through eth1 complete.
func TestNMIDuringTestDumpPoll(t *testing.T) {
	nmiInsideDriver(t, "nmi-during-test-napi", "napi", "NAPI poll")
}

// nmiInsideDriver: nmiDuringTestDump at a site inside eth0's driver (what
// names the call); the panic leaves eth0 alone.
func nmiInsideDriver(t *testing.T, name, site, what string) {
	s, a, b, console := nmiDuringTestDump(t, name, site)
	log := s.readLog(eventsFor(b, "panic")[0])
	if !strings.Contains(string(log), "netoops: panic takes over from the test dump of CPU 0, inside eth0's "+what) {
		t.Errorf("the panic dump does not say it left eth0's %s alone", what)
	}
	if p := eventsFor(a, "panic"); len(p) > 0 {
		t.Errorf("the panic dump went out through eth0 (%d packets) while this CPU was inside eth0's %s", p[0].Packets, what)
	}
	if !strings.Contains(console, "FAULT_INJECTION: forcing a failure") {
		t.Error("the stall was not injected")
	}
	s.note("NMI on top of a test dump inside eth0's %s: eth0 left alone (%d panic events there), %d-byte panic dump through eth1",
		what, len(eventsFor(a, "panic")), len(log))
}

// TestNMIDuringTestDumpOutsideDriver: the same NMI, but the test dump is
// stalled holding eth0's transmit lock outside the driver: the panic
// releases the lock (the frame below never resumes) and the dump goes out
// through both devices.
func TestNMIDuringTestDumpOutsideDriver(t *testing.T) {
	s, a, b, _ := nmiDuringTestDump(t, "nmi-during-test-xmit", "xmit")
	log := s.readLog(eventsFor(b, "panic")[0])
	if !strings.Contains(string(log), "netoops: panic takes over from the test dump of CPU 0, released eth0's transmit lock") {
		t.Errorf("the panic dump does not say it released eth0's transmit lock")
	}
	pa := eventsFor(a, "panic")
	if len(pa) != 1 || !pa[0].Complete {
		t.Fatalf("no complete panic dump through eth0 (events %s)", eventList(a))
	}
	s.checkDump(pa[0], "panic", nil, "", "nmi", 20, "Kernel panic - not syncing: NMI: Not continuing")
	s.note("NMI on top of a test dump holding eth0's lock outside the driver: lock released, %d-byte panic dump through eth0 and eth1", len(log))
}

// TestShootdownDuringTestDump (review M5): with crash_kexec_post_notifiers
// (the setting the documentation gives kdump users) x86 stops the other
// CPUs with an NMI at once. CPU 1's test dump is stopped holding eth0's
// transmit lock (the only queue); the panicking CPU takes the lock over and
// its dump arrives complete. The driver before the fix took the ownership
// over but found the queue locked: the dump was lost.
func TestShootdownDuringTestDump(t *testing.T) {
	s := begin(t, "shootdown-during-test")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(armFault+offCPU1+setTarget+`
known 20 shootdown
snapshot before
arm xmit 1 30000
taskset 2 sh -c "echo 1 > $P/test" &
wait_fault
mark "E2E-CRASH while CPU 1's test dump holds eth0's transmit lock"
taskset 1 sh -c 'echo c > /proc/sysrq-trigger'
sleep 60
fail "no panic"
`, guestOpts{cmdline: "crash_kexec_post_notifiers", smp: 2, cpu: smpCPU, timeout: 150 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	ev, _ := s.panicDump(cat, 120*time.Second)
	s.waitExit(vm)
	log := s.checkDump(ev, "panic", s.upload("before"), "", "shootdown", 20, "Kernel panic - not syncing: sysrq triggered crash",
		"netoops: panic takes over from the test dump of CPU 1, released eth0's transmit lock")
	s.note("NMI shootdown of CPU 1 inside a test dump's packet: its transmit lock taken over, %d-byte panic dump complete", len(log))
}

// TestMultiQueue (review M3): virtio-net with two queue pairs (a tap with
// two queues, in a namespace of the scenario's own). CPU 1 is stopped
// inside the driver's transmit on queue 1 (a test dump stalled there, then
// kdump's NMI shootdown); the panic dump goes through queue 0, and must
// get its completions polled: 7.2's virtio reaps transmit buffers only in
// NAPI and tells which NAPI instance serves which queue, so netoops polls
// queue 0's, and the dump arrives complete. The driver before the fix
// polled only while no queue's lock was held: the dump was cut short.
//
// 6.12's virtio-net tells no queue-to-NAPI association, so netoops falls
// back to not polling while any queue's lock is held (documented in
// netoops.rst's Limitations). What it still gets: 6.12's virtio reaps
// completions in start_xmit, which netoops keeps calling on a queue that
// only byte queue limits stopped (the driver before that fix stopped after
// one packet), as long as it has a free buffer: there the test asserts
// that at least the target's buffers' worth arrived (64, less the one the
// stopped test dump holds), newest first (the crash lines are in it), not
// that the dump is complete.
func TestMultiQueue(t *testing.T) {
	s := begin(t, "multiqueue")
	h := s.hostNet()
	tap := fmt.Sprintf("nomq%d", pidTag())
	netdev, err := h.AddTap(tap, 2)
	if err != nil {
		t.Fatal(err)
	}
	cat, port := s.catcherIn(h, "catcher", "0.0.0.0")
	const n = 2000
	vm := s.boot(armFault+offCPU1+`
ip link set eth1 up
ip addr add 10.77.0.15/24 dev eth1
i=0; while ! ping -c 1 -W 1 10.77.0.1 > /dev/null && [ $i -lt 30 ]; do i=$((i+1)); done
ls /sys/class/net/eth1/queues > /tmp/queues; upload queues /tmp/queues
# The device's interrupts (one INTx line: the kernel has no PCI_MSI) to
# CPU 1 only: otherwise CPU 0 may take one and spin in queue 1's NAPI poll
# on the transmit lock the stalled dump holds, and never get to the sysrq
# write.
for irq in $(grep -E 'virtio[0-9]' /proc/interrupts | cut -d: -f1); do
	echo 2 > /proc/irq/$irq/smp_affinity || fail "smp_affinity of IRQ $irq"
done
for irq in $(grep -E 'virtio[0-9]' /proc/interrupts | cut -d: -f1); do
	echo "$irq $(cat /proc/irq/$irq/smp_affinity)"
done > /tmp/irqs; upload irqs /tmp/irqs
run netoopsctl set 10.77.0.1:$E2E_PORT
cat $P/target0 $P/state
known `+itoa(n)+` mq
snapshot before
arm driver 1 30000
taskset 2 sh -c "echo 1 > $P/test" &
wait_fault
mark "E2E-CRASH while CPU 1 is inside eth1's transmit on queue 1"
taskset 1 sh -c 'echo c > /proc/sysrq-trigger'
sleep 60
fail "no panic"
`, guestOpts{cmdline: "crash_kexec_post_notifiers log_buf_len=1M", smp: 2, cpu: smpCPU, timeout: 200 * time.Second,
		nics: []NIC{{Netdev: netdev, Device: "virtio-net-pci,mq=on,vectors=6"}},
		env:  map[string]string{"E2E_PORT": itoa(port)}})
	if err := h.Attach(s.ctx, vm.Pid(), tap, 2); err != nil {
		t.Fatal(err)
	}
	if err := h.IP("addr", "add", "10.77.0.1/24", "dev", tap); err != nil {
		t.Fatal(err)
	}
	evs, _ := cat.WaitEvents(s.ctx, 180*time.Second, func(evs []Event) bool {
		for _, e := range evs {
			if e.Reason == "panic" && e.Complete {
				return true
			}
		}
		return s.allExited() && len(evs) > 0 && time.Since(evs[len(evs)-1].SeenAt) > 10*time.Second
	})
	s.waitExit(vm)
	if q := string(s.upload("queues")); !strings.Contains(q, "tx-1") {
		t.Fatalf("eth1 has one transmit queue only: %q", q)
	}
	if irqs := strings.Fields(string(s.upload("irqs"))); len(irqs) == 0 || len(irqs)%2 != 0 || irqs[1] != "2" {
		t.Fatalf("the virtio device's interrupts were not moved to CPU 1 (IRQ and smp_affinity): %q", irqs)
	}
	panics := eventsFor(evs, "panic")
	if len(panics) != 1 {
		s.guestFailures(vm)
		t.Fatalf("panic dumps stored: %s, want one\ncatcher stderr:\n%s", eventList(evs), cat.Stderr())
	}
	ev := panics[0]
	const takeover = "netoops: panic takes over from the test dump of CPU 1, inside eth1's transmit"
	if strings.HasPrefix(ev.Release, "6.12") {
		log := string(s.readLog(ev))
		// Without polling, buffers come back only when start_xmit reaps
		// them: at least the target's 64 buffers get out, less the one
		// the stopped test dump holds (before the byte-queue-limit fix:
		// one packet).
		if n := ev.Packets - ev.Duplicates; n < 63 {
			t.Errorf("6.12: %d packets of the panic dump arrived, want at least the target's 64 buffers less the stopped dump's one", n)
		}
		for _, want := range []string{"Kernel panic - not syncing: sysrq triggered crash", takeover} {
			if !strings.Contains(log, want) {
				t.Errorf("6.12: the partial panic dump lacks %q", want)
			}
		}
		s.note("6.12 virtio-net (no queue-NAPI association), CPU 1 stopped inside queue 1's transmit: %d packets of the panic dump through queue 0, newest first (%d of %d bytes)",
			ev.Packets, uint64(ev.TotalLen)-ev.MissingBytes, ev.TotalLen)
		return
	}
	if !ev.Complete {
		t.Fatalf("the panic dump is incomplete: %d packets, %d of %d bytes missing", ev.Packets, ev.MissingBytes, ev.TotalLen)
	}
	log := s.checkDump(ev, "panic", s.upload("before"), "", "mq", n, "Kernel panic - not syncing: sysrq triggered crash", takeover)
	s.note("virtio-net, 2 queue pairs: CPU 1 stopped inside queue 1's transmit; %d-byte panic dump through queue 0 complete (%d packets)", len(log), ev.Packets)
}

// pidTag is a short number that keeps this process's tap names apart from
// another suite's on the same host.
func pidTag() int { return osGetpid() % 10000 }

// TestFaultInPanicDump (review M4): a driver that faults on every transmit
// (fail_netoops_xmit, times -1) during an NMI panic's dump. The fault
// panics again (an oops in NMI context); netoops sends one panic dump per
// boot, so the machine reboots. The driver before the fix dumped again on
// every nested panic, faulting again, until the stack overflowed; it never
// rebooted by itself.
func TestFaultInPanicDump(t *testing.T) { faultInPanicDump(t, "fault-in-panic-dump", "") }

// TestFaultInPanicDumpEmerg (second review, MF1): the same with emergency
// restart dumps selected. panic() ends in emergency_restart(), whose kmsg
// dump (reason emerg) must not send again: before the fix it did, faulted,
// panicked again, and so on without end.
func TestFaultInPanicDumpEmerg(t *testing.T) {
	faultInPanicDump(t, "fault-in-panic-dump-emerg", "oops panic emerg")
}

func faultInPanicDump(t *testing.T, name, reasons string) {
	s := begin(t, name)
	_, ports := s.catcher("catcher", nil, "127.0.0.1")
	setReasons := ""
	if reasons != "" {
		setReasons = "echo '" + reasons + "' > $P/reasons || fail 'reasons not written'\n"
	}
	vm := s.boot(armFault+setTarget+setReasons+`
known 20 faultpanic
arm xmit -1 0
mark "E2E-READY-FOR-NMI"
sleep 60
fail "no panic after the NMI"
`, guestOpts{cmdline: "unknown_nmi_panic", qmp: true, timeout: 120 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	if _, err := vm.WaitConsole(s.ctx, "E2E-READY-FOR-NMI", 90*time.Second); err != nil {
		s.guestFailures(vm)
		t.Fatalf("guest not ready: %v", err)
	}
	time.Sleep(time.Second)
	if err := vm.InjectNMI(s.ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.waitExit(vm)
	console := vm.ReadConsole()
	// waitExit checked that QEMU ended by itself (panic=3 and -no-reboot).
	for _, want := range []string{"Kernel panic - not syncing: NMI: Not continuing", "RIP: 0010:netoops_", "Fatal exception in interrupt"} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if n := strings.Count(console, "FAULT_INJECTION: forcing a failure"); n != 1 {
		t.Errorf("the fault fired %d times: the panic dump was sent again after it faulted", n)
	}
	s.note("fault on every transmit inside an NMI panic's dump: one dump attempt, rebooted %v after the NMI", time.Since(start).Round(time.Second))
}

var counterRE = regexp.MustCompile(`(\w+)=(\d+)`)

// TestSlowDevice (review S5): a driver that takes 150 ms per frame (a
// stall inside every transmit, with interrupts off), just under the
// per-packet wait: without a bound per target, a 16-copy test dump of the
// boot log would take about a minute (a megabyte log, minutes). netoops
// gives the target 10 s per dump, then gives it up and counts the rest in
// tx_errors.
func TestSlowDevice(t *testing.T) {
	s := begin(t, "slow-device")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(armFault+setTarget+`
known 20 slow
echo 16 > $P/copies
arm driver -1 150 0
p0=$(cat $P/packets_sent); e0=$(cat $P/tx_errors)
echo 1 > $P/test; rc=$?
echo 0 > /sys/kernel/debug/fail_netoops_driver/times
echo "rc=$rc packets=$(($(cat $P/packets_sent) - p0)) errors=$(($(cat $P/tx_errors) - e0)) us=$(cat $P/last_dump_us)" > /tmp/results
upload results /tmp/results
`, guestOpts{timeout: 180 * time.Second, env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 1, 150*time.Second)
	s.waitExit(vm)
	res := map[string]int{}
	for _, m := range counterRE.FindAllStringSubmatch(string(s.upload("results")), -1) {
		res[m[1]], _ = strconv.Atoi(m[2])
	}
	if res["rc"] != 0 || res["packets"] == 0 {
		t.Fatalf("test dump: %v, want success with some packets sent", res)
	}
	if res["errors"] == 0 || (res["packets"]+res["errors"])%16 != 0 {
		t.Errorf("tx_errors grew by %d for %d packets sent: want the unsent rest of 16 copies", res["errors"], res["packets"])
	}
	if res["us"] > 14_000_000 {
		t.Errorf("the dump took %d µs: the target's 10 s budget did not end it", res["us"])
	}
	if !evs[0].Complete {
		t.Errorf("catcher: the test dump is incomplete (%d packets; the guest counted %d sent)", evs[0].Packets, res["packets"])
	}
	s.note("150 ms per frame: %d packets in %.1f s, then given up (%d in tx_errors)", res["packets"], float64(res["us"])/1e6, res["errors"])
}

// TestShutdownDump (review S8): reasons shutdown and emerg. reboot(2) sends
// the shutdown dump from netoops's reboot notifier, before the devices are
// shut down (kmsg_dump()'s shutdown dump comes after device_shutdown(),
// when e1000 no longer sends: the driver before the fix sent nothing);
// sysrq-b sends the emergency restart dump.
func TestShutdownDump(t *testing.T) {
	s := begin(t, "shutdown-dump")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(setTarget+`
echo "oops panic shutdown" > /proc/sys/kernel/netoops/reasons
known 20 shutdown
snapshot before
mark "E2E-REBOOT"
reboot -f
`, guestOpts{name: "restart", env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 1, 120*time.Second)
	s.waitExit(vm)
	log := s.checkDump(evs[0], "shutdown", s.upload("before"), "", "shutdown", 20, "E2E-REBOOT")
	if evs[0].ReasonText != "restart" {
		t.Errorf("shutdown dump reason text %q, want restart", evs[0].ReasonText)
	}

	cat2, ports2 := s.catcher("catcher-emerg", nil, "127.0.0.1")
	vm2 := s.boot(setTarget+`
echo "oops panic emerg" > /proc/sys/kernel/netoops/reasons
known 20 emerg
snapshot before-emerg
mark "E2E-SYSRQ-B"
echo b > /proc/sysrq-trigger
sleep 60
fail "no restart"
`, guestOpts{name: "emerg", env: map[string]string{"E2E_PORT": itoa(ports2[0])}})
	evs2 := s.events(cat2, 1, 120*time.Second)
	s.waitExit(vm2)
	log2 := s.checkDump(evs2[0], "emerg", s.upload("before-emerg"), "", "emerg", 20, "E2E-SYSRQ-B", "sysrq: Resetting")
	s.note("reboot -f: %d-byte shutdown dump (reason text %q); sysrq-b: %d-byte emerg dump", len(log), evs[0].ReasonText, len(log2))
}
