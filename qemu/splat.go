package qemu

import (
	"regexp"
	"strings"
)

// splatRE matches the first line of a report of the debug kernel's
// checkers (qemu/kernel-debug.config): lockdep, RCU's lockdep checks,
// might_sleep() in atomic context, preemption and spinlock debugging,
// KASAN, UBSAN, DEBUG_NET's warnings (from net/ or drivers/net/, in 6.x's
// "WARNING: CPU: N PID: N at FILE" and 7.x's "WARNING: FILE:LINE at"
// formats) and RCU stalls. Crashes a scenario causes on purpose (an oops,
// a BUG, a panic) are not splats, nor is KASAN's naming of a NULL pointer
// dereference, which is such an oops (LKDTM EXCEPTION, the fault
// injection's write through NULL): an unplanned one fails its scenario by
// itself. Reports from netconsole's printing thread (pr/netcon*: netpoll
// polling e1000, whose transmit clean-up hands napi_consume_skb() a budget
// outside softirq context) are netconsole's, not netoops's.
var splatRE = regexp.MustCompile(`WARNING: possible (circular|recursive) locking|` +
	`WARNING: possible irq lock inversion|WARNING: inconsistent lock state|` +
	`WARNING: suspicious RCU usage|WARNING: bad unlock balance|WARNING: lock held|` +
	`WARNING: held lock freed|WARNING: bad contention detected|` +
	`BUG: sleeping function called from invalid context|BUG: Invalid wait context|` +
	`BUG: scheduling while atomic|BUG: spinlock|BUG: using smp_processor_id\(\) in preemptible|` +
	`BUG: using __this_cpu_|DEBUG_LOCKS_WARN_ON|BUG: KASAN: |UBSAN: |` +
	`WARNING: CPU: \d+ PID: \d+ at (net|drivers/net)/|WARNING: (net|drivers/net)/\S+:\d+ at |` +
	`rcu: INFO: rcu_\w+ (self-)?detected stall|preempt count underflow`)

var netconsoleRE = regexp.MustCompile(`CPU#\d+: pr/netcon`)

// Splats returns the console lines that start a debug checker's report.
func Splats(console string) []string {
	var l []string
	for _, line := range strings.Split(console, "\n") {
		if splatRE.MatchString(line) && !strings.Contains(line, "BUG: KASAN: null-ptr-deref") && !netconsoleRE.MatchString(line) {
			l = append(l, strings.TrimSpace(line))
		}
	}
	return l
}
