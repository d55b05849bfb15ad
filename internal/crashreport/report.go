package crashreport

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SignatureVersion is the version of the signature computation. A
// signature is stable while it stays the same; docs/crash-titles.md says
// what may change it.
const SignatureVersion = 1

// report turns the collected lines into a Report.
func (b *builder) report(primary bool) Report {
	r := Report{
		Kind:        b.h.kind,
		Primary:     primary,
		Start:       b.start,
		End:         b.end,
		HeaderStart: b.headerStart,
		HeaderEnd:   b.headerEn,
	}
	for i := range b.frames {
		b.frames[i].name = normalizeName(b.frames[i].raw)
	}
	ctx, unreliable := b.context()
	skipKind := b.h.kind
	if b.stallPanic() {
		skipKind = KindSoftLockup
	}
	gi := -1
	for i, f := range ctx {
		if f.name != "" && !isHelper(skipKind, b.h.sched, f.name) {
			gi = i
			break
		}
	}
	if gi < 0 {
		// Every frame is a helper: name the first that is not the
		// kernel's reporting machinery.
		for i, f := range ctx {
			if f.name != "" && !reporting.match(f.name) && !interrupts.match(f.name) {
				gi = i
				break
			}
		}
	}
	var sigFrames []string
	if gi >= 0 {
		r.Guilty = ctx[gi].name
		for i := gi; i < len(ctx) && len(r.Frames) < TopFrames; i++ {
			f := ctx[i]
			if f.name == "" {
				continue
			}
			if i > gi && (reporting.match(f.name) || interrupts.match(f.name)) {
				continue
			}
			if n := len(r.Frames); n > 0 && r.Frames[n-1] == f.name {
				continue
			}
			r.Frames = append(r.Frames, f.name)
			if f.reliable {
				sigFrames = append(sigFrames, f.name)
			}
		}
	}
	r.UnreliableFrames = unreliable
	r.Title = b.title(r.Guilty)
	r.Signature = signature(r.Title, r.Guilty, sigFrames)
	switch {
	case b.corrupt != "":
		r.setCorrupted(b.corrupt)
	case b.gapInTrace && len(r.Frames) < TopFrames:
		r.setCorrupted(b.gapReason)
	case primary && b.h.follows:
		r.setCorrupted("the report this panic follows is not in the log")
	}
	if r.Frames == nil {
		r.Frames = []string{}
	}
	return r
}

func (r *Report) setCorrupted(why string) {
	if !r.Corrupted {
		r.Corrupted = true
		r.CorruptedReason = why
	}
}

var (
	reporting  = newMatcher(reportingRules)
	interrupts = newMatcher(interruptRules)
)

// stallPanic: the panic a stall detector asks for.
func (b *builder) stallPanic() bool {
	if b.h.kind != KindPanic {
		return false
	}
	s := b.h.stem
	return strings.Contains(s, "softlockup") || strings.Contains(s, "LOCKUP") ||
		strings.Contains(s, "hardlockup") || strings.Contains(s, "RCU Stall")
}

func (b *builder) isStall() bool {
	switch b.h.kind {
	case KindSoftLockup, KindHardLockup, KindRCUStall:
		return true
	}
	return b.stallPanic()
}

