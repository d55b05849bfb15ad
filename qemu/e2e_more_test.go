//go:build e2e

package qemu

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOopsThenPanic: an oops that does not panic (panic_on_oops=0) is
// dumped, the guest goes on, and a second crash is dumped too: two dumps
// of one boot, dump_seq 1 and 2.
func TestOopsThenPanic(t *testing.T) {
	s := begin(t, "oops-then-panic")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(setTarget+`
echo 0 > /proc/sys/kernel/panic_on_oops
cat /proc/sys/kernel/netoops/boot_id > /tmp/boot_id; upload boot_id /tmp/boot_id
known 20 first
snapshot before
mark "E2E-CRASH 1"
lkdtm EXCEPTION
mark "E2E-ALIVE-AFTER-OOPS"
sleep 1
known 10 second
snapshot between
mark "E2E-CRASH 2"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 2, 150*time.Second)
	s.waitExit(vm)
	if len(evs) != 2 {
		t.Fatalf("%d dumps stored, want 2", len(evs))
	}
	bootID := strings.TrimSpace(string(s.upload("boot_id")))
	for i, e := range evs {
		if e.BootID != bootID {
			t.Errorf("dump %d: boot id %s, the guest's is %s", i+1, e.BootID, bootID)
		}
		if e.DumpSeq != uint32(i+1) {
			t.Errorf("dump %d: dump_seq %d", i+1, e.DumpSeq)
		}
	}
	console := vm.ReadConsole()
	oops := s.checkDump(evs[0], "oops", s.upload("before"), console, "first", 20,
		"BUG: kernel NULL pointer dereference", "lkdtm: Performing direct entry EXCEPTION")
	if bytes.Contains(oops, []byte("E2E-ALIVE-AFTER-OOPS")) {
		t.Error("the oops dump holds a line logged after the oops")
	}
	panicLog := s.checkDump(evs[1], "panic", s.upload("between"), console, "second", 10,
		"E2E-ALIVE-AFTER-OOPS", "Kernel panic - not syncing: sysrq triggered crash")
	s.check("oops dump is the start of the panic dump", checkPrefix(panicLog, oops))
	// The oops is the cause of both dumps: the panic dump's first report.
	s.checkTitle(evs[0], "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION")
	s.checkTitle(evs[1], "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION")
	s.note("boot %s: dump 1 %s %d bytes, dump 2 %s %d bytes", bootID[:8], evs[0].Reason, len(oops), evs[1].Reason, len(panicLog))
}

// TestTestDump: netoopsctl test sends the current log with reason test,
// and the guest lives on.
func TestTestDump(t *testing.T) {
	s := begin(t, "test-dump")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(setTarget+`
known 20 test
run netoopsctl test
mark "E2E-ALIVE-AFTER-TEST"
snapshot after
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 1, 120*time.Second)
	s.waitExit(vm)
	console := vm.ReadConsole()
	if !strings.Contains(console, "E2E-ALIVE-AFTER-TEST") {
		t.Error("the guest did not log its marker after the test dump")
	}
	if !strings.Contains(console, "E2E-SCRIPT-END") {
		t.Error("the guest's script did not run to its end")
	}
	log := s.checkDump(evs[0], "test", nil, console, "test", 20)
	// The log the guest read after the test dump goes on from the dump.
	s.check("test dump against the guest's log after it", checkPrefix(s.upload("after"), log))
	s.note("test dump %d bytes, guest alive after it", len(log))
}

