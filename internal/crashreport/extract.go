package crashreport

import (
	"bytes"
	"fmt"
)

const (
	// TopFrames is how many frames a report keeps, from the guilty one.
	TopFrames = 6
	// MaxReports is how many reports Extract returns; it counts the rest.
	MaxReports = 64
	// maxIdle is how many unrecognised lines in a row a report that has
	// not printed its call trace yet may hold before it is closed.
	maxIdle = 40
	// maxFrames is how many call-trace entries a report collects.
	maxFrames = 96
)

// Report is one crash report found in a log.
type Report struct {
	// Kind is the class of report (Kind* constants).
	Kind Kind `json:"kind"`
	// Title names the bug the same way on every machine, e.g.
	// "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION".
	Title string `json:"title"`
	// Guilty is the first frame that is not reporting machinery or a
	// generic helper; empty when the report has no usable frame.
	Guilty string `json:"guilty,omitempty"`
	// Frames are up to TopFrames functions from the guilty one down,
	// without offsets, modules or compiler suffixes.
	Frames []string `json:"frames"`
	// UnreliableFrames: the kernel marked every frame of the trace "?"
	// (CONFIG_UNWINDER_GUESS), so Frames after a register dump's RIP are
	// guesses from stack contents and do not go into the signature.
	UnreliableFrames bool `json:"unreliable_frames,omitempty"`
	// Signature is the stable hash of Title, Guilty and the reliable
	// Frames (SignatureVersion; docs/crash-titles.md).
	Signature string `json:"signature"`
	// Corrupted: bytes are missing where the report needs them, or the
	// report cannot be the cause it seems (a "Fatal exception" panic
	// whose oops is not in the log). CorruptedReason says which.
	Corrupted       bool   `json:"corrupted,omitempty"`
	CorruptedReason string `json:"corrupted_reason,omitempty"`
	// Primary is true for the first report of the log, the cause; later
	// ones (the panic after an oops) are secondary.
	Primary bool `json:"primary"`
	// Start and End are the report's bytes in the log, whole lines
	// (End exclusive, its last newline not included); Header is its
	// first line (its title line).
	Start       int `json:"start"`
	End         int `json:"end"`
	HeaderStart int `json:"header_start"`
	HeaderEnd   int `json:"header_end"`
}

// Result is what Extract found.
type Result struct {
	// Reports in log order; the first is the primary one.
	Reports []Report
	// Omitted counts the reports after the first MaxReports.
	Omitted int
}

// Primary returns the log's first report.
func (r Result) Primary() (Report, bool) {
	if len(r.Reports) == 0 {
		return Report{}, false
	}
	return r.Reports[0], true
}

// Extract finds the crash reports in a stored kernel log.
//
// log is the log as the catcher stores it: the kernel's syslog-format
// lines ("<4>[   12.345678] text"; prefixes are optional), with a line
// "[netoops: N bytes missing at offset O]" where bytes were not received.
// missing are those byte ranges, in offsets of the dumped log, as the
// sidecar lists them; a marker line counts as a gap only if it stands for
// one of them. Report offsets are offsets in log. Extract never fails: a
// log that holds no report gives an empty Result.
func Extract(log []byte, missing []Range) Result {
	sc := newScanner(log, missing)
	var res Result
	var bld builder // reused for every report, its frames too
	var cur *builder
	var l line
	pending, pendingLeft := -1, 0 // a "cut here" line just before a header
	emit := func() {
		if cur == nil {
			return
		}
		if len(res.Reports) < MaxReports {
			res.Reports = append(res.Reports, cur.report(len(res.Reports) == 0))
		} else {
			res.Omitted++
		}
		cur = nil
	}
	for sc.next(&l) {
		if l.marker {
			if cur != nil {
				cur.gapHit(l.gap)
				emit()
			}
			pendingLeft = 0
			continue
		}
		if !l.kernel {
			continue
		}
		if cur != nil {
			switch cur.feed(&l) {
			case taken:
				continue
			case finish:
				emit()
				continue
			case endBefore:
				emit()
			}
		}
		if h, ok := parseHeader(l.text); ok {
			start := l.start
			if pendingLeft > 0 {
				start = pending
			}
			bld.reset(h, &l, start)
			cur = &bld
			pendingLeft = 0
			continue
		}
		if isPrecursor(l.text) {
			pending, pendingLeft = l.start, 3
		} else if pendingLeft > 0 {
			pendingLeft--
		}
	}
	if cur != nil {
		cur.atEOF()
		emit()
	}
	if n := sc.unlocated(); n > 0 {
		for i := range res.Reports {
			res.Reports[i].setCorrupted(fmt.Sprintf("%d missing byte range(s) have no marker in the log, so where they fall is unknown", n))
		}
	}
	return res
}