// context picks the frames of the code the report is about, in order,
// the header's function and the register dump's RIP first.
//
// With a register dump before the trace (an oops, a WARNING on x86, a
// lockup), the trace walks the RIP's callers up to the first interrupted
// context ("RIP:" inside the trace). Without one (panic, KASAN, UBSAN,
// hung task), the trace starts with the reporting code: if it trapped
// (BUG/WARN as an invalid opcode), the code at fault is the context after
// the exception's "RIP:"; a stall's is the interrupted context, or the
// task's stack after the interrupt's frames.
//
// When the kernel marked no frame reliable, all are used, and unreliable
// is true.
func (b *builder) context() (ctx []frame, unreliable bool) {
	any := false
	for _, f := range b.frames {
		if f.reliable && !f.rip {
			any = true
			break
		}
	}
	// An exception stack's frames (NMI, #DF) are the exception's
	// handling, unless they are all there is.
	exc := true
	for _, f := range b.frames {
		if f.section != secExc && (f.reliable || !any) {
			exc = false
			break
		}
	}
	all := make([]frame, 0, len(b.frames))
	for _, f := range b.frames {
		if (f.reliable || !any) && (f.rip || exc || f.section != secExc) {
			all = append(all, f)
		}
	}
	if !any {
		for _, f := range all {
			if !f.rip {
				unreliable = true
				break
			}
		}
	}
	stall := b.isStall()
	var seg []frame
	switch {
	case b.hasRegs:
		seg = untilRIP(all)
	default:
		k := -1
		for i, f := range all {
			if !f.rip {
				continue
			}
			if i > 0 && (isExceptionEntry(all[i-1].name) || stall && isInterruptEntry(all[i-1].name)) {
				k = i
				break
			}
		}
		switch {
		case k >= 0:
			seg = untilRIP(all[k:])
		case stall:
			seg = untilRIP(taskOnly(all))
		default:
			seg = untilRIP(all)
		}
	}
	if stall {
		seg = taskOnly(seg)
	} else {
		seg = irqOnly(seg)
	}
	if b.fnRaw != nil {
		ctx = append(ctx, frame{name: normalizeName(b.fnRaw), reliable: true})
	}
	if b.hasRegs && b.ripRaw != nil {
		rip := normalizeName(b.ripRaw)
		if len(ctx) == 0 || ctx[0].name != rip {
			ctx = append(ctx, frame{name: rip, reliable: true})
		}
	}
	ctx = append(ctx, seg...)
	return ctx, unreliable
}

// untilRIP returns the frames up to the next interrupted context; a
// leading "RIP:" entry is kept as the first frame.
func untilRIP(fs []frame) []frame {
	for i, f := range fs {
		if f.rip && i > 0 {
			return fs[:i]
		}
	}
	return fs
}

// taskOnly drops the frames printed on an interrupt's stack, when the
// task's stack follows them.
func taskOnly(fs []frame) []frame {
	for i, f := range fs {
		if f.section == secTask && i > 0 && fs[i-1].section == secIRQ {
			return fs[i:]
		}
	}
	return fs
}

// irqOnly drops the frames of the context an interrupt interrupted,
// when the trace starts on the interrupt's stack.
func irqOnly(fs []frame) []frame {
	for i, f := range fs {
		if f.section == secTask && i > 0 && fs[i-1].section == secIRQ {
			if fs[0].section == secIRQ {
				return fs[:i]
			}
			break
		}
	}
	return fs
}

func isExceptionEntry(name string) bool {
	return strings.HasPrefix(name, "asm_exc_") && name != "asm_exc_nmi" ||
		name == "invalid_op" || name == "do_invalid_op" || name == "el1_undef" || name == "el1h_64_sync"
}

func isInterruptEntry(name string) bool {
	return strings.HasPrefix(name, "asm_sysvec_") || name == "asm_common_interrupt" ||
		name == "asm_exc_nmi" || name == "end_repeat_nmi" || name == "apic_timer_interrupt" ||
		name == "el1h_64_irq"
}

// title builds the report's title.
func (b *builder) title(guilty string) string {
	stem := b.h.stem
	if b.headerCut {
		// The header line lost bytes: only its kind is known.
		if i := strings.Index(stem, ": "); i >= 0 {
			stem = stem[:i]
		}
		return stem + ": corrupted"
	}
	if b.access != "" {
		stem += " " + b.access
	}
	if b.h.noFrame || guilty == "" {
		return stem
	}
	return stem + " in " + guilty
}

// signature hashes what identifies a bug: the title, the guilty frame and
// the reliable top frames. Nothing that varies between machines, runs or
// kernel builds (offsets, addresses, times, PIDs, modules) is in them.
func signature(title, guilty string, frames []string) string {
	h := sha256.New()
	h.Write([]byte("netoops crash signature v1\n"))
	h.Write([]byte(title))
	h.Write([]byte{'\n'})
	h.Write([]byte(guilty))
	for _, f := range frames {
		h.Write([]byte{'\n'})
		h.Write([]byte(f))
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:8])
}
