package qemu

import (
	"strings"
	"testing"
)

// A console with a report of each kind, some naming netoops and some the
// kernel's own, in the formats 7.2's debug kernel prints them.
const splatConsole = `[    1.0] e2e: init
[    2.0] ======================================================
[    2.0] WARNING: possible circular locking dependency detected
[    2.0] 7.2.13 #5 Not tainted
[    2.0] ------------------------------------------------------
[    2.0] sh/77 is trying to acquire lock:
[    2.0] ffffffff82a0 (console_owner){-...}-{0:0}, at: console_flush_all+0x1/0x2
[    2.0] the existing dependency chain (in reverse order) is:
[    2.0]        lock_acquire+0x1/0x2
[    2.0]        _raw_spin_lock_irqsave+0x1/0x2
[    2.0] stack backtrace:
[    2.0] Call Trace:
[    2.0]  <TASK>
[    2.0]  dump_stack_lvl+0x1/0x2
[    2.0]  vprintk_emit+0x1/0x2
[    2.0]  </TASK>
[    2.05] netoops: panic takes over from the test dump of CPU 1
[    2.1] BUG: kernel NULL pointer dereference, address: 0000000000000000
[    2.1] RIP: 0010:netoops_fault+0x1/0x2
[    2.2] WARNING: CPU: 0 PID: 1 at net/core/skbuff.c:123 skb_put+0x1/0x2
[    2.2] Call Trace:
[    2.2]  <TASK>
[    2.2]  netoops_build_frame+0x10/0x80
[    2.2]  </TASK>
[    2.2] ---[ end trace 0000000000000000 ]---
[    2.3] WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:100 lkdtm_WARNING+0x1/0x2
[    2.4] WARNING: drivers/net/netoops.c:700 at netoops_build_frame+0x1/0x2, CPU#0: sh/1
[    2.4] ---[ end trace 0000000000000000 ]---
[    2.5] BUG: sleeping function called from invalid context at kernel/sched/core.c:1
[    2.5] Call Trace:
[    2.5]  <TASK>
[    2.5]  __might_sleep+0x1/0x2
[    2.5]  netoops_sysctl_target+0x1/0x2 [netoops]
[    2.5]  </TASK>
[    2.6] ==================================================================
[    2.6] BUG: KASAN: slab-use-after-free in e1000_clean+0x1/0x2
[    2.6] Call Trace:
[    2.6]  <TASK>
[    2.6]  e1000_clean+0x1/0x2
[    2.6]  </TASK>
[    2.6] Freed by task 1:
[    2.6]  kfree_skb_reason+0x1/0x2
[    2.6]  netoops_put_skbs.isra.0+0x1/0x2
[    2.6] ==================================================================
[    2.65] BUG: KASAN: null-ptr-deref in lkdtm_EXCEPTION+0xf/0x1a
[    2.66] WARNING: net/core/skbuff.c:1529 at napi_consume_skb+0x35/0xc2, CPU#0: pr/netcon0/41
[    2.66] Call Trace:
[    2.66]  <TASK>
[    2.66]  e1000_unmap_and_free_tx_resource+0x9e/0xc6
[    2.66]  netpoll_poll_dev+0x1b7/0x32d
[    2.66]  netconsole_write+0x2c1/0x2f1
[    2.66]  </TASK>
[    2.66] ---[ end trace 0000000000000000 ]---
[    2.67] ================================
[    2.67] WARNING: inconsistent lock state
[    2.67] --------------------------------
[    2.67] inconsistent {IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W} usage.
[    2.67] pr/netcon0/41 [HC0[0]:SC0[0]:HE1:SE1] takes:
[    2.67] {IN-SOFTIRQ-W} state was registered at:
[    2.67]   lock_acquire+0x1/0x2
[    2.67]   net_rx_action+0x1/0x2
[    2.67] stack backtrace:
[    2.67] Call Trace:
[    2.67]  <TASK>
[    2.67]  netpoll_send_skb+0x1/0x2
[    2.67]  </TASK>
[    2.68] E2E-MARK netoops_like_text+0x1/0x2 printed by the guest after the report
[    2.69] ================================
[    2.69] WARNING: inconsistent lock state
[    2.69] inconsistent {IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W} usage.
[    2.69] sh/1 [HC0[0]:SC0[0]:HE1:SE1] takes:
[    2.69] {SOFTIRQ-ON-W} state was registered at:
[    2.69]   lock_acquire+0x1/0x2
[    2.69]   netoops_xmit_queue+0x1/0x2
[    2.69]   netoops_test_write+0x1/0x2
[    2.69] stack backtrace:
[    2.69] Call Trace:
[    2.69]  <IRQ>
[    2.69]  net_tx_action+0x1/0x2
[    2.69]  </IRQ>
[    2.69]  <TASK>
[    2.69]  do_softirq+0x1/0x2
[    2.69]  </TASK>
[    2.7] Kernel panic - not syncing: sysrq triggered crash
`

func TestSplats(t *testing.T) {
	type want struct {
		line    string
		netoops bool
		lines   int
	}
	wants := []want{
		{"[    2.0] WARNING: possible circular locking dependency detected", false, 14},
		{"[    2.2] WARNING: CPU: 0 PID: 1 at net/core/skbuff.c:123 skb_put+0x1/0x2", true, 5},
		{"[    2.4] WARNING: drivers/net/netoops.c:700 at netoops_build_frame+0x1/0x2, CPU#0: sh/1", true, 2},
		{"[    2.5] BUG: sleeping function called from invalid context at kernel/sched/core.c:1", true, 6},
		{"[    2.6] BUG: KASAN: slab-use-after-free in e1000_clean+0x1/0x2", true, 9},
		{"[    2.66] WARNING: net/core/skbuff.c:1529 at napi_consume_skb+0x35/0xc2, CPU#0: pr/netcon0/41", false, 7},
		{"[    2.67] WARNING: inconsistent lock state", false, 12},
		{"[    2.69] WARNING: inconsistent lock state", true, 15},
	}
	got := Splats(splatConsole)
	if len(got) != len(wants) {
		for _, sp := range got {
			t.Logf("got %q (netoops %v, %d lines)", sp.Line, sp.Netoops, len(sp.Lines))
		}
		t.Fatalf("Splats found %d reports, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		sp := got[i]
		if sp.Line != w.line || sp.Netoops != w.netoops || len(sp.Lines) != w.lines {
			t.Errorf("report %d: %q netoops=%v, %d lines; want %q netoops=%v, %d lines\n%s",
				i, sp.Line, sp.Netoops, len(sp.Lines), w.line, w.netoops, w.lines, strings.Join(sp.Lines, "\n"))
		}
		if lockdep := i == 0 || i >= 6; sp.Lockdep() != lockdep {
			t.Errorf("report %d: Lockdep() %v, want %v", i, sp.Lockdep(), lockdep)
		}
		if sp.Lines[0] != sp.Line {
			t.Errorf("report %d: first of its lines %q, want its first line", i, sp.Lines[0])
		}
	}
}

// A report the guest died in has no end: it runs to the end of the
// console, or maxSplatLines.
func TestSplatsUnended(t *testing.T) {
	console := "[ 1.0] BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2\n" +
		strings.Repeat("[ 1.0] x\n", 2*maxSplatLines) + "[ 1.0] netoops_send+0x1/0x2\n"
	got := Splats(console)
	if len(got) != 1 || len(got[0].Lines) != maxSplatLines || got[0].Netoops {
		t.Fatalf("Splats: %d reports; want 1 of %d lines, not naming netoops", len(got), maxSplatLines)
	}
}