// isPrecursor: lines printed just before a report's header, which belong
// to the report.
func isPrecursor(t []byte) bool {
	if len(t) == 0 {
		return false
	}
	switch t[0] { // called for every line outside a report
	case '-':
		return bytes.HasPrefix(t, []byte("------------[ cut here ]------------"))
	case '=':
		return bytes.HasPrefix(t, []byte("========================="))
	case 'k':
		return bytes.HasPrefix(t, []byte("kernel tried to execute NX-protected page"))
	case 'u':
		return bytes.HasPrefix(t, []byte("unable to execute userspace code")) ||
			bytes.HasPrefix(t, []byte("usercopy: Kernel memory"))
	case 'U':
		return bytes.HasPrefix(t, []byte("Unable to handle kernel"))
	case 'l':
		return bytes.HasPrefix(t, []byte("list_")) && (bytes.HasPrefix(t[5:], []byte("add corruption")) ||
			bytes.HasPrefix(t[5:], []byte("del corruption")))
	}
	return false
}

type traceState uint8

const (
	traceNone traceState = iota // no frame yet
	traceOpen                   // in the call trace
	traceDone                   // the trace has ended
)

type feedResult uint8

const (
	taken     feedResult = iota // the line is part of the report
	finish                      // the line is the report's last
	endBefore                   // the report ended before this line
)

// builder collects one report while its lines are scanned.
type builder struct {
	h                     header
	start, end            int
	headerStart, headerEn int
	fnRaw                 []byte // function the header names
	ripRaw                []byte // the register dump's RIP before the trace
	hasRegs               bool
	state                 traceState
	waitBacktrace         bool
	skipTrace             bool // in a stack dump that is not the report's
	headerCut             bool
	sec                   section
	frames                []frame
	access                string
	idle                  int
	corrupt               string
	gapInTrace            bool
	gapReason             string
}

// reset starts a new report at its header line, keeping the frames'
// storage of the last one.
func (b *builder) reset(h header, l *line, start int) {
	*b = builder{h: h, start: start, end: l.end, headerStart: l.start, headerEn: l.end,
		waitBacktrace: h.backtraceAfter, frames: b.frames[:0]}
	if h.fn != nil {
		b.fnRaw = h.fn
	}
	if l.cut {
		b.headerCut = true
		b.corrupt = "its first line is cut by missing bytes"
	}
}

func (b *builder) take(l *line) feedResult {
	b.end = l.end
	b.idle = 0
	return taken
}

