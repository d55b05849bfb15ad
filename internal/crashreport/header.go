package crashreport

import "bytes"

// Kind is the class of a crash report.
type Kind string

// The kinds of report Extract recognises.
const (
	KindBUG            Kind = "BUG"             // BUG: <message> (generic)
	KindKernelBUG      Kind = "kernel BUG"      // kernel BUG at file:line! (BUG_ON)
	KindWarning        Kind = "WARNING"         // WARNING: ... (WARN_ON)
	KindNULLPointer    Kind = "NULL pointer"    // BUG: kernel NULL pointer dereference
	KindPageFault      Kind = "page fault"      // BUG: unable to handle page fault
	KindGPF            Kind = "GPF"             // general protection fault
	KindInvalidOpcode  Kind = "invalid opcode"  // invalid opcode (a ud2 with no BUG before it)
	KindDivideError    Kind = "divide error"    // divide error
	KindDoubleFault    Kind = "double fault"    // PANIC: double fault
	KindStackOverflow  Kind = "stack overflow"  // stack guard page was hit
	KindOops           Kind = "Oops"            // any other Oops: <trap>
	KindSoftLockup     Kind = "soft lockup"     // watchdog: BUG: soft lockup
	KindHardLockup     Kind = "hard lockup"     // watchdog: Watchdog detected hard LOCKUP
	KindHungTask       Kind = "hung task"       // INFO: task X blocked for more than N seconds
	KindRCUStall       Kind = "RCU stall"       // rcu: INFO: rcu_sched detected stalls
	KindKASAN          Kind = "KASAN"           // BUG: KASAN: ...
	KindKFENCE         Kind = "KFENCE"          // BUG: KFENCE: ...
	KindUBSAN          Kind = "UBSAN"           // UBSAN: ...
	KindListCorruption Kind = "list corruption" // list_add corruption. ... (CONFIG_DEBUG_LIST)
	KindRefcount       Kind = "refcount"        // refcount_t: overflow; use-after-free.
	KindLockdep        Kind = "lockdep"         // WARNING: possible circular locking dependency detected
	KindStackProtector Kind = "stack-protector" // Kernel panic - not syncing: stack-protector: ...
	KindFortify        Kind = "fortify"         // memcpy: detected buffer overflow (CONFIG_FORTIFY_SOURCE)
	KindPanic          Kind = "panic"           // Kernel panic - not syncing: <message>
)

// header is what a report's first line says.
type header struct {
	kind Kind
	// stem is the title before " in GUILTY"; for panics the whole title.
	stem string
	// fn is a function the header names (WARNING at fn, KASAN in fn), or nil.
	fn []byte
	// noFrame: the title has no " in GUILTY" (panics, workqueue lockup).
	noFrame bool
	// noTrace: the kernel prints no call trace for it.
	noTrace bool
	// follows: a panic that is the consequence of an earlier report
	// (Fatal exception, panic_on_warn, softlockup_panic, ...).
	follows bool
	// die: the x86 die() header ("Oops: invalid opcode: 0000 [#1] SMP"),
	// which belongs to a report that began just before it.
	die bool
	// announces: the message a WARN or BUG prints before its own header
	// (list corruption, refcount_t); the WARNING or kernel BUG after it is
	// part of this report.
	announces bool
	// backtraceAfter: frames before a "stack backtrace:" line are not
	// the report's trace (lockdep's dependency chains).
	backtraceAfter bool
	// accessFrom: take " Read"/" Write" from the "Read of size" line (KASAN).
	accessFrom bool
	// sched: the scheduler's frames are skipped too (scheduling while
	// atomic).
	sched bool
}

