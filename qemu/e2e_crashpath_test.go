//go:build e2e

package qemu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	// The panicking CPU took over from CPU 1's test dump (review S12).
	log := s.checkDump(ev, "panic", s.upload("before"), "", "smp", n, "Kernel panic - not syncing: sysrq triggered crash",
		"netoops: panic takes over from the test dump of CPU 1")
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
taskset 2 sh -c 'i=1; while :; do echo "<4>E2E-FLOOD line $i through netconsole" > /dev/kmsg; i=$((i+1)); done' &
sleep 1
mark "E2E-CRASH during the flood"
taskset 1 sh -c 'echo c > /proc/sysrq-trigger'
sleep 60
fail "no panic"
`, guestOpts{cmdline: "log_buf_len=1M " + netconsoleArg(nc.Addr().Port), smp: 2, cpu: smpCPU, timeout: 200 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	panicAt, err := vm.WaitConsole(s.ctx, "Kernel panic - not syncing", 180*time.Second)
	if err != nil {
		s.guestFailures(vm)
		t.Fatalf("no panic: %v", err)
	}
	ev, _ := s.panicDump(cat, 120*time.Second)
	s.waitExit(vm)
	// netconsole was sending the flood right up to the panic (review S12):
	// its datagrams kept arriving until the host saw the panic line.
	var late int
	msgs, arrivals := nc.Messages(), nc.Arrivals()
	for i, m := range msgs {
		if strings.Contains(string(m), "E2E-FLOOD line") && arrivals[i].After(panicAt.Add(-time.Second)) && arrivals[i].Before(panicAt.Add(100*time.Millisecond)) {
			late++
		}
	}
	if late == 0 {
		t.Errorf("no netconsole flood datagram arrived in the second before the panic: netconsole was not busy at the crash")
	}
	console := vm.ReadConsole()
	if strings.Contains(console, "E2E-NO-NETCONSOLE") {
		t.Fatalf("netconsole did not start in the guest (see %s)", vm.Console)
	}
	log := s.checkDump(ev, "panic", s.upload("before"), "", "busy", 20, "Kernel panic - not syncing: sysrq triggered crash")
	flood := strings.Count(string(log), "E2E-FLOOD line")
	if flood == 0 {
		t.Errorf("the panic dump holds no flood line")
	}
	s.note("netconsole flooding eth0 from CPU 1 (%d of its datagrams arrived, %d in the second before the panic): panic dump %d bytes complete, %d flood lines in it",
		len(msgs), late, len(log), flood)
}

// resultLine returns the line of res that starts with key.
func resultLine(res, key string) string {
	for _, l := range strings.Split(res, "\n") {
		if strings.HasPrefix(l, key) {
			return l
		}
	}
	return ""
}

// TestStackedBond (review S11, S12): a target on an active-backup bond over
// the guest NIC (and a second one, on its own user network). eth0's own
// target goes down when eth0 is enslaved (NETDEV_CHANGEUPPER); naming the
// slave is EBUSY; naming bond0 sends through the active slave, and after a
// failover through the new one: the test dump before it leaves through
// eth0, the test dump and the panic dump after it through eth1 (QEMU's
// captures of both NICs count them). A tap device (LLTX, no shared socket
// buffers) is refused with EOPNOTSUPP.
func TestStackedBond(t *testing.T) {
	s := begin(t, "stacked-bond")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	pcap1 := s.dir + "/eth1.pcap"
	vm := s.boot(setTarget+`