// feed offers the report its next kernel line.
func (b *builder) feed(l *line) feedResult {
	t := l.text
	if l.cut {
		// A fragment next to a gap says nothing reliable; the gap
		// itself decides what the report lost.
		return b.take(l)
	}
	if len(t) == 0 {
		if b.state == traceOpen {
			b.state = traceDone
		}
		return taken // neutral: does not move the end
	}
	if t[0] != ' ' && t[0] != '\t' {
		if h, ok := parseHeader(t); ok {
			return b.header(h, l)
		}
	}
	// Call-trace entries and stack markers.
	if t[0] == ' ' || t[0] == '\t' {
		tt := bytes.TrimRight(trimSpaces(t), " \t")
		if len(tt) > 2 && len(tt) < 24 && tt[0] == '<' && tt[len(tt)-1] == '>' {
			return b.marker(tt, l)
		}
		if name, reliable, ok := parseFrame(t); ok {
			if b.waitBacktrace || b.skipTrace || b.state == traceDone {
				return b.take(l)
			}
			b.state = traceOpen
			if len(b.frames) < maxFrames {
				b.frames = append(b.frames, frame{raw: name, reliable: reliable, section: b.sec})
			}
			return b.take(l)
		}
		if isUnknownFrame(t) {
			if b.state == traceNone && !b.waitBacktrace {
				b.state = traceOpen
			}
			return b.take(l)
		}
		if b.state == traceOpen {
			b.state = traceDone
		}
		if b.state == traceDone {
			return b.take(l) // indented trailer: KASAN's memory dump, lockdep's lists
		}
		return b.other(l)
	}
	if t[0] == '>' && b.state == traceDone {
		return b.take(l) // KASAN's ">ffff888103c2a500: fa fb fc"
	}
	if hasPrefixAny(t, callTraceLines) {
		if b.waitBacktrace || b.skipTrace {
			return b.take(l)
		}
		switch b.state {
		case traceNone:
			b.state = traceOpen
		case traceOpen:
			b.state = traceDone
		}
		return b.take(l)
	}
	if b.h.kind == KindRCUStall && bytes.HasPrefix(t, []byte("rcu: RCU grace-period kthread stack dump:")) {
		// The grace-period kthread's own stack: a victim of the stall.
		b.skipTrace = true
		return b.take(l)
	}
	if bytes.HasPrefix(t, []byte("stack backtrace:")) {
		b.waitBacktrace = false
		return b.take(l)
	}
	if name, user, ok := parseRIP(t); ok {
		switch {
		case b.waitBacktrace:
		case b.state == traceNone:
			if !b.hasRegs && !user {
				b.hasRegs = true
				b.ripRaw = name
			}
		case b.state == traceOpen:
			if !user && len(b.frames) < maxFrames {
				b.frames = append(b.frames, frame{raw: name, reliable: true, rip: true, section: b.sec})
			}
		}
		return b.take(l)
	}
	if isRegisterLine(t) || bytes.HasPrefix(t, []byte("Code: ")) {
		return b.take(l) // a register dump, also inside a trace
	}
	if b.state == traceDone && bytes.HasPrefix(t, []byte("=========================")) {
		b.take(l) // the closing rule of KASAN, KFENCE and UBSAN reports
		return finish
	}
	if b.h.accessFrom && b.access == "" {
		switch {
		case bytes.HasPrefix(t, []byte("Read of size")), bytes.HasPrefix(t, []byte("Read at addr")):
			b.access = "Read"
		case bytes.HasPrefix(t, []byte("Write of size")), bytes.HasPrefix(t, []byte("Write at addr")):
			b.access = "Write"
		}
	}
	if bytes.HasPrefix(t, []byte("---[ end ")) {
		b.take(l)
		return finish
	}
	if b.state == traceDone && bytes.HasPrefix(t, []byte("------------[ cut here ]")) {
		return endBefore // the next report's first line
	}
	if hasPrefixAny(t, contextLines) {
		if b.state == traceOpen {
			b.state = traceDone
		}
		return b.take(l)
	}
	if b.state == traceOpen {
		b.state = traceDone
	}
	return b.other(l)
}

// other handles a line the report does not know.
func (b *builder) other(l *line) feedResult {
	if b.state == traceDone {
		return endBefore
	}
	// Before the trace: a message of the report (a WARN's text, UBSAN's
	// "index 8 is out of range"), unless too many come in a row.
	b.idle++
	if b.idle > maxIdle {
		return endBefore
	}
	return taken // the end moves only with a line the report knows
}