// parseHeader recognises the first line of a crash report. It is called
// for every kernel line, so it rejects most on their first bytes.
func parseHeader(t []byte) (header, bool) {
	if len(t) < 4 {
		return header{}, false
	}
	switch t[0] {
	case 'B':
		if bytes.HasPrefix(t, []byte("BUG: ")) {
			return parseBUG(t[5:])
		}
	case 'W':
		if bytes.HasPrefix(t, []byte("WARNING: ")) {
			return parseWARNING(t[9:])
		}
	case 'w':
		if bytes.HasPrefix(t, []byte("watchdog: ")) {
			return parseWatchdog(t[10:])
		}
	case 'N':
		if bytes.HasPrefix(t, []byte("NMI watchdog: ")) {
			return parseWatchdog(t[14:])
		}
	case 'k':
		if bytes.HasPrefix(t, []byte("kernel BUG at ")) {
			if bytes.HasPrefix(t[14:], []byte("lib/list_debug.c")) {
				return header{kind: KindListCorruption, stem: "BUG: corrupted list"}, true
			}
			if bytes.HasPrefix(t[14:], []byte("mm/usercopy.c")) {
				return header{kind: KindKernelBUG, stem: "BUG: bad usercopy"}, true
			}
			return header{kind: KindKernelBUG, stem: "kernel BUG"}, true
		}
	case 'K':
		if bytes.HasPrefix(t, []byte("Kernel panic - not syncing: ")) {
			return parsePanic(t[28:]), true
		}
	case 'O':
		if bytes.HasPrefix(t, []byte("Oops: ")) {
			if h, ok := parseDie(t[6:], true); ok {
				return h, true
			}
			return parseDie(t, true) // 6.1 and older: "Oops: 0002 [#1] SMP"
		}
	case 'I':
		if bytes.HasPrefix(t, []byte("INFO: ")) {
			return parseINFO(t[6:])
		}
		if bytes.HasPrefix(t, []byte("Internal error: ")) {
			return parseDie(t[16:], true)
		}
	case 'r':
		if bytes.HasPrefix(t, []byte("rcu: INFO: ")) {
			return parseINFO(t[11:])
		}
		if bytes.HasPrefix(t, []byte("refcount_t: ")) {
			return parseRefcount(t[12:]), true
		}
	case 'U':
		if bytes.HasPrefix(t, []byte("UBSAN: ")) {
			return parseUBSAN(t[7:])
		}
		if bytes.HasPrefix(t, []byte("Unable to handle kernel ")) {
			return parseUnable(t[24:])
		}
	case 'P':
		if bytes.HasPrefix(t, []byte("PANIC: double fault")) {
			return header{kind: KindDoubleFault, stem: "PANIC: double fault"}, true
		}
	case 'l':
		if bytes.HasPrefix(t, []byte("list_")) && (bytes.HasPrefix(t[5:], []byte("add corruption")) ||
			bytes.HasPrefix(t[5:], []byte("del corruption")) || bytes.HasPrefix(t[5:], []byte("add double add"))) {
			return header{kind: KindListCorruption, stem: "BUG: corrupted list", announces: true}, true
		}
	case 'g', 'd', 'i', 's':
		if h, ok := parseDie(t, false); ok {
			return h, true
		}
	}
	if t[0] >= 'a' && t[0] <= 'z' || t[0] == '_' {
		return parseFortify(t)
	}
	return header{}, false
}

// fortifyName: the bytes of a function name in a fortify message (a
// symbol's, without '.'). A table, since parseFortify looks at most lines.
var fortifyName = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isSymbolByte(byte(c)) && c != '.'
	}
	return t
}()

// parseFortify: CONFIG_FORTIFY_SOURCE's "memcpy: detected buffer
// overflow: 20 byte write of buffer size 16" and "memcpy: detected
// field-spanning write (size 20) of single field ...", printed before the
// WARNING or BUG they come with.
func parseFortify(t []byte) (header, bool) {
	i, n := 0, min(len(t), 32)
	for i < n && fortifyName[t[i]] {
		i++
	}
	rest := t[i:]
	if i == 0 || !bytes.HasPrefix(rest, []byte(": detected ")) {
		return header{}, false
	}
	rest = rest[len(": detected "):]
	var what string
	switch {
	case bytes.HasPrefix(rest, []byte("buffer overflow")):
		what = "buffer overflow"
	case bytes.HasPrefix(rest, []byte("field-spanning write")):
		what = "field-spanning write"
	default:
		return header{}, false
	}
	return header{kind: KindFortify, stem: string(t[:i]) + ": detected " + what, announces: true}, true
}

