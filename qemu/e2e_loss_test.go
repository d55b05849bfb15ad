//go:build e2e

package qemu

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// lossRate is the share of packets the relay drops at random.
const lossRate = 0.10

// netconsoleSetup checks that netconsole, configured by netconsoleArg on
// the kernel command line (the test kernel has no configfs), is sending.
// It logs E2E-NO-NETCONSOLE when it is not.
const netconsoleSetup = `
nc_setup() {
	if dmesg | grep -q "netconsole: network logging started"; then
		mark "E2E-NETCONSOLE-ON"
	else
		mark "E2E-NO-NETCONSOLE"; return 1
	fi
}
`

// netconsoleArg is the kernel parameter that makes the built-in netconsole
// send to the host's port (through QEMU's user network).
func netconsoleArg(port int) string {
	return fmt.Sprintf("netconsole=6665@10.0.2.15/eth0,%d@10.0.2.2/52:55:0a:00:02:02", port)
}

// lossSetup starts the catcher behind a lossy relay and a netconsole
// collector behind another relay with the same loss.
func lossSetup(s *scenario, seed uint64, name string) (cat *Catcher, relay *Relay, ncRelay *Relay, nc *LineCollector) {
	cat, ports := s.catcher(name, nil, "127.0.0.1")
	relay, err := NewRelay("127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", ports[0]), lossRate, seed)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { relay.Close() })
	nc, err = NewLineCollector("127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { nc.Close() })
	ncRelay, err = NewRelay("127.0.0.1:0", nc.Addr().String(), lossRate, seed+1000)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { ncRelay.Close() })
	return cat, relay, ncRelay, nc
}