// TestLargeLog: a 1 MiB log buffer filled with known lines is captured
// whole. The known lines are logged at debug level so that the serial
// console does not have to print them.
func TestLargeLog(t *testing.T) {
	s := begin(t, "large-log")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	const n = 9000
	vm := s.boot(setTarget+`
i=1
while [ $i -le `+itoa(n)+` ]; do
	echo "<7>E2E-KNOWN large line $i of `+itoa(n)+` abcdefghijklmnopqrstuvwxyz0123456789" > /dev/kmsg
	i=$((i+1))
done
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{cmdline: "log_buf_len=1M loglevel=6", quiet: true, timeout: 240 * time.Second,
		env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	panicAt, err := vm.WaitConsole(s.ctx, "Kernel panic - not syncing", 240*time.Second)
	if err != nil {
		t.Fatalf("no panic: %v", err)
	}
	evs := s.events(cat, 1, 60*time.Second)
	s.waitExit(vm)
	log := s.checkDump(evs[0], "panic", s.upload("before"), "", "large", n, "Kernel panic - not syncing: sysrq triggered crash")
	if len(log) < 700<<10 {
		t.Errorf("dump is %d bytes, want the whole ~800 KiB log", len(log))
	}
	s.note("%d KiB dump, %d known lines whole, %d packets, panic line to stored %v",
		len(log)>>10, CountKnown(log, "large", n), evs[0].Packets, evs[0].Time.Sub(panicAt).Round(time.Millisecond))
}

// TestIPv6: the dump goes to an IPv6 destination: QEMU's user network
// carries the guest's fec0::/64 traffic for fec0::2 to the host's ::1.
func TestIPv6(t *testing.T) {
	s := begin(t, "ipv6")
	cat, ports := s.catcher("catcher", nil, "::1")
	vm := s.boot(`
run netoopsctl set "[fec0::2]:$E2E_PORT"
cat /proc/sys/kernel/netoops/target0 /proc/sys/kernel/netoops/state
cat /proc/sys/kernel/netoops/target0 > /tmp/t0; upload target0 /tmp/t0
known 20 v6
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 1, 120*time.Second)
	s.waitExit(vm)
	t0 := string(s.upload("target0"))
	if !strings.Contains(t0, "dst=fec0::2") {
		t.Errorf("target0 is %q, want an IPv6 target to fec0::2", t0)
	}
	log := s.checkDump(evs[0], "panic", s.upload("before"), vm.ReadConsole(), "v6", 20, "Kernel panic - not syncing: sysrq triggered crash")
	s.note("IPv6 target %s; %d bytes from %s", strings.TrimSpace(t0), len(log), evs[0].Source)
}