func parseBUG(t []byte) (header, bool) {
	switch {
	case bytes.HasPrefix(t, []byte("KASAN: ")):
		return parseKASAN(t[7:])
	case bytes.HasPrefix(t, []byte("KFENCE: ")):
		typ, fn := splitIn(t[8:])
		m := stableMessage(typ)
		if m == "" {
			return header{}, false
		}
		return header{kind: KindKFENCE, stem: "KFENCE: " + m, fn: fn}, true
	case bytes.HasPrefix(t, []byte("kernel NULL pointer dereference")),
		bytes.HasPrefix(t, []byte("unable to handle kernel NULL pointer dereference")),
		bytes.HasPrefix(t, []byte("Kernel NULL pointer dereference")):
		return header{kind: KindNULLPointer, stem: "BUG: kernel NULL pointer dereference"}, true
	case bytes.HasPrefix(t, []byte("unable to handle page fault")),
		bytes.HasPrefix(t, []byte("unable to handle kernel paging request")),
		bytes.HasPrefix(t, []byte("Unable to handle kernel data access")):
		return header{kind: KindPageFault, stem: "BUG: unable to handle page fault"}, true
	case bytes.HasPrefix(t, []byte("soft lockup")):
		return header{kind: KindSoftLockup, stem: "BUG: soft lockup"}, true
	case bytes.HasPrefix(t, []byte("workqueue lockup")):
		return header{kind: KindBUG, stem: "BUG: workqueue lockup", noFrame: true, noTrace: true}, true
	case bytes.Contains(t, []byte("stack guard page was hit")):
		return header{kind: KindStackOverflow, stem: "BUG: stack guard page was hit"}, true
	case bytes.HasPrefix(t, []byte("scheduling while atomic")):
		return header{kind: KindBUG, stem: "BUG: scheduling while atomic", sched: true}, true
	case bytes.HasPrefix(t, []byte("sleeping function called from invalid context")),
		bytes.HasPrefix(t, []byte("spinlock ")), bytes.HasPrefix(t, []byte("rwlock ")),
		bytes.HasPrefix(t, []byte("Bad page ")), bytes.HasPrefix(t, []byte("using ")):
		return header{kind: KindBUG, stem: "BUG: " + stableMessage(t)}, true
	case bytes.HasPrefix(t, []byte("Bad rss-counter state")),
		bytes.HasPrefix(t, []byte("non-zero nr_")):
		return header{kind: KindBUG, stem: "BUG: " + stableMessage(t), noFrame: true, noTrace: true}, true
	}
	m := stableMessage(t)
	if m == "" {
		return header{}, false
	}
	return header{kind: KindBUG, stem: "BUG: " + m}, true
}

// parseKASAN: "slab-use-after-free in foo_bar+0x1a/0x40".
func parseKASAN(t []byte) (header, bool) {
	typ, fn := splitIn(t)
	m := stableMessage(typ)
	if m == "" {
		return header{}, false
	}
	h := header{kind: KindKASAN, stem: "KASAN: " + m, fn: fn, accessFrom: true}
	switch string(typ) {
	case "double-free", "invalid-free", "double-free or invalid-free":
		h.accessFrom = false
	}
	return h, true
}

// splitIn splits "TYPE in FUNC+0x1/0x2" into TYPE and FUNC.
func splitIn(t []byte) (typ, fn []byte) {
	i := bytes.Index(t, []byte(" in "))
	if i < 0 {
		return t, nil
	}
	typ = t[:i]
	r := t[i+4:]
	if name, ok := symbolOffset(r); ok {
		return typ, name
	}
	// A bare name: "in foo" or "in foo()".
	j := 0
	for j < len(r) && j <= maxSymbol && isSymbolByte(r[j]) {
		j++
	}
	if j > 0 && j <= maxSymbol && (r[0] < '0' || r[0] > '9') && (j == len(r) || r[j] == ' ' || r[j] == '(') {
		fn = r[:j]
	}
	return typ, fn
}

