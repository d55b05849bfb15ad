//go:build e2e

package qemu

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scenarios of issue #10: the crash path in the worst crashes. Each
// runs on every kernel scripts/e2e.sh boots.

// smpCPU keeps udelay() waits (panic()'s wait for the other CPUs) near
// real time under TCG.
const smpCPU = "qemu64,-tsc"

// largeLog fills a 1 MiB log buffer with n known lines at debug level (the
// serial console does not print them).
func largeLog(tag string, n int) string {
	return `
i=1
while [ $i -le ` + itoa(n) + ` ]; do
	echo "<7>E2E-KNOWN ` + tag + ` line $i of ` + itoa(n) + ` abcdefghijklmnopqrstuvwxyz0123456789" > /dev/kmsg
	i=$((i+1))
done
`
}

// noHang runs a command with a time limit and fails the scenario if it
// hangs (busybox timeout: 124 or 143 when it had to kill it).
const noHang = `
nohang() {
	timeout 20 "$@"
	r=$?
	if [ $r -eq 124 ] || [ $r -eq 143 ]; then fail "hung: $*"; fi
	return $r
}
P=/proc/sys/kernel/netoops
# Every file read, every writable one written with a valid value (what it
# holds, so the configuration stays), a test dump sent: none may hang.
exercise() {
	for f in $(ls $P); do
		nohang cat $P/$f > /dev/null 2>&1
	done
	for f in enabled reasons copies label log_buf_len target0 target1 target2 target3; do
		v=$(cat $P/$f)
		printf '%s\n' "$v" | nohang dd of=$P/$f bs=4096 2>/dev/null || fail "writing back $f='$v' failed"
	done
	nohang netoopsctl show > /dev/null || fail "netoopsctl show failed"
	nohang netoopsctl test || fail "netoopsctl test failed"
}
`

// panicDump waits for the catcher's panic dump.
func (s *scenario) panicDump(cat *Catcher, timeout time.Duration, others ...int) (Event, []Event) {
	s.t.Helper()
	// The catcher stores dumps in parallel: one sent before the panic
	// may be stored after it.
	want := 1
	for _, n := range others {
		want += n
	}
	evs, err := cat.WaitEvents(s.ctx, timeout, func(evs []Event) bool {
		for _, e := range evs {
			if e.Reason == "panic" && e.Complete && len(evs) >= want {
				return true
			}
		}
		return s.allExited() && len(evs) > 0 && time.Since(evs[len(evs)-1].SeenAt) > 10*time.Second
	})
	for _, e := range evs {
		if e.Reason == "panic" && e.Complete {
			return e, evs
		}
	}
	for _, vm := range s.vms {
		s.guestFailures(vm)
	}
	s.t.Fatalf("no complete panic dump stored (%v; events %s)\ncatcher stderr:\n%s", err, eventList(evs), cat.Stderr())
	return Event{}, nil
}

func eventList(evs []Event) string {
	var l []string
	for _, e := range evs {
		l = append(l, fmt.Sprintf("%d:%s(complete=%v)", e.DumpSeq, e.Reason, e.Complete))
	}
	return "[" + strings.Join(l, " ") + "]"
}

