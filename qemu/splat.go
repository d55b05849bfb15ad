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
// itself.
var splatRE = regexp.MustCompile(`WARNING: possible (circular|recursive) locking|` +
	`WARNING: possible irq lock inversion|WARNING: inconsistent lock state|` +
	`WARNING: suspicious RCU usage|WARNING: bad unlock balance|WARNING: lock held|` +
	`WARNING: held lock freed|WARNING: bad contention detected|` +
	`BUG: sleeping function called from invalid context|BUG: Invalid wait context|` +
	`BUG: scheduling while atomic|BUG: spinlock|BUG: using smp_processor_id\(\) in preemptible|` +
	`BUG: using __this_cpu_|DEBUG_LOCKS_WARN_ON|BUG: KASAN: |UBSAN: |` +
	`WARNING: CPU: \d+ PID: \d+ at (net|drivers/net)/|WARNING: (net|drivers/net)/\S+:\d+ at |` +
	`rcu: INFO: rcu_\w+ (self-)?detected stall|preempt count underflow`)

// netoopsRE matches what names netoops in a report: one of its functions as
// a stack frame or faulting address ("netoops_send+0x1a/0x2b", built in or
// with " [netoops]" after it as a module), or its source file.
var netoopsRE = regexp.MustCompile(`\bnetoops_\w+(\.\w+)*\+0x[0-9a-f]+/0x[0-9a-f]+|\[netoops\]|drivers/net/netoops\.c`)

// endRE matches the line that ends a report: a warning's end-of-trace
// marker or the end of its (last) call trace; kasanEndRE the closing rule
// of a KASAN report, which has its allocation and free stacks after the
// call trace.
var (
	endRE      = regexp.MustCompile(`---\[ end trace|</TASK>`)
	kasanEndRE = regexp.MustCompile(`={20,}\s*$`)
)

// maxSplatLines bounds a report whose end is lost (the guest died in it).
const maxSplatLines = 400

// A Splat is one report of the debug kernel's checkers.
type Splat struct {
	// Line is the report's first line.
	Line string
	// Lines are all of its lines, Line first, up to the end of its
	// call trace.
	Lines []string
	// Netoops is whether the report names netoops: one of its stack
	// traces (the one that tripped the check, or one lockdep recorded
	// for an earlier use of the lock) runs through netoops, or it is
	// about netoops's source.
	Netoops bool
}

// Splats returns the debug checkers' reports in a console log, each with
// whether it names netoops.
//
// A report that names no netoops function anywhere is the kernel's own:
// such as netconsole's printing thread, whose netpoll poll of e1000 hands
// napi_consume_skb() a budget outside softirq context, or lockdep on the
// printk and console paths a flood of messages drives. Lockdep prints the
// stacks of both uses it finds inconsistent and every link of a circular
// chain, KASAN the access and the allocation and free of the object, and
// the other checkers the stack that tripped them, so netoops taking part
// in what a report is about puts it in that report. (Damage netoops did
// that a later, unrelated path trips over would not: the dumps' byte checks
// and the scenarios' own assertions are what catch that.)
func Splats(console string) []Splat {
	lines := strings.Split(console, "\n")
	var out []Splat
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !splatRE.MatchString(line) || strings.Contains(line, "BUG: KASAN: null-ptr-deref") {
			continue
		}
		sp := Splat{Line: strings.TrimSpace(line), Lines: []string{strings.TrimSpace(line)}}
		sp.Netoops = netoopsRE.MatchString(line)
		end := endRE
		if strings.Contains(line, "BUG: KASAN: ") {
			end = kasanEndRE
		}
		j := i + 1
		for ; j < len(lines) && j-i < maxSplatLines && !splatRE.MatchString(lines[j]); j++ {
			l := strings.TrimRight(lines[j], "\r")
			sp.Lines = append(sp.Lines, l)
			if netoopsRE.MatchString(l) {
				sp.Netoops = true
			}
			if end.MatchString(l) {
				j++
				break
			}
		}
		out = append(out, sp)
		i = j - 1
	}
	return out
}

// lockdepRE matches the first line of a lockdep report.
var lockdepRE = regexp.MustCompile(`WARNING: (possible (circular|recursive) locking|possible irq lock inversion|inconsistent lock state|bad unlock balance|lock held|held lock freed|bad contention)|DEBUG_LOCKS_WARN_ON`)

// Lockdep is whether the report is lockdep's, after which lockdep checks
// nothing more until the next boot.
func (sp Splat) Lockdep() bool { return lockdepRE.MatchString(sp.Line) }