// parseWARNING accepts the formats of __warn():
//
//	WARNING: CPU: 0 PID: 97 at drivers/misc/lkdtm/bugs.c:112 lkdtm_WARNING+0xc/0xf   (4.x-6.x)
//	WARNING: drivers/misc/lkdtm/bugs.c:112 at lkdtm_WARNING+0xc/0xf, CPU#0: sh/97   (7.x)
//	WARNING: at lkdtm_WARNING+0xc/0xf, CPU#0: sh/97                                 (7.x, no file)
//	WARNING: at drivers/misc/lkdtm/bugs.c:112 lkdtm_WARNING()                        (2.6)
//
// and lockdep's and RCU's "WARNING: possible circular locking dependency
// detected" family. Other lines starting with "WARNING:" are not reports.
func parseWARNING(t []byte) (header, bool) {
	switch {
	case bytes.HasPrefix(t, []byte("possible circular locking dependency")),
		bytes.HasPrefix(t, []byte("possible recursive locking")),
		bytes.HasPrefix(t, []byte("possible irq lock inversion")):
		return header{kind: KindLockdep, stem: "possible deadlock", backtraceAfter: true}, true
	case bytes.HasPrefix(t, []byte("inconsistent lock state")):
		return header{kind: KindLockdep, stem: "inconsistent lock state", backtraceAfter: true}, true
	case bytes.HasPrefix(t, []byte("suspicious RCU usage")):
		return header{kind: KindLockdep, stem: "WARNING: suspicious RCU usage", backtraceAfter: true}, true
	case bytes.HasPrefix(t, []byte("bad unlock balance detected")):
		return header{kind: KindLockdep, stem: "WARNING: bad unlock balance", backtraceAfter: true}, true
	}
	h := header{kind: KindWarning, stem: "WARNING"}
	if bytes.HasPrefix(t, []byte("CPU: ")) {
		// "CPU: 0 PID: 97 at FILE:LINE FUNC+0x/0x"
		i := bytes.Index(t, []byte(" at "))
		if i < 0 {
			return h, true
		}
		rest := t[i+4:]
		if j := bytes.IndexByte(rest, ' '); j >= 0 {
			h.fn, _ = symbolOffset(rest[j+1:])
		}
		return h, true
	}
	if bytes.HasPrefix(t, []byte("at ")) {
		rest := t[3:]
		if fn, ok := symbolOffset(rest); ok {
			h.fn = fn
			return h, true
		}
		// 2.6: "at FILE:LINE FUNC()"
		if j := bytes.IndexByte(rest, ' '); j >= 0 {
			r := rest[j+1:]
			k := 0
			for k < len(r) && isSymbolByte(r[k]) {
				k++
			}
			if k > 0 && k+1 < len(r) && r[k] == '(' {
				h.fn = r[:k]
			}
		}
		return h, true
	}
	// 7.x: "FILE:LINE at FUNC+0x/0x, CPU#0: comm/pid"
	if i := bytes.Index(t, []byte(" at ")); i > 0 && bytes.IndexByte(t[:i], ' ') < 0 && bytes.IndexByte(t[:i], ':') > 0 {
		h.fn, _ = symbolOffset(t[i+4:])
		return h, true
	}
	return header{}, false
}

func parseWatchdog(t []byte) (header, bool) {
	switch {
	case bytes.HasPrefix(t, []byte("BUG: soft lockup")):
		return header{kind: KindSoftLockup, stem: "BUG: soft lockup"}, true
	case bytes.HasPrefix(t, []byte("Watchdog detected hard LOCKUP")):
		return header{kind: KindHardLockup, stem: "watchdog: hard LOCKUP"}, true
	case bytes.HasPrefix(t, []byte("CPU")) && bytes.Contains(t, []byte("self-detected hard LOCKUP")):
		return header{kind: KindHardLockup, stem: "watchdog: hard LOCKUP"}, true
	}
	return header{}, false
}

// parseINFO: hung tasks and RCU stalls.
//
//	INFO: task sh:85 blocked for more than 122 seconds.
//	rcu: INFO: rcu_preempt self-detected stall on CPU
//	rcu: INFO: rcu_sched detected stalls on CPUs/tasks:
//	rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21002 jiffies s: 773 root: 0x2/.
func parseINFO(t []byte) (header, bool) {
	switch {
	case bytes.HasPrefix(t, []byte("task ")) && bytes.Contains(t, []byte(" blocked for more than ")):
		return header{kind: KindHungTask, stem: "INFO: task hung"}, true
	case bytes.HasPrefix(t, []byte("rcu_")) && bytes.Contains(t, []byte("detected")) && bytes.Contains(t, []byte("stall")):
		return header{kind: KindRCUStall, stem: "INFO: rcu detected stall"}, true
	}
	return header{}, false
}