// TestSMPPanicDuringTestDump: with two CPUs, a panic on CPU 0 while CPU 1
// is in the middle of a test dump (a 2 MiB log buffer, 16 copies to four
// targets: seconds of sending). panic() stops CPU 1 where it is (between
// two packets, or by NMI after a second), holding the dump; the panicking
// CPU takes over and its dump arrives complete. The series before issue
// #10 lost that dump (the stopped CPU kept the owner word).
func TestSMPPanicDuringTestDump(t *testing.T) {
	s := begin(t, "smp-panic-during-test")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	const n = 18000
	vm := s.boot(setTarget+largeLog("smp", n)+`
# 16 copies to four targets (three to the discard port): a test dump of
# about 38000 packets, longer than panic()'s one second wait for the other
# CPUs to stop.
echo 16 > $P/copies
for t in 1 2 3; do
	echo "dev=eth0 src=10.0.2.15 dst=10.0.2.2 mac=52:55:0a:00:02:02 dport=9 sport=$((6670 + t))" > $P/target$t || fail "target$t"
done
before=$(cat $P/packets_sent)
snapshot before
taskset 2 sh -c "echo 1 > $P/test; echo E2E-TEST-DUMP-ENDED > /dev/kmsg" &
# Wait until the test dump on CPU 1 is under way.
i=0
while [ "$(cat $P/packets_sent)" -le $((before + 20)) ] && [ $i -lt 20000 ]; do i=$((i+1)); done
mark "E2E-CRASH while the test dump runs: packets_sent $before -> $(cat $P/packets_sent)"
taskset 1 sh -c 'echo c > /proc/sysrq-trigger'
sleep 60
fail "no panic"
`, guestOpts{cmdline: "log_buf_len=2M loglevel=6", quiet: true, smp: 2, cpu: smpCPU, timeout: 300 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(ports[0]), "P": "/proc/sys/kernel/netoops"}})
	ev, evs := s.panicDump(cat, 240*time.Second, 1)
	s.waitExit(vm)
	console := vm.ReadConsole()
	if !strings.Contains(console, "E2E-CRASH while the test dump runs") {
		t.Fatal("the guest did not reach the crash")
	}
	if i := strings.Index(console, "E2E-TEST-DUMP-ENDED"); i >= 0 && i < strings.Index(console, "Kernel panic") {
		t.Error("the test dump ended before the panic: the scenario did not overlap them")
	}
	log := s.checkDump(ev, "panic", s.upload("before"), "", "smp", n, "Kernel panic - not syncing: sysrq triggered crash")
	var test string
	for _, e := range evs {
		if e.Reason == "test" {
			test = fmt.Sprintf("; the interrupted test dump stored complete=%v, %d bytes missing", e.Complete, e.MissingBytes)
		}
	}
	s.note("2 vCPUs: panic on CPU 0 during a test dump on CPU 1: %d KiB panic dump complete, %d known lines%s",
		len(log)>>10, CountKnown(log, "smp", n), test)
}