// netconsoleLog joins netconsole's datagrams into one log.
func netconsoleLog(nc *LineCollector) []byte {
	var b bytes.Buffer
	for _, m := range nc.Messages() {
		b.Write(m)
		if len(m) > 0 && m[len(m)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// TestLoss: 20 test dumps with copies=3 and 20 with copies=8 through a
// relay that drops 10% of packets at random; counts the dumps stored
// complete, and compares the known lines each dump delivered with what
// netconsole, in the same guest through the same loss, delivered.
func TestLoss(t *testing.T) {
	s := begin(t, "loss")
	cat, relay, ncRelay, nc := lossSetup(s, 1, "catcher")
	const dumps, lines = 20, 50
	vm := s.boot(netconsoleSetup+setTarget+`
nc_setup
for c in 3 8; do
	echo $c > /proc/sys/kernel/netoops/copies
	i=1
	while [ $i -le `+itoa(dumps)+` ]; do
		known `+itoa(lines)+` c$c-$i
		netoopsctl test || echo "test dump $i failed"
		sleep 0.5
		i=$((i+1))
	done
done
sleep 1
`, guestOpts{timeout: 300 * time.Second, cmdline: netconsoleArg(ncRelay.Port()), env: map[string]string{"E2E_PORT": itoa(relay.Port()), "E2E_NCPORT": itoa(ncRelay.Port())}})
	s.waitExit(vm)
	// A dump stored partial and completed by later copies has two events;
	// the last one counts.
	bySeq := map[uint32]Event{}
	evs, _ := cat.WaitEvents(s.ctx, 10*time.Second, func(evs []Event) bool {
		for _, e := range evs {
			bySeq[e.DumpSeq] = e
		}
		return len(bySeq) >= 2*dumps
	})
	ncLog := netconsoleLog(nc)
	hasNC := !strings.Contains(vm.ReadConsole(), "E2E-NO-NETCONSOLE")
	for ci, copies := range []int{3, 8} {
		complete, nlines, ncLines := 0, 0, 0
		for i := 1; i <= dumps; i++ {
			tag := fmt.Sprintf("c%d-%d", copies, i)
			ncLines += CountKnown(ncLog, tag, lines)
			e, ok := bySeq[uint32(ci*dumps+i)]
			if !ok {
				continue
			}
			if e.Complete {
				complete++
			}
			if log, err := e.ReadLog(); err == nil {
				nlines += CountKnown(log, tag, lines)
			}
		}
		total := dumps * lines
		msg := fmt.Sprintf("loss %.0f%%, copies=%d: %d/%d dumps complete; known lines delivered: netoops %d/%d (%.1f%%)",
			lossRate*100, copies, complete, dumps, nlines, total, 100*float64(nlines)/float64(total))
		if hasNC {
			msg += fmt.Sprintf(", netconsole %d/%d (%.1f%%)", ncLines, total, 100*float64(ncLines)/float64(total))
		} else {
			msg += ", netconsole not available in this kernel"
		}
		s.note("%s", msg)
		figures.add("%s", msg)
		if copies == 8 && complete < dumps-1 {
			t.Errorf("copies=8: only %d of %d dumps complete at %.0f%% loss", complete, dumps, lossRate*100)
		}
	}
	if len(bySeq) < 2*dumps-2 {
		t.Errorf("%d dumps stored (%d events), want about %d", len(bySeq), len(evs), 2*dumps)
	}
	s.note("relay: %d of %d netoops packets dropped; %d of %d netconsole packets dropped",
		relay.Dropped.Load(), relay.Received.Load(), ncRelay.Dropped.Load(), ncRelay.Received.Load())
}

// TestNetconsolePanic: netconsole and netoops in one guest, side by side,
// each through a relay dropping 10%; counts how many of the panic's lines
// each delivered, over three panics.
func TestNetconsolePanic(t *testing.T) {
	s := begin(t, "netconsole-panic")
	const runs = 3
	var ref, gotNetoops, gotNC, complete int
	for r := 1; r <= runs; r++ {
		cat, relay, ncRelay, nc := lossSetup(s, uint64(100+r), fmt.Sprintf("catcher%d", r))
		vm := s.boot(netconsoleSetup+setTarget+`
nc_setup || fail "no netconsole"
known 20 nc
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{name: fmt.Sprintf("run%d", r), cmdline: netconsoleArg(ncRelay.Port()), env: map[string]string{"E2E_PORT": itoa(relay.Port()), "E2E_NCPORT": itoa(ncRelay.Port())}})
		s.waitExit(vm)
		if strings.Contains(vm.ReadConsole(), "E2E-NO-NETCONSOLE") {
			s.t.Fatalf("netconsole did not start in the guest (see %s)", vm.Console)
		}
		evs, _ := cat.WaitEvents(s.ctx, 10*time.Second, AtLeast(1))
		panicLines := panicReport(vm.ReadConsole())
		if len(panicLines) < 5 {
			t.Fatalf("run %d: found only %d panic lines on the console", r, len(panicLines))
		}
		ref += len(panicLines)
		gotNC += countLines(panicLines, netconsoleLog(nc))
		if len(evs) > 0 {
			log, _ := evs[len(evs)-1].ReadLog()
			gotNetoops += countLines(panicLines, log)
			if evs[len(evs)-1].Complete {
				complete++
			}
		}
		cat.Stop()
	}
	msg := fmt.Sprintf("loss %.0f%%, %d panics, %d panic lines: netoops (copies=3) delivered %d (%.1f%%, %d/%d dumps complete), netconsole %d (%.1f%%)",
		lossRate*100, runs, ref, gotNetoops, 100*float64(gotNetoops)/float64(ref), complete, runs, gotNC, 100*float64(gotNC)/float64(ref))
	s.note("%s", msg)
	figures.add("%s", msg)
	if gotNetoops < gotNC {
		t.Errorf("netoops delivered fewer panic lines than netconsole")
	}
}

// panicReport returns the messages of the console lines from the crash
// marker to the end of the panic report (before "---[ end Kernel panic").
func panicReport(console string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(strings.ReplaceAll(console, "\r", ""), "\n") {
		t := Text(l)
		switch {
		case strings.Contains(t, "E2E-CRASH"):
			in = true
			continue
		case strings.HasPrefix(t, "---[ end Kernel panic"), strings.HasPrefix(t, "Rebooting in"):
			in = false
		}
		if in && strings.TrimSpace(t) != "" {
			out = append(out, t)
		}
	}
	return out
}

// countLines counts how many of want (a multiset of messages) occur as
// whole lines of log.
func countLines(want []string, log []byte) int {
	have := map[string]int{}
	for _, t := range Texts(log) {
		have[t]++
	}
	n := 0
	for _, w := range want {
		if have[w] > 0 {
			have[w]--
			n++
		}
	}
	return n
}