// TestTwoTargets: netoopsctl set --add adds a second target; both
// catchers store the same dump.
func TestTwoTargets(t *testing.T) {
	s := begin(t, "two-targets")
	c1, p1 := s.catcher("catcher1", nil, "127.0.0.1")
	c2, p2 := s.catcher("catcher2", nil, "127.0.0.1")
	vm := s.boot(`
run netoopsctl set 10.0.2.2:$E2E_PORT
run netoopsctl set --add 10.0.2.2:$E2E_PORT2
cat /proc/sys/kernel/netoops/target0 /proc/sys/kernel/netoops/target1 /proc/sys/kernel/netoops/state
known 20 two
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(p1[0]), "E2E_PORT2": itoa(p2[0])}})
	e1 := s.events(c1, 1, 120*time.Second)
	e2 := s.events(c2, 1, 30*time.Second)
	s.waitExit(vm)
	console := vm.ReadConsole()
	l1 := s.checkDump(e1[0], "panic", s.upload("before"), console, "two", 20, "Kernel panic - not syncing")
	l2 := s.checkDump(e2[0], "panic", s.upload("before"), console, "two", 20, "Kernel panic - not syncing")
	if !bytes.Equal(l1, l2) || e1[0].BootID != e2[0].BootID || e1[0].DumpSeq != e2[0].DumpSeq {
		t.Errorf("the two catchers stored different dumps: %s/%d %d bytes vs %s/%d %d bytes",
			e1[0].BootID, e1[0].DumpSeq, len(l1), e2[0].BootID, e2[0].DumpSeq, len(l2))
	}
	s.note("both catchers stored the same %d-byte dump", len(l1))
}

// TestFollow: with netoopsctl follow running, the device goes down and
// up and the guest's address and route change; follow rewrites the
// target and the crash afterwards arrives.
func TestFollow(t *testing.T) {
	s := begin(t, "follow")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(setTarget+`
netoopsctl follow --debounce 200ms 10.0.2.2:$E2E_PORT > /tmp/follow.log 2>&1 &
sleep 2
mark "E2E-LINK-DOWN"
ip link set eth0 down
sleep 2
cat /proc/sys/kernel/netoops/state
mark "E2E-LINK-UP"
ip link set eth0 up
i=0; while [ "$(cat /sys/class/net/eth0/carrier)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip route add default via 10.0.2.2 2>/dev/null
ping -c 1 -W 2 10.0.2.2 > /dev/null
sleep 2
cat /proc/sys/kernel/netoops/state
mark "E2E-ADDR-CHANGE"
ip addr del 10.0.2.15/24 dev eth0
ip addr add 10.0.2.16/24 dev eth0
ip route add default via 10.0.2.2
ping -c 1 -W 2 10.0.2.2 > /dev/null
sleep 3
cat /proc/sys/kernel/netoops/target0 /proc/sys/kernel/netoops/state
cat /proc/sys/kernel/netoops/target0 /proc/sys/kernel/netoops/state > /tmp/t0; upload target0 /tmp/t0
upload follow.log /tmp/follow.log
known 20 follow
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 1, 150*time.Second)
	s.waitExit(vm)
	t0 := string(s.upload("target0"))
	if !strings.Contains(t0, "src=10.0.2.16") || !strings.Contains(t0, "active") {
		t.Errorf("after the changes target0/state is %q, want src=10.0.2.16 and active", t0)
	}
	log := s.checkDump(evs[len(evs)-1], "panic", s.upload("before"), vm.ReadConsole(), "follow", 20, "Kernel panic - not syncing")
	s.note("after link down/up and 10.0.2.15 -> 10.0.2.16: %s; %d-byte dump stored", strings.Join(strings.Fields(strings.Split(t0, "\n")[0]), " "), len(log))
}

// TestRawCapture: the same dump stored three ways, by the UDP listener,
// by catcher capture on the host's loopback, and by catcher read on QEMU's
// pcap of the guest NIC; the three stored logs are identical.
func TestRawCapture(t *testing.T) {
	s := begin(t, "raw-capture")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	capDir := s.dir
	capt, err := StartCatcher(s.ctx, env.catcher, capDir, "capture", catcherCaptureArgs("lo", ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(capt.Stop)
	time.Sleep(500 * time.Millisecond) // the capture socket has no port to wait for
	vm := s.boot(setTarget+`
known 20 raw
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{pcap: true, env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 1, 120*time.Second)
	cevs := s.events(capt, 1, 30*time.Second)
	s.waitExit(vm)
	pcap := filepath.Join(s.dir, "guest-nic.pcap")
	readDir := filepath.Join(s.dir, "read")
	readEvents := filepath.Join(s.dir, "read.events.jsonl")
	out, err := exec.CommandContext(s.ctx, env.catcher, catcherReadArgs(pcap, readDir, readEvents, ports[0])...).CombinedOutput()
	if err != nil {
		t.Fatalf("catcher read: %v\n%s", err, out)
	}
	rc := &Catcher{Name: "read", Events: readEvents, seen: map[string]time.Time{}}
	revs, err := rc.ReadEvents()
	if err != nil || len(revs) == 0 {
		t.Fatalf("catcher read stored nothing: %v\n%s", err, out)
	}
	l1 := s.checkDump(evs[0], "panic", s.upload("before"), vm.ReadConsole(), "raw", 20, "Kernel panic - not syncing")
	l2 := s.readLog(cevs[0])
	l3 := s.readLog(revs[0])
	if !bytes.Equal(l1, l2) || !bytes.Equal(l1, l3) {
		t.Errorf("stored logs differ: listen %d bytes, capture %d bytes, read %d bytes", len(l1), len(l2), len(l3))
	}
	for _, e := range []Event{cevs[0], revs[0]} {
		if e.BootID != evs[0].BootID || e.DumpSeq != evs[0].DumpSeq || !e.Complete {
			t.Errorf("%s stored %s/%d complete=%v, listen stored %s/%d", e.Source, e.BootID, e.DumpSeq, e.Complete, evs[0].BootID, evs[0].DumpSeq)
		}
	}
	s.note("listen, capture on lo and read of the QEMU pcap stored the same %d bytes", len(l1))
}

// TestBadConfig: garbage written to every netoops sysctl file is refused,
// the target in force stays, and a crash afterwards still arrives.
func TestBadConfig(t *testing.T) {
	s := begin(t, "bad-config")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(setTarget+`
D=/proc/sys/kernel/netoops
snap() { for f in enabled reasons copies label target0 target1 target2 target3; do printf '%s=' $f; cat $D/$f 2>&1; echo; done; }
snap > /tmp/cfg-before
# try FILE VALUE: the write must fail
try() {
	if printf '%b' "$2" | dd of="$D/$1" bs=4096 2>/dev/null; then
		mark "E2E-FAIL: $1 accepted garbage '$2'"
	else
		echo "refused: $1 '$2'"
	fi
}
L=dev=eth0
OK="src=10.0.2.15 dst=10.0.2.2 mac=52:55:0a:00:02:02"
for v in 2 yes -1 '1 1' '1\n1\n' 'garbage'; do try enabled "$v"; done
for v in bogus 'panic bogus' '\n' 'oops,panic' 'panic\npanic\n'; do try reasons "$v"; done
for v in 0 17 abc -1 '3 3' 99999999999999999999; do try copies "$v"; done
for v in 'a\001b' 'two\nlines' "$(printf '%065d' 0)" 'tab\there\177'; do try label "$v"; done
for f in target0 target1 target2 target3; do
	for v in garbage "$L" "dev=nosuch0 $OK" "dev=eth0 src=10.0.2.15 dst=fec0::2 mac=52:55:0a:00:02:02" \
		"$L $OK mac=52:55:0a:00:02:02" "$L src=10.0.2.15 dst=10.0.2.2 mac=01:00:5e:00:00:01" \
		"$L src=10.0.2.15 dst=10.0.2.2 mac=00:00:00:00:00:00" "$L $OK dport=70000" "$L $OK sport=0" \
		"$L $OK bogus=1" "$L $OK\nmore" "$L src=10.0.2.300 dst=10.0.2.2 mac=52:55:0a:00:02:02" \
		"dev=eth0,src=10.0.2.15"; do
		try $f "$v"
	done
done
for v in 2 garbage; do try test "$v"; done
for f in $(ls $D); do
	case $f in enabled|reasons|copies|label|target[0-3]|test) ;;
	*) try $f garbage ;;
	esac
done
snap > /tmp/cfg-after
upload cfg-before /tmp/cfg-before
upload cfg-after /tmp/cfg-after
cat $D/state > /tmp/state; upload state /tmp/state
cmp /tmp/cfg-before /tmp/cfg-after || mark "E2E-FAIL: the configuration changed"
known 20 bad
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0])}})
	evs := s.events(cat, 1, 150*time.Second)
	s.waitExit(vm)
	before, after := s.upload("cfg-before"), s.upload("cfg-after")
	if !bytes.Equal(before, after) {
		t.Errorf("configuration changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if st := string(s.upload("state")); !strings.Contains(st, "target0") || !strings.Contains(st, "active") {
		t.Errorf("state after the garbage: %q", st)
	}
	gl, _ := os.ReadFile(vm.GuestLog)
	refused := strings.Count(string(gl), "refused: ")
	log := s.checkDump(evs[0], "panic", s.upload("before"), vm.ReadConsole(), "bad", 20, "Kernel panic - not syncing")
	s.note("%d garbage writes refused, config unchanged, %d-byte dump stored after", refused, len(log))
}

// catcherCaptureArgs and catcherReadArgs are the catcher command lines for
// raw capture and pcap reading (docs/catcher.md).
func catcherCaptureArgs(iface string, port int) []string {
	return []string{"capture", "--iface", iface, "--port", itoa(port), "--idle", "2s"}
}

func catcherReadArgs(pcap, dir, events string, port int) []string {
	return []string{"read", "--port", itoa(port), "--idle", "2s", "--dir", dir, "--events", events, pcap}
}

var _ = fmt.Sprint