// TestNMIPanic: a panic in NMI context (QEMU's inject-nmi with
// unknown_nmi_panic, on two CPUs at once) is dumped complete.
func TestNMIPanic(t *testing.T) {
	s := begin(t, "nmi-panic")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(setTarget+`
known 20 nmi
snapshot before
mark "E2E-READY-FOR-NMI"
sleep 60
fail "no panic after the NMI"
`, guestOpts{cmdline: "unknown_nmi_panic", smp: 2, cpu: smpCPU, qmp: true, timeout: 150 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	if _, err := vm.WaitConsole(s.ctx, "E2E-READY-FOR-NMI", 120*time.Second); err != nil {
		s.guestFailures(vm)
		t.Fatalf("guest not ready: %v", err)
	}
	// The upload of the snapshot races with the marker; give it a moment.
	time.Sleep(time.Second)
	if err := vm.InjectNMI(s.ctx); err != nil {
		t.Fatal(err)
	}
	ev, _ := s.panicDump(cat, 60*time.Second)
	s.waitExit(vm)
	log := s.checkDump(ev, "panic", s.upload("before"), vm.ReadConsole(), "nmi", 20,
		"NMI received for unknown reason", "Kernel panic - not syncing: NMI: Not continuing")
	s.note("NMI panic on 2 vCPUs: %d-byte dump complete, reason text %q", len(log), ev.ReasonText)
}

// TestNetconsoleBusy: netconsole on the same NIC is busy with a log flood
// from the other CPU when the panic comes; netoops's dump still arrives
// complete (netoops never queues behind netpoll's deferred packets).
func TestNetconsoleBusy(t *testing.T) {
	s := begin(t, "netconsole-busy")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	nc, err := NewLineCollector("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	// log_buf_len=1M: the flood must not push the known lines out of the
	// kernel's own log buffer.
	vm := s.boot(netconsoleSetup+setTarget+`
nc_setup || fail "no netconsole"
known 20 busy
snapshot before
taskset 2 sh -c 'i=1; while [ $i -le 5000 ]; do echo "<4>E2E-FLOOD line $i through netconsole" > /dev/kmsg; i=$((i+1)); done' &
sleep 1
mark "E2E-CRASH during the flood"
taskset 1 sh -c 'echo c > /proc/sysrq-trigger'
sleep 60
fail "no panic"
`, guestOpts{cmdline: "log_buf_len=1M " + netconsoleArg(nc.Addr().Port), smp: 2, cpu: smpCPU, timeout: 200 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	ev, _ := s.panicDump(cat, 180*time.Second)
	s.waitExit(vm)
	console := vm.ReadConsole()
	if strings.Contains(console, "E2E-NO-NETCONSOLE") {
		t.Fatalf("netconsole did not start in the guest (see %s)", vm.Console)
	}
	log := s.checkDump(ev, "panic", s.upload("before"), "", "busy", 20, "Kernel panic - not syncing: sysrq triggered crash")
	flood := strings.Count(string(log), "E2E-FLOOD line")
	s.note("netconsole flooding eth0 from CPU 1 (%d of its datagrams arrived): panic dump %d bytes complete, %d flood lines in it",
		len(nc.Messages()), len(log), flood)
}

// TestStackedTargets: a target on an active-backup bond or on a VLAN device
// is refused at write time with EOPNOTSUPP (docs/sysctl.md), the target in
// force stays, and the dump through eth0 arrives.
func TestStackedTargets(t *testing.T) {
	s := begin(t, "stacked-targets")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(setTarget+`
# The built-in bonding driver creates bond0 itself.
[ -e /sys/class/net/bond0 ] || echo +bond0 > /sys/class/net/bonding_masters || fail "no bonding"
echo active-backup > /sys/class/net/bond0/bonding/mode
ip link set bond0 up
ip link add link eth0 name eth0.5 type vlan id 5 2>/dev/null || vconfig add eth0 5 || fail "no VLAN"
ip link set eth0.5 up
: > /tmp/results
for dev in bond0 eth0.5; do
	out=$(printf 'dev=%s src=10.0.2.15 dst=10.0.2.2 mac=52:55:0a:00:02:02\n' $dev | dd of=$P/target1 bs=4096 2>&1)
	echo "$dev: rc=$? $out" >> /tmp/results
done
echo "target1=[$(cat $P/target1)]" >> /tmp/results
cat $P/state >> /tmp/results
dmesg | grep "netoops:" >> /tmp/results
upload results /tmp/results
known 20 stacked
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0]), "P": "/proc/sys/kernel/netoops"}})
	ev, _ := s.panicDump(cat, 150*time.Second)
	s.waitExit(vm)
	res := string(s.upload("results"))
	for _, dev := range []string{"bond0", "eth0.5"} {
		line := ""
		for _, l := range strings.Split(res, "\n") {
			if strings.HasPrefix(l, dev+":") {
				line = l
			}
		}
		if strings.Contains(line, "rc=0") || !strings.Contains(line, "Operation not supported") {
			t.Errorf("target on %s: %q, want the write refused with EOPNOTSUPP", dev, line)
		}
		if !strings.Contains(res, "netoops: "+dev+": cannot send through it: stacked or virtual") {
			t.Errorf("the kernel log does not say why %s was refused:\n%s", dev, res)
		}
	}
	if !strings.Contains(res, "target1=[]") || !strings.Contains(res, "target0 eth0 active") || strings.Contains(res, "target1 ") {
		t.Errorf("configuration after the refusals:\n%s", res)
	}
	log := s.checkDump(ev, "panic", s.upload("before"), vm.ReadConsole(), "stacked", 20, "Kernel panic - not syncing")
	s.note("bond0 (active-backup) and eth0.5 (802.1Q) refused with EOPNOTSUPP; %d-byte dump through eth0", len(log))
}

// TestDownDevice: the target's device is unregistered (driver unbound),
// registered again while down: netoops parks the target, does not bring
// the device up, and resumes when the admin does.
func TestDownDevice(t *testing.T) {
	s := begin(t, "down-device")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(setTarget+`
pci=$(basename "$(readlink /sys/class/net/eth0/device)")
drv=$(basename "$(readlink /sys/class/net/eth0/device/driver)")
echo "$pci" > /sys/bus/pci/drivers/$drv/unbind || fail "unbind $pci from $drv"
sleep 1
echo "unbound: $(cat $P/state)" > /tmp/results
echo "$pci" > /sys/bus/pci/drivers/$drv/bind || fail "bind $pci to $drv"
sleep 1
[ -e /sys/class/net/eth0 ] || fail "eth0 did not come back"
echo "rebound: $(cat $P/state)" >> /tmp/results
sleep 3
echo "flags: $(cat /sys/class/net/eth0/flags)" >> /tmp/results
echo "still: $(cat $P/state)" >> /tmp/results
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
i=0; while [ "$(cat /sys/class/net/eth0/carrier)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ping -c 1 -W 2 10.0.2.2 > /dev/null
echo "up: $(cat $P/state)" >> /tmp/results
upload results /tmp/results
known 20 down
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0]), "P": "/proc/sys/kernel/netoops"}})
	ev, _ := s.panicDump(cat, 150*time.Second)
	s.waitExit(vm)
	res := string(s.upload("results"))
	field := func(key string) string {
		for _, l := range strings.Split(res, "\n") {
			if strings.HasPrefix(l, key+": ") {
				return strings.TrimPrefix(l, key+": ")
			}
		}
		return ""
	}
	for key, want := range map[string]string{"unbound": "target0 eth0 parked", "rebound": "target0 eth0 down", "still": "target0 eth0 down", "up": "target0 eth0 active"} {
		if got := field(key); got != want {
			t.Errorf("state %s: %q, want %q", key, got, want)
		}
	}
	flags, err := strconv.ParseUint(strings.TrimPrefix(field("flags"), "0x"), 16, 32)
	if err != nil || flags&1 != 0 {
		t.Errorf("eth0 flags %q after it came back: netoops must not bring it up (IFF_UP)", field("flags"))
	}
	log := s.checkDump(ev, "panic", s.upload("before"), vm.ReadConsole(), "down", 20, "Kernel panic - not syncing")
	s.note("unbind: parked; bind (down): down, flags %s, not opened; ip link set up: active; %d-byte dump", field("flags"), len(log))
}

// TestOopsNoHang: after an oops with panic_on_oops=0 every sysctl file is
// read and written and a test dump sent, without a hang; a second oops
// within 10 s is not dumped (oops storms are rate limited); then a panic
// is dumped.
func TestOopsNoHang(t *testing.T) {
	s := begin(t, "oops-no-hang")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(noHang+setTarget+`
echo 0 > /proc/sys/kernel/panic_on_oops
known 10 first
lkdtm EXCEPTION
mark "E2E-ALIVE-AFTER-OOPS"
exercise
mark "E2E-SECOND-OOPS"
lkdtm EXCEPTION
exercise
known 20 nohang
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	ev, evs := s.panicDump(cat, 200*time.Second, 3)
	s.waitExit(vm)
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason)
	}
	sort.Strings(reasons)
	if got := strings.Join(reasons, " "); got != "oops panic test test" {
		t.Errorf("dumps stored: %s, want one oops (the second is rate limited), two tests and the panic", eventList(evs))
	}
	log := s.checkDump(ev, "panic", s.upload("before"), vm.ReadConsole(), "nohang", 20, "E2E-SECOND-OOPS", "Kernel panic - not syncing")
	s.note("after an oops: every file read and written, tests sent, no hang; dumps %s; %d-byte panic dump", eventList(evs), len(log))
}

// TestFaultInDump: a fault injected inside a test dump (an oops while it
// holds eth0's transmit lock, fail_netoops in debugfs) kills the writer;
// the configuration, the device and later dumps keep working.
func TestFaultInDump(t *testing.T) {
	s := begin(t, "fault-in-dump")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(noHang+setTarget+`
echo 0 > /proc/sys/kernel/panic_on_oops
F=/sys/kernel/debug/fail_netoops
[ -d $F ] || fail "no $F (CONFIG_NETOOPS_FAULT_INJECTION)"
echo 1 > $F/times
echo 100 > $F/probability
sh -c "echo 1 > $P/test"
mark "E2E-AFTER-FAULT rc=$?"
dmesg | grep -q "FAULT_INJECTION: forcing a failure" || fail "the fault was not injected"
dmesg | grep -q "RIP: 0010:netoops_" || fail "the injected fault did not oops inside netoops"
exercise
ping -c 1 -W 5 10.0.2.2 > /dev/null || fail "eth0 does not send after the fault"
known 20 fault
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	// The test dump the fault cut short is stored partial only after
	// the catcher's --idle; the one after it and the panic come first.
	ev, evs := s.panicDump(cat, 200*time.Second, 1)
	s.waitExit(vm)
	console := vm.ReadConsole()
	if !strings.Contains(console, "E2E-AFTER-FAULT") {
		t.Fatal("the guest did not go on after the fault")
	}
	tests := 0
	for _, e := range evs {
		if e.Reason == "test" && e.Complete {
			tests++
		}
	}
	if tests != 1 {
		t.Errorf("dumps stored %s: want the test after the fault complete", eventList(evs))
	}
	log := s.checkDump(ev, "panic", s.upload("before"), console, "fault", 20, "Kernel panic - not syncing")
	s.note("oops inside the dump holding eth0's transmit lock: config, test dump, ping and %d-byte panic dump fine", len(log))
}

var lastDumpRE = regexp.MustCompile(`last_dump_us=(\d+) bytes=(\d+)`)

// TestDumpTime measures last_dump_us for a test dump of a 1 MiB log with
// copies=3 (docs/performance.md), three times.
func TestDumpTime(t *testing.T) {
	s := begin(t, "dump-time")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	const n = 12000
	vm := s.boot(setTarget+largeLog("time", n)+`
echo 3 > $P/copies
for r in 1 2 3; do
	echo 1 > $P/test || fail "test dump $r failed"
	echo "last_dump_us=$(cat $P/last_dump_us) bytes=$(dmesg -r | wc -c)" >> /tmp/results
done
cat $P/tx_errors >> /tmp/results
upload results /tmp/results
`, guestOpts{cmdline: "log_buf_len=1M loglevel=6", quiet: true, timeout: 300 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(ports[0]), "P": "/proc/sys/kernel/netoops"}})
	evs := s.events(cat, 3, 240*time.Second)
	s.waitExit(vm)
	res := string(s.upload("results"))
	var us []int
	for _, m := range lastDumpRE.FindAllStringSubmatch(res, -1) {
		v, _ := strconv.Atoi(m[1])
		us = append(us, v)
	}
	if len(us) != 3 {
		t.Fatalf("results: %q", res)
	}
	for _, e := range evs {
		if !e.Complete {
			t.Errorf("test dump %d incomplete: %d bytes missing", e.DumpSeq, e.MissingBytes)
		}
	}
	sorted := append([]int(nil), us...)
	sort.Ints(sorted)
	kernel := os.Getenv("NETOOPS_E2E_KERNEL")
	msg := fmt.Sprintf("dump-time %s: test dump of %d KiB, copies=3, %d packets: last_dump_us %v (median %d)",
		kernel, evs[0].TotalLen>>10, evs[0].Packets, us, sorted[1])
	s.note("%s", msg)
	figures.add("%s", msg)
}

// TestSysctlABI: the small ABI promises of issue #10. Writes from another
// network namespace are EPERM for every file; a test dump that no device
// took (carrier off, QMP set_link) is EIO, counted in tx_errors; an IPv4
// and an IPv6 target (different header sizes) get the same piece count.
func TestSysctlABI(t *testing.T) {
	s := begin(t, "sysctl-abi")
	cat4, p4 := s.catcher("catcher4", nil, "127.0.0.1")
	cat6, p6 := s.catcher("catcher6", nil, "::1")
	vm := s.boot(setTarget+`
run netoopsctl set --add "[fec0::2]:$E2E_PORT6"
: > /tmp/results
for f in enabled copies label log_buf_len reasons target1 test; do
	v=$(cat $P/$f 2>/dev/null); [ $f = test ] && v=1
	out=$(printf '%s\n' "$v" | unshare -n dd of=$P/$f bs=4096 2>&1)
	echo "netns $f: rc=$? $out" >> /tmp/results
done
known 20 abi
mark "E2E-LINK-OFF-PLEASE"
i=0; while [ "$(cat /sys/class/net/eth0/carrier)" != 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
before=$(cat $P/tx_errors)
out=$(echo 1 | dd of=$P/test bs=4096 2>&1)
echo "carrier off test: rc=$? $out" >> /tmp/results
echo "tx_errors: $before -> $(cat $P/tx_errors)" >> /tmp/results
mark "E2E-LINK-ON-PLEASE"
i=0; while [ "$(cat /sys/class/net/eth0/carrier)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
upload results /tmp/results
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{qmp: true, timeout: 150 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(p4[0]), "E2E_PORT6": itoa(p6[0]), "P": "/proc/sys/kernel/netoops"}})
	for _, step := range []struct {
		marker string
		up     bool
	}{{"E2E-LINK-OFF-PLEASE", false}, {"E2E-LINK-ON-PLEASE", true}} {
		if _, err := vm.WaitConsole(s.ctx, step.marker, 120*time.Second); err != nil {
			s.guestFailures(vm)
			t.Fatalf("guest: %v", err)
		}
		if err := vm.SetLink(s.ctx, step.up); err != nil {
			t.Fatal(err)
		}
	}
	ev4, _ := s.panicDump(cat4, 120*time.Second)
	ev6, _ := s.panicDump(cat6, 30*time.Second)
	s.waitExit(vm)
	res := string(s.upload("results"))
	for _, l := range strings.Split(res, "\n") {
		if strings.HasPrefix(l, "netns ") && (strings.Contains(l, "rc=0") || !strings.Contains(l, "Operation not permitted")) {
			t.Errorf("a write from another network namespace: %q, want EPERM", l)
		}
	}
	if strings.Count(res, "netns ") != 7 {
		t.Errorf("results:\n%s", res)
	}
	if !strings.Contains(res, "carrier off test: rc=1") || !strings.Contains(res, "Input/output error") {
		t.Errorf("a test dump without carrier: want EIO, got\n%s", res)
	}
	var b, a int
	if _, err := fmt.Sscanf(res[strings.Index(res, "tx_errors: "):], "tx_errors: %d -> %d", &b, &a); err != nil || a <= b {
		t.Errorf("tx_errors did not count the unsent test dump:\n%s", res)
	}
	if ev4.Packets != ev6.Packets || ev4.TotalLen != ev6.TotalLen {
		t.Errorf("IPv4 target got %d pieces of %d bytes, IPv6 target %d of %d: count must be the same for every target", ev4.Packets, ev4.TotalLen, ev6.Packets, ev6.TotalLen)
	}
	s.checkDump(ev4, "panic", s.upload("before"), vm.ReadConsole(), "abi", 20, "Kernel panic - not syncing")
	s.note("netns writes EPERM (7 files); carrier off: test EIO, tx_errors %d -> %d; IPv4 and IPv6 targets: %d pieces each", b, a, ev4.Packets)
}