// header handles a report header inside the current report.
func (b *builder) header(h header, l *line) feedResult {
	if b.state == traceNone && !b.waitBacktrace {
		switch {
		case h.die:
			// "Oops: invalid opcode" after "kernel BUG at", "Oops: Oops:
			// 0002" after "BUG: kernel NULL pointer dereference".
			return b.take(l)
		case b.h.announces && !h.announces && (h.kind == KindWarning || h.kind == KindKernelBUG || h.kind == KindListCorruption):
			if b.fnRaw == nil && h.fn != nil {
				b.fnRaw = h.fn
			}
			return b.take(l)
		case b.h.kind == KindWarning && h.announces:
			// Architectures that print a WARN's message after its header.
			b.h = h
			return b.take(l)
		}
	}
	return endBefore
}

// marker handles <TASK>, </TASK>, <IRQ>, </IRQ>, <NMI>, <SOFTIRQ>, <#DF>...
func (b *builder) marker(tt []byte, l *line) feedResult {
	if b.skipTrace {
		if string(tt) == "</TASK>" {
			b.skipTrace = false
		}
		return b.take(l)
	}
	if b.waitBacktrace || b.state == traceDone {
		return b.take(l)
	}
	b.state = traceOpen
	closing := tt[1] == '/'
	name := tt[1 : len(tt)-1]
	if closing {
		name = name[1:]
	}
	switch {
	case closing:
		if string(name) == "TASK" {
			b.state = traceDone
		}
		b.sec = secTask
	default:
		b.sec = sectionOf(name)
	}
	return b.take(l)
}

// gapHit: a gap follows the report's lines read so far.
func (b *builder) gapHit(g Range) {
	what := fmt.Sprintf("%d bytes missing at offset %d", g.End-g.Start, g.Start)
	switch {
	case b.state == traceNone || b.waitBacktrace:
		if !b.h.noTrace {
			b.corrupt = what + " cut the report before its call trace"
		}
	case b.state == traceOpen:
		b.gapInTrace = true
		b.gapReason = what + " cut its call trace"
	}
	b.state = traceDone
}

// atEOF: the log ends inside the report. The log is the kernel's whole
// buffer at the time of the dump (a cut end is a gap, with its marker),
// so a trace that runs to the end is whole; one that never started is
// missing (the kernel died printing it).
func (b *builder) atEOF() {
	if (b.state == traceNone || b.waitBacktrace) && !b.h.noTrace && b.h.kind != KindPanic {
		b.corrupt = "the log ends before its call trace"
	}
}