: > /tmp/results
try() { # try NAME TARGET-LINE: write it to target1, record the result
	out=$(printf '%s\n' "$2" | dd of=$P/target1 bs=4096 2>&1)
	echo "$1: rc=$? $out" >> /tmp/results
}
tunctl -t tap0 > /dev/null || fail "tunctl"
ip link set tap0 up
try tap0 "dev=tap0 src=10.0.2.15 dst=10.0.2.2 mac=52:55:0a:00:02:02"
[ -e /sys/class/net/bond0 ] || echo +bond0 > /sys/class/net/bonding_masters || fail "no bonding"
echo active-backup > /sys/class/net/bond0/bonding/mode
echo 100 > /sys/class/net/bond0/bonding/miimon
ip addr flush dev eth0
ip link set eth0 down
ip link set eth1 down
echo +eth0 > /sys/class/net/bond0/bonding/slaves || fail "enslave eth0"
echo +eth1 > /sys/class/net/bond0/bonding/slaves || fail "enslave eth1"
echo "enslaved: $(cat $P/state)" >> /tmp/results
ip link set bond0 up
ip addr add 10.0.2.15/24 dev bond0
ip route add default via 10.0.2.2
i=0; while [ "$(cat /sys/class/net/bond0/carrier)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
# The bond picks whichever slave had link first: start on eth0.
# (eth0's link comes back up to 2 s after it is enslaved: until then the
# bond refuses it)
i=0; while [ "$(cat /sys/class/net/bond0/bonding/active_slave)" != eth0 ] && [ $i -lt 100 ]; do
	echo eth0 > /sys/class/net/bond0/bonding/active_slave 2>/dev/null; sleep 0.1; i=$((i+1))
done
[ "$(cat /sys/class/net/bond0/bonding/active_slave)" = eth0 ] || fail "eth0 never became bond0's active slave"
ping -c 1 -W 2 10.0.2.2 > /dev/null || echo "e2e: no ping through bond0"
try slave "dev=eth0 src=10.0.2.15 dst=10.0.2.2 mac=52:55:0a:00:02:02"
run netoopsctl set 10.0.2.2:$E2E_PORT
echo "bond: $(cat $P/target0) $(cat $P/state) active=$(cat /sys/class/net/bond0/bonding/active_slave)" >> /tmp/results
run netoopsctl test
echo "sent1: $(cat $P/packets_sent)" >> /tmp/results
echo eth1 > /sys/class/net/bond0/bonding/active_slave
sleep 1
echo "failover: $(cat $P/state) active=$(cat /sys/class/net/bond0/bonding/active_slave)" >> /tmp/results
run netoopsctl test
echo "sent2: $(cat $P/packets_sent)" >> /tmp/results
dmesg | grep "netoops" >> /tmp/results
upload results /tmp/results
known 20 bond
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{pcap: true, timeout: 150 * time.Second, nics: []NIC{{Netdev: "user,net=10.0.2.0/24,ipv4=on,ipv6=off", Pcap: pcap1}},
		env: map[string]string{"E2E_PORT": itoa(ports[0]), "P": "/proc/sys/kernel/netoops"}})
	ev, evs := s.panicDump(cat, 120*time.Second)
	s.waitExit(vm)
	res := string(s.upload("results"))
	for key, want := range map[string]string{
		"tap0:":     "Operation not supported",
		"enslaved:": "target0 eth0 down",
		"slave:":    "Device or resource busy",
		"bond:":     "dev=bond0",
		"failover:": "target0 bond0 active active=eth1",
	} {
		if l := resultLine(res, key); !strings.Contains(l, want) || strings.Contains(l, "rc=0") {
			t.Errorf("%s %q, want %q", key, l, want)
		}
	}
	if l := resultLine(res, "bond:"); !strings.Contains(l, "target0 bond0 active active=eth0") {
		t.Errorf("target on bond0: %q", l)
	}
	for _, want := range []string{"tap0: netoops: cannot send through it: transmits without a queue lock",
		"eth0: netoops: cannot send through it: enslaved to another device"} {
		if !strings.Contains(res, want) {
			t.Errorf("the kernel log lacks %q:\n%s", want, res)
		}
	}
	tests := eventsFor(evs, "test")
	if len(tests) != 2 || !tests[0].Complete || !tests[1].Complete {
		t.Fatalf("test dumps stored: %s, want two complete", eventList(evs))
	}
	var sent1, sent2 int
	fmt.Sscanf(resultLine(res, "sent1:"), "sent1: %d", &sent1)
	fmt.Sscanf(resultLine(res, "sent2:"), "sent2: %d", &sent2)
	n0 := countPcapDumpPackets(s.dir + "/guest-nic.pcap")
	n1 := countPcapDumpPackets(pcap1)
	// The catcher's packets less its duplicates are the dump's pieces;
	// the devices sent each copies times (netoops's default 3).
	const copies = 3
	if want1 := sent2 - sent1 + copies*int(ev.Packets-ev.Duplicates); n0 != sent1 || n1 != want1 {
		t.Errorf("packets through eth0 %d (want the first test dump's %d), through eth1 %d (want %d)", n0, sent1, n1, want1)
	}
	log := s.checkDump(ev, "panic", s.upload("before"), vm.ReadConsole(), "bond", 20, "Kernel panic - not syncing")
	s.note("bond0 active-backup: test dump through eth0 (%d packets), failover, test and %d-byte panic dump through eth1 (%d); slave EBUSY, tap0 EOPNOTSUPP", n0, len(log), n1)
}