// parseRefcount: "overflow; use-after-free." and the other messages of
// refcount_warn_saturate(); the WARNING after it is part of the report.
func parseRefcount(t []byte) header {
	// The kernel's messages are fixed ("overflow", "saturated",
	// "underflow", "addition on 0", "decrement hit 0"), so the part
	// before ';' is kept as it is, numbers included.
	m := ""
	if i := bytes.IndexByte(t, ';'); i > 0 && i < 32 && printable(t[:i]) {
		m = string(t[:i])
	} else {
		m = stableMessage(t)
	}
	return header{kind: KindRefcount, stem: "refcount_t: " + m, announces: true}
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// parseUBSAN: "signed-integer-overflow in lib/foo.c:12:5",
// "array-index-out-of-bounds in drivers/x.c:1:2", "Undefined behaviour in
// file" (4.x).
func parseUBSAN(t []byte) (header, bool) {
	typ, _ := splitIn(t)
	m := stableMessage(typ)
	if m == "" {
		return header{}, false
	}
	if m == "Undefined behaviour" {
		m = "undefined-behaviour"
	}
	return header{kind: KindUBSAN, stem: "UBSAN: " + m}, true
}

// parseUnable: arm64 and others, "Unable to handle kernel NULL pointer
// dereference at virtual address 0000000000000000".
func parseUnable(t []byte) (header, bool) {
	switch {
	case bytes.HasPrefix(t, []byte("NULL pointer dereference")):
		return header{kind: KindNULLPointer, stem: "BUG: kernel NULL pointer dereference"}, true
	case bytes.HasPrefix(t, []byte("paging request")), bytes.HasPrefix(t, []byte("execute from non-executable memory")),
		bytes.HasPrefix(t, []byte("write to read-only memory")), bytes.HasPrefix(t, []byte("access to user memory")):
		return header{kind: KindPageFault, stem: "BUG: unable to handle page fault"}, true
	}
	return header{}, false
}

// parseDie recognises the header x86 die() prints ("Oops: " since 6.10),
// "TRAP: 0000 [#1] FLAGS", with TRAP one of the kernel's trap names, and
// arm64's "Internal error: Oops: 0000000096000045 [#1] PREEMPT SMP".
func parseDie(t []byte, oops bool) (header, bool) {
	i := bytes.Index(t, []byte(" [#"))
	if i < 0 {
		return header{}, false
	}
	head := t[:i] // "invalid opcode: 0000", "general protection fault, probably ...: 0000"
	j := bytes.LastIndex(head, []byte(": "))
	if j < 0 {
		return header{}, false
	}
	code := head[j+2:]
	if len(code) == 0 || !allHex(code) {
		return header{}, false
	}
	trap := head[:j]
	h := header{die: true}
	switch {
	case bytes.HasPrefix(trap, []byte("general protection fault")):
		h.kind, h.stem = KindGPF, "general protection fault"
	case bytes.Equal(trap, []byte("invalid opcode")):
		h.kind, h.stem = KindInvalidOpcode, "invalid opcode"
	case bytes.Equal(trap, []byte("divide error")):
		h.kind, h.stem = KindDivideError, "divide error"
	case bytes.Equal(trap, []byte("double fault")):
		h.kind, h.stem = KindDoubleFault, "PANIC: double fault"
	case bytes.Equal(trap, []byte("stack segment")):
		h.kind, h.stem = KindOops, "stack segment fault"
	case bytes.Equal(trap, []byte("stack guard page")), bytes.HasPrefix(trap, []byte("kernel stack overflow")):
		h.kind, h.stem = KindStackOverflow, "kernel stack overflow"
	case bytes.Equal(trap, []byte("Oops")), !oops && bytes.HasPrefix(trap, []byte("Oops")):
		h.kind, h.stem = KindOops, "Oops"
	case oops:
		m := stableMessage(trap)
		if m == "" {
			return header{}, false
		}
		h.kind, h.stem = KindOops, m
	default:
		return header{}, false
	}
	return h, true
}

func allHex(b []byte) bool {
	for _, c := range b {
		if !isHex(c) {
			return false
		}
	}
	return true
}

// consequences are panic messages printed because an earlier report asked
// for a panic; as a log's first report they mean that report was lost.
var consequences = [][]byte{
	[]byte("Fatal exception"),
	[]byte("softlockup: hung tasks"),
	[]byte("hung_task: blocked tasks"),
	[]byte("Hard LOCKUP"),
	[]byte("hardlockup: "),
	[]byte("RCU Stall"),
	[]byte("Fatal machine check"),
	[]byte("Oops: "),
}

// parsePanic: "Kernel panic - not syncing: MESSAGE".
func parsePanic(msg []byte) header {
	h := header{kind: KindPanic, noFrame: true}
	if bytes.HasPrefix(msg, []byte("stack-protector: ")) {
		// "stack-protector: Kernel stack is corrupted in: func+0x5e/0x60"
		h.kind = KindStackProtector
		h.stem = "kernel panic: stack-protector: Kernel stack is corrupted"
		h.noFrame = false
		if i := bytes.Index(msg, []byte("corrupted in: ")); i >= 0 {
			h.fn, _ = symbolOffset(msg[i+14:])
		}
		return h
	}
	for _, c := range consequences {
		if bytes.HasPrefix(msg, c) {
			h.follows = true
		}
	}
	if bytes.Contains(msg, []byte("panic_on_warn set")) || bytes.Contains(msg, []byte("panic_on_taint set")) {
		h.follows = true
	}
	h.stem = "kernel panic"
	if m := stableMessage(msg); m != "" {
		h.stem += ": " + m
	}
	return h
}