func hasPrefixAny(t []byte, ps [][]byte) bool {
	for _, p := range ps {
		if bytes.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

var callTraceLines = [][]byte{[]byte("Call Trace:"), []byte("Call trace:"), []byte("Backtrace:")}

// contextLines are the lines of a report around its trace.
var contextLines = [][]byte{
	[]byte("CPU: "), []byte("Hardware name: "), []byte("Modules linked in:"), []byte("#PF: "),
	[]byte("PGD "), []byte("Tainted: "), []byte("Workqueue: "), []byte("irq event stamp:"),
	[]byte("hardirqs last "), []byte("softirqs last "), []byte("Read of size"), []byte("Write of size"),
	[]byte("Read at addr"), []byte("Write at addr"), []byte("The buggy address"),
	[]byte("Allocated by task"), []byte("Freed by task"), []byte("allocated by task"),
	[]byte("freed by task"), []byte("kfence-#"), []byte("Memory state around"),
	[]byte("Last potentially related"), []byte("Second to last potentially"),
	[]byte("Use-after-free read at"), []byte("Use-after-free write at"),
	[]byte("Out-of-bounds read at"), []byte("Out-of-bounds write at"), []byte("Invalid read at"),
	[]byte("Invalid write at"), []byte("Corrupted memory at"), []byte("Invalid free of"),
	[]byte("rcu: "), []byte("task:"), []byte("\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\""),
	[]byte("Not tainted"), []byte("Sending NMI from CPU"), []byte("NMI backtrace for cpu"),
	[]byte("Kernel Offset:"), []byte("Fixing recursive fault"), []byte("Showing all locks held"),
	[]byte("Showing busy workqueues"), []byte("note: "), []byte("Rebooting in"),
	[]byte("Dumping ftrace buffer"), []byte("Uninit was"), []byte("=========================="),
	[]byte("------------[ cut here ]------------"), []byte("Stack:"),
	[]byte("Mem abort info:"), []byte("Data abort info:"), []byte("ESR = "), []byte("EC = "),
	[]byte("SET = "), []byte("FSC = "), []byte("user pgtable:"), []byte("[0000000000000000] pgd="),
	[]byte("Internal error:"), []byte("CR2: "), []byte("kernel tried to execute"),
	[]byte("KASAN: "), []byte("Shutting down cpus"), []byte("Call Trace:"),
	[]byte("other info that might help"), []byte("the existing dependency chain"),
	[]byte("Possible unsafe locking scenario"), []byte("*** DEADLOCK ***"),
	[]byte("no locks held by"), []byte("locks held by"), []byte("lock held by"),
	[]byte("Bad page"), []byte("page:"), []byte("page dumped because"), []byte("raw: "),
	[]byte("head: "), []byte("flags: "), []byte("Object "), []byte("Redzone "), []byte("Padding "),
	[]byte("Disabling lock debugging"), []byte("FIX "), []byte("INFO: "),
	[]byte("Lock is already held"), []byte("kernel BUG at "), []byte("lr : "), []byte("sp : "),
	[]byte("pstate: "), []byte("PKRU: "), []byte("softirq="), []byte("(detected by"),
	[]byte("RIP  [<"), []byte("EIP: [<"), []byte("IP: "), []byte("task: "),
}

// isRegisterLine: a line of a register dump: "RSP: 0018:ffffc90000153e18
// EFLAGS: 00000202", "RAX: ...", "R13: ...", "FS:  ...", "CS:  0010 ...",
// "DR0: ...", arm64 "x29: ffff800008003e80 x28: ...".
func isRegisterLine(t []byte) bool {
	i := 0
	for i < len(t) && i < 9 && (t[i] >= 'A' && t[i] <= 'Z' || t[i] >= '0' && t[i] <= '9' || t[i] == '_') {
		i++
	}
	if i >= 2 && i < len(t) && t[i] == ':' {
		return registerNames[string(t[:i])]
	}
	if len(t) > 4 && t[0] == 'x' && t[1] >= '0' && t[1] <= '9' {
		j := 1
		for j < len(t) && t[j] >= '0' && t[j] <= '9' {
			j++
		}
		return j+1 < len(t) && t[j] == ':' && t[j+1] == ' '
	}
	return false
}

var registerNames = map[string]bool{
	"RAX": true, "RBX": true, "RCX": true, "RDX": true, "RSI": true, "RDI": true,
	"RBP": true, "RSP": true, "R08": true, "R09": true, "R10": true, "R11": true,
	"R12": true, "R13": true, "R14": true, "R15": true, "FS": true, "GS": true, "CS": true,
	"DS": true, "ES": true, "SS": true, "CR0": true, "CR2": true, "CR3": true, "CR4": true,
	"DR0": true, "DR1": true, "DR2": true, "DR3": true, "DR6": true, "DR7": true,
	"EAX": true, "EBX": true, "ECX": true, "EDX": true, "ESI": true, "EDI": true,
	"EBP": true, "ESP": true, "EFLAGS": true, "ORIG_RAX": true, "PKRU": true, "RIP": true,
	"EIP": true,
}