// TestStackedVLAN (review S11): targets on an 802.1Q VLAN device over a
// NIC (eth1.5) and on a VLAN device over an active-backup bond (bond1.7
// over eth2). netoops sends through the real device (the bond's slave)
// with the tag built into the frame. QEMU records each NIC's frames
// (filter-dump); neither QEMU's user network nor this host's kernel (no
// 802.1Q) carries tagged frames further, so the targets name the next
// hop's MAC themselves, and the host strips each VLAN's tag from its NIC's
// capture and gives it to catcher read: every netoops frame must carry
// its VLAN's tag, and each VLAN's panic dump must be complete.
func TestStackedVLAN(t *testing.T) {
	s := begin(t, "stacked-vlan")
	type side struct {
		nic, pcap string
		vid, port int
	}
	sides := []side{{"eth1", filepath.Join(s.dir, "eth1.pcap"), 5, 7005}, {"eth2", filepath.Join(s.dir, "eth2.pcap"), 7, 7007}}
	vm := s.boot(`
ip link set eth1 up
ip link add link eth1 name eth1.5 type vlan id 5 2>/dev/null || vconfig add eth1 5 || fail "no VLAN"
ip link set eth1.5 up
ip addr add 10.77.5.15/24 dev eth1.5
[ -e /sys/class/net/bond1 ] || echo +bond1 > /sys/class/net/bonding_masters || fail "no bond1"
echo active-backup > /sys/class/net/bond1/bonding/mode
echo 100 > /sys/class/net/bond1/bonding/miimon
echo +eth2 > /sys/class/net/bond1/bonding/slaves || fail "enslave eth2"
ip link set bond1 up
ip link add link bond1 name bond1.7 type vlan id 7 2>/dev/null || vconfig add bond1 7 || fail "no VLAN on bond1"
ip link set bond1.7 up
ip addr add 10.78.7.15/24 dev bond1.7
i=0; while [ "$(cat /sys/class/net/bond1.7/carrier)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
echo "dev=eth1.5 src=10.77.5.15 dst=10.77.5.1 mac=02:00:00:00:05:01 sport=6667 dport=7005" > $P/target0 || fail "target on eth1.5"
echo "dev=bond1.7 src=10.78.7.15 dst=10.78.7.1 mac=02:00:00:00:07:01 sport=6667 dport=7007" > $P/target1 || fail "target on bond1.7"
cat $P/target0 $P/target1 $P/state > /tmp/results
upload results /tmp/results
known 20 vlan
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{timeout: 150 * time.Second, nics: []NIC{
		{Netdev: "user,net=10.0.4.0/24,ipv4=on,ipv6=off", Pcap: sides[0].pcap},
		{Netdev: "user,net=10.0.5.0/24,ipv4=on,ipv6=off", Pcap: sides[1].pcap}},
		env: map[string]string{"P": "/proc/sys/kernel/netoops"}})
	s.waitExit(vm)
	res := string(s.upload("results"))
	for _, want := range []string{"dev=eth1.5 ", "dev=bond1.7 ", "target0 eth1.5 active", "target1 bond1.7 active"} {
		if !strings.Contains(res, want) {
			t.Errorf("configuration lacks %q:\n%s", want, res)
		}
	}
	console := vm.ReadConsole()
	var notes []string
	for _, sd := range sides {
		if n := countPcapDumpPackets(sd.pcap); n != 0 {
			t.Errorf("%s: %d netoops frames without a VLAN tag", sd.nic, n)
		}
		untagged := strings.TrimSuffix(sd.pcap, ".pcap") + "-untagged.pcap"
		tagged, others, err := untagPcap(sd.pcap, untagged, sd.vid)
		if err != nil {
			t.Fatal(err)
		}
		if tagged == 0 || others != 0 {
			t.Errorf("%s: %d frames tagged with VLAN %d, %d with another VLAN", sd.nic, tagged, sd.vid, others)
		}
		name := fmt.Sprintf("read-vlan%d", sd.vid)
		dir, events := filepath.Join(s.dir, name), filepath.Join(s.dir, name+".events.jsonl")
		out, err := exec.CommandContext(s.ctx, env.catcher, catcherReadArgs(untagged, dir, events, sd.port)...).CombinedOutput()
		if err != nil {
			t.Fatalf("catcher read %s: %v\n%s", untagged, err, out)
		}
		rc := &Catcher{Name: name, Events: events, seen: map[string]time.Time{}}
		evs, err := rc.ReadEvents()
		if err != nil {
			t.Fatal(err)
		}
		var ev *Event
		for i := range evs {
			if evs[i].Reason == "panic" && evs[i].Complete {
				ev = &evs[i]
			}
		}
		if ev == nil {
			t.Fatalf("VLAN %d: no complete panic dump in %s (events %s)\n%s", sd.vid, untagged, eventList(evs), out)
		}
		log := s.checkDump(*ev, "panic", s.upload("before"), console, "vlan", 20, "Kernel panic - not syncing")
		notes = append(notes, fmt.Sprintf("VLAN %d on %s: %d tagged frames, %d-byte panic dump", sd.vid, sd.nic, tagged, len(log)))
	}
	s.note("%s (VLAN 7 through an active-backup bond)", strings.Join(notes, "; "))
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
	vm := s.boot(noHang+armFault+setTarget+`
echo 0 > /proc/sys/kernel/panic_on_oops
faults() { dmesg | grep -c "FAULT_INJECTION: forcing a failure"; }
# 1. an oops inside a test dump, holding eth0's transmit lock
arm xmit 1 0
sh -c "echo 1 > $P/test"
mark "E2E-AFTER-FAULT rc=$?"
[ "$(faults)" = 1 ] || fail "the fault was not injected"
dmesg | grep -q "RIP: 0010:netoops_" || fail "the injected fault did not oops inside netoops"
exercise
ping -c 1 -W 5 10.0.2.2 > /dev/null || fail "eth0 does not send after the fault"
# 2. an oops inside a test dump holding eth0's NAPI instance: with
# transmit interrupts delayed (up to 67 ms) and throttled, the 64 buffers
# of a 16-copy dump run out before the driver reaps them, so the dump polls
echo 16 > $P/copies
arm poll 1 0
sh -c "echo 1 > $P/test"
mark "E2E-AFTER-POLL-FAULT rc=$?"
[ "$(faults)" = 2 ] || fail "the fault in NAPI poll was not injected"
echo 3 > $P/copies
exercise
ping -c 1 -W 5 10.0.2.2 > /dev/null || fail "eth0 does not send after the fault in NAPI poll"
# 3. an oops inside an oops dump
arm xmit 1 0
lkdtm EXCEPTION
mark "E2E-AFTER-OOPS-DUMP-FAULT"
[ "$(faults)" = 3 ] || fail "the fault in the oops dump was not injected"
exercise
ping -c 1 -W 5 10.0.2.2 > /dev/null || fail "eth0 does not send after the fault in the oops dump"
known 20 fault
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{cmdline: "e1000.InterruptThrottleRate=100 e1000.TxIntDelay=65535 e1000.TxAbsIntDelay=65535", timeout: 240 * time.Second, env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	ev, evs := s.panicDump(cat, 220*time.Second, 3)
	s.waitExit(vm)
	console := vm.ReadConsole()
	for _, m := range []string{"E2E-AFTER-FAULT", "E2E-AFTER-POLL-FAULT", "E2E-AFTER-OOPS-DUMP-FAULT"} {
		if !strings.Contains(console, m) {
			t.Fatalf("the guest did not go on after the fault (%s)", m)
		}
	}
	// Dumps in order: 1 the test the first fault ends, 2 exercise's test,
	// 3 the test the fault in NAPI poll ends, 4 exercise's, 5 the oops
	// dump the third fault ends, 6 exercise's, 7 the panic. A faulted dump
	// may have sent a whole copy first; each test after a fault must be
	// complete.
	complete := map[uint32]bool{}
	for _, e := range evs {
		if e.Reason == "test" && e.Complete {
			complete[e.DumpSeq] = true
		}
	}
	if !complete[2] || !complete[4] || !complete[6] || ev.DumpSeq != 7 {
		t.Errorf("dumps stored %s: want the tests after the faults (2, 4, 6) complete and the panic dump 7", eventList(evs))
	}
	log := s.checkDump(ev, "panic", s.upload("before"), console, "fault", 20, "Kernel panic - not syncing")
	s.note("oopses inside a test dump (holding eth0's transmit lock, then its NAPI instance) and inside an oops dump: config, test dumps, ping and %d-byte panic dump fine", len(log))
}

// TestFaultInDriverCall (review SF1): an oops inside the driver call of a
// test dump (fail_netoops_driver: where ndo_start_xmit() runs, bottom
// halves off) counts as one in interrupt context, as driver/netoops.rst's
// Limitations say: the kernel panics ("Fatal exception in interrupt"). The
// oops left eth0's transmit lock taken, since the driver had it (its ring
// may be halfway updated): the panic dump goes out whole through eth1 and
// nothing of it through eth0 (single queue). The driver before the fix
// released the lock when it ended the faulted dump, and the panic dump
// called into eth0's driver again.
func TestFaultInDriverCall(t *testing.T) {
	faultInDriver(t, "fault-in-driver-call", "driver", "transmit")
}

// TestFaultInDriverPoll (review SF1, SF2): the same with the oops inside
// eth0's NAPI poll (fail_netoops_napi, reached with eth0's ring run dry):
// the NAPI instance stays this CPU's, so the panic, on the same CPU, does
// not call into eth0 at all, and its dump goes out whole through eth1.
func TestFaultInDriverPoll(t *testing.T) {
	faultInDriver(t, "fault-in-driver-poll", "napi", "NAPI poll")
}

// faultInDriver: a test dump on eth0 and eth1 oopses at site, inside a
// driver call on eth0 (what names the call in the note).
func faultInDriver(t *testing.T, name, site, what string) {
	s := begin(t, name)
	catA, pa := s.catcher("catcher-eth0", nil, "127.0.0.1")
	catB, pb := s.catcher("catcher-eth1", nil, "127.0.0.1")
	cmdline, copies := "", ""
	if site == "napi" {
		cmdline, copies = ringDry, "echo 16 > $P/copies"
	}
	vm := s.boot(armFault+setupEth1+`
run netoopsctl set 10.0.2.2:$E2E_PORT
run netoopsctl set --add 10.0.3.2:$E2E_PORT2
echo 0 > /proc/sys/kernel/panic_on_oops
`+copies+`
known 20 drvfault
snapshot before
arm `+site+` 1 0
mark "E2E-CRASH"
echo 1 > $P/test
sleep 60
fail "no panic"
`, guestOpts{cmdline: cmdline, nics: []NIC{secondNIC}, env: map[string]string{"E2E_PORT": itoa(pa[0]), "E2E_PORT2": itoa(pb[0])}})
	ev, evs := s.panicDump(catB, 120*time.Second)
	s.waitExit(vm)
	console := vm.ReadConsole()
	if n := strings.Count(console, "FAULT_INJECTION: forcing a failure"); n != 1 {
		t.Errorf("the fault fired %d times, want once", n)
	}
	left := "netoops: fault inside eth0's " + what
	for _, want := range []string{"RIP: 0010:netoops_", left, "Fatal exception in interrupt"} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	log := s.checkDump(ev, "panic", s.upload("before"), console, "drvfault", 20, "Kernel panic - not syncing: Fatal exception in interrupt", left)
	// Let the other catcher see whatever eth0 sent.
	time.Sleep(3 * time.Second)
	aEvs, err := catA.ReadEvents()
	if err != nil {
		t.Fatal(err)
	}
	if p := eventsFor(aEvs, "panic"); len(p) > 0 {
		t.Errorf("the panic dump went out through eth0 (%d packets), whose %s the oops left", p[0].Packets, what)
	}
	s.note("an oops inside a test dump's %s on eth0 panics (in interrupt context); eth0 left alone (dumps %s there), %d-byte panic dump whole through eth1 (dumps %s)",
		what, eventList(aEvs), len(log), eventList(evs))
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
	// The pieces each target got: packets that brought new bytes. How many
	// of the later copies arrived before the catcher took the dump's
	// counters (packets includes them) is the catcher's timing, not the
	// sender's.
	pieces4, pieces6 := ev4.Packets-ev4.Duplicates, ev6.Packets-ev6.Duplicates
	if pieces4 != pieces6 || ev4.TotalLen != ev6.TotalLen {
		t.Errorf("IPv4 target got %d pieces of %d bytes, IPv6 target %d of %d: count must be the same for every target", pieces4, ev4.TotalLen, pieces6, ev6.TotalLen)
	}
	s.checkDump(ev4, "panic", s.upload("before"), vm.ReadConsole(), "abi", 20, "Kernel panic - not syncing")
	s.note("netns writes EPERM (7 files); carrier off: test EIO, tx_errors %d -> %d; IPv4 and IPv6 targets: %d pieces each", b, a, pieces4)
}
