package crashreport

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestSplitPrefix(t *testing.T) {
	for _, c := range []struct {
		in, text string
		kernel   bool
	}{
		{"<4>[   12.345678] WARNING: x", "WARNING: x", true},
		{"<4>[   12.345678]  ? lkdtm_do_action+0x18/0x1b", " ? lkdtm_do_action+0x18/0x1b", true},
		{"<6>[    0.000000][    T0] Linux version", "Linux version", true},
		{"<3>[  141.203903][ T2301] BUG: KASAN: x", "BUG: KASAN: x", true},
		{"[  532.123456] BUG: y", "BUG: y", true},
		{"[    5.1][     C0] watchdog: BUG: soft lockup", "watchdog: BUG: soft lockup", true},
		{"<12>[   10.000101] BUG: user", "BUG: user", false},
		{"<30>[   10.000801] systemd[1]: x", "systemd[1]: x", false},
		{"<0>Kernel panic - not syncing: x", "Kernel panic - not syncing: x", true},
		{"plain line", "plain line", true},
		{"<4>[ not a time] x", "[ not a time] x", true},
		{"<99999999>x", "<99999999>x", true},
		{"", "", true},
	} {
		text, kernel := splitPrefix([]byte(c.in))
		if string(text) != c.text || kernel != c.kernel {
			t.Errorf("splitPrefix(%q) = %q, %v; want %q, %v", c.in, text, kernel, c.text, c.kernel)
		}
	}
}

func TestParseFrame(t *testing.T) {
	for _, c := range []struct {
		in, name string
		reliable bool
		ok       bool
	}{
		{" lkdtm_do_action+0x15/0x30 [lkdtm]", "lkdtm_do_action", true, true},
		{" ? __warn.cold+0xb7/0x14f", "__warn", false, true},
		{" direct_entry.cold+0x3e/0x7c [lkdtm 3f1c2b7a9e5d4c21]", "direct_entry", true, true},
		{" foo_ring_clean.isra.0+0x9c/0x2a0 [foo_drv]", "foo_ring_clean", true, true},
		{" foo_down.constprop.0+0x1f7/0x340", "foo_down", true, true},
		{" foo.part.0.cold+0x1/0x2", "foo", true, true},
		{" foo.llvm.1234567890+0x1/0x2", "foo", true, true},
		{"  [<ffffffff8172f2e7>] net_rx_action+0x217/0x360", "net_rx_action", true, true},
		{"  [<ffffffff8165b5d5>] ? cpuidle_enter_state+0x115/0x2c0", "cpuidle_enter_state", false, true},
		{" lkdtm_EXCEPTION+0x8/0x18 [lkdtm] (P)", "lkdtm_EXCEPTION", true, true},
		{" __x64_sys_ioctl+0x94/0xd0", "sys_ioctl", true, true},
		{" __do_sys_write+0x1/0x2", "sys_write", true, true},
		{" __arm64_sys_write+0x24/0x38", "sys_write", true, true},
		{" __ia32_compat_sys_ioctl+0x1/0x2", "compat_sys_ioctl", true, true},
		{" 0xffffffffc0123456", "", true, false},
		{" <TASK>", "", true, false},
		{" foo+0x/0x2", "", true, false},
		{" foo+0x1", "", true, false},
		{" 123+0x1/0x2", "", true, false},
	} {
		name, reliable, ok := parseFrame([]byte(c.in))
		var n string
		if ok {
			n = normalizeName(name)
		}
		if ok != c.ok || n != c.name || ok && reliable != c.reliable {
			t.Errorf("parseFrame(%q) = %q, %v, %v; want %q, %v, %v", c.in, n, reliable, ok, c.name, c.reliable, c.ok)
		}
	}
}

func TestStableMessage(t *testing.T) {
	for in, want := range map[string]string{
		"sysrq triggered crash":                                         "sysrq triggered crash",
		"kernel: panic_on_warn set ...":                                 "kernel: panic_on_warn set",
		"Attempted to kill init! exitcode=0x0000000b":                   "Attempted to kill init!",
		"VFS: Unable to mount root fs on unknown-block(0,0)":            "VFS: Unable to mount root fs",
		"Fatal exception in interrupt":                                  "Fatal exception in interrupt",
		"scheduling while atomic: sh/85/0x00000002":                     "scheduling while atomic",
		"sleeping function called from invalid context at x.c:580":      "sleeping function called from invalid context",
		"spinlock bad magic on CPU#0, sh/85":                            "spinlock bad magic",
		"Bad page state in process sh  pfn:12345":                       "Bad page state",
		"using smp_processor_id() in preemptible [00000000] code: sh/1": "using smp_processor_id() in preemptible",
		"No working init found.  Try passing init= option to kernel.":   "No working init found",
		"Out of memory and no killable processes...":                    "Out of memory and no killable processes",
		"dumptest":    "dumptest",
		"12345":       "",
		"\xff\xfe":    "",
		"héllo wörld": "",
	} {
		if got := stableMessage([]byte(in)); got != want {
			t.Errorf("stableMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHeader(t *testing.T) {
	for in, want := range map[string]Kind{
		"BUG: kernel NULL pointer dereference, address: 0000000000000000":                                              KindNULLPointer,
		"BUG: unable to handle kernel NULL pointer dereference at 0000000000000010":                                    KindNULLPointer,
		"BUG: unable to handle page fault for address: ffffffff8163e940":                                               KindPageFault,
		"BUG: unable to handle kernel paging request at ffffffffa0000000":                                              KindPageFault,
		"watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:97]":                                                    KindSoftLockup,
		"NMI watchdog: Watchdog detected hard LOCKUP on cpu 3":                                                         KindHardLockup,
		"kernel BUG at drivers/misc/lkdtm/bugs.c:105!":                                                                 KindKernelBUG,
		"kernel BUG at lib/list_debug.c:62!":                                                                           KindListCorruption,
		"WARNING: CPU: 0 PID: 97 at drivers/misc/lkdtm/bugs.c:112 lkdtm_WARNING+0xc/0xf":                               KindWarning,
		"WARNING: drivers/misc/lkdtm/bugs.c:118 at lkdtm_WARNING+0x10/0x20, CPU#1: sh/42":                              KindWarning,
		"WARNING: at lkdtm_WARNING+0x10/0x20, CPU#1: sh/42":                                                            KindWarning,
		"WARNING: at fs/foo.c:12 foo_bar()":                                                                            KindWarning,
		"WARNING: possible circular locking dependency detected":                                                       KindLockdep,
		"general protection fault, probably for non-canonical address 0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN": KindGPF,
		"Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP":                     KindGPF,
		"Oops: invalid opcode: 0000 [#1] SMP":                                                                          KindInvalidOpcode,
		"invalid opcode: 0000 [#1] PREEMPT SMP NOPTI":                                                                  KindInvalidOpcode,
		"divide error: 0000 [#1] PREEMPT SMP NOPTI":                                                                    KindDivideError,
		"Oops: divide error: 0000 [#1] SMP":                                                                            KindDivideError,
		"stack segment: 0000 [#1] SMP":                                                                                 KindOops,
		"Oops: 0002 [#1] PREEMPT SMP NOPTI":                                                                            KindOops,
		"Oops: Oops: 0002 [#1] SMP":                                                                                    KindOops,
		"Internal error: Oops: 0000000096000046 [#1]  SMP":                                                             KindOops,
		"PANIC: double fault, error_code: 0x0":                                                                         KindDoubleFault,
		"BUG: TASK stack guard page was hit at 00000000955bac7e (stack is 0..1)":                                       KindStackOverflow,
		"Kernel panic - not syncing: sysrq triggered crash":                                                            KindPanic,
		"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: f":                                 KindStackProtector,
		"INFO: task sh:211 blocked for more than 241 seconds.":                                                         KindHungTask,
		"rcu: INFO: rcu_preempt self-detected stall on CPU":                                                            KindRCUStall,
		"INFO: rcu_sched detected stalls on CPUs/tasks:":                                                               KindRCUStall,
		"BUG: KASAN: slab-use-after-free in kmalloc_uaf+0x31e/0x360 [kasan_test]":                                      KindKASAN,
		"BUG: KFENCE: use-after-free read in test_use_after_free_read+0xb3/0x143":                                      KindKFENCE,
		"UBSAN: signed-integer-overflow in drivers/misc/lkdtm/bugs.c:380:9":                                            KindUBSAN,
		"list_add corruption. next->prev should be prev (ffff), but was 0. (next=1).":                                  KindListCorruption,
		"strscpy: detected buffer overflow: 9 byte read of buffer size 8":                                              KindFortify,
		"memcpy: detected field-spanning write (size 20) of single field":                                              KindFortify,
		"refcount_t: overflow; use-after-free.":                                                                        KindRefcount,
		"Unable to handle kernel NULL pointer dereference at virtual address 0000":                                     KindNULLPointer,
		"Unable to handle kernel paging request at virtual address ffff000012345678":                                   KindPageFault,
		"BUG: scheduling while atomic: sh/85/0x00000002":                                                               KindBUG,
		"BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 33s!":                                   KindBUG,
		// Not reports.
		"WARNING: The mand mount option has been deprecated":  "",
		"WARNING: CPU#0 got something strange":                "",
		"Kernel panic is what this line talks about":          "",
		"general protection faults are bad":                   "",
		"invalid opcode: 0x0f0b":                              "",
		"BUG: 12345":                                          "",
		"lkdtm: Performing direct entry BUG":                  "",
		"sysrq: Trigger a crash":                              "",
		"INFO: lockdep is turned off.":                        "",
		"Oops: an application crashed":                        "",
		"disabling lock debugging due to kernel taint":        "",
		"systemd[1]: Started Journal Service.":                "",
		"rcu: Hierarchical RCU implementation.":               "",
		"refcount_t":                                          "",
		"eth0: detected link beat":                            "",
		"usb 1-1: new high-speed USB device number 2 [#1] OK": "",
	} {
		h, ok := parseHeader([]byte(in))
		if want == "" {
			if ok {
				t.Errorf("parseHeader(%q) = %q (%s), want no header", in, h.kind, h.stem)
			}
			continue
		}
		if !ok || h.kind != want {
			t.Errorf("parseHeader(%q) = %q, %v; want %q", in, h.kind, ok, want)
		}
	}
}

// vary rewrites everything in a log that differs between machines, boots
// and builds of the same kernel: times, addresses, offsets and sizes,
// PIDs, CPU numbers, process names, module build ids, clone suffixes.
func vary(log string) string {
	for _, r := range []struct{ re, to string }{
		{`\[ *[0-9]+\.[0-9]+\]`, "[ 4242.424242]"},
		{`[0-9a-f]{16}`, "ffff8881deadbeef"},
		{`\+0x[0-9a-f]+/0x[0-9a-f]+`, "+0x99/0x777"},
		{`PID: [0-9]+`, "PID: 31337"},
		{`CPU: [0-9]+`, "CPU: 63"},
		{`CPU#[0-9]+`, "CPU#63"},
		{`Comm: [a-z]+`, "Comm: python3"},
		{`: (sh|bash)/[0-9]+`, ": python3/31337"},
		{`\[lkdtm\]`, "[lkdtm 0123456789abcdef0123456789abcdef01234567]"},
		{`direct_entry\+`, "direct_entry.cold+"},
		{`\.c:[0-9]+`, ".c:999"},
		{`7\.2\.13-amd64`, "7.2.99-cloud-amd64"},
	} {
		log = regexp.MustCompile(r.re).ReplaceAllString(log, r.to)
	}
	return log
}

func TestSignatureStable(t *testing.T) {
	sig := func(name string) (Report, Result) {
		log, missing := readCorpus(t, name)
		res := Extract(log, missing)
		p, ok := res.Primary()
		if !ok {
			t.Fatalf("%s: no report", name)
		}
		return p, res
	}
	// The same bug on two hosts and two releases (6.12 and 7.2), with a
	// trace with and without its "Call Trace:" line.
	a, _ := sig("made-6.12-lkdtm-warning-hostA")
	b, _ := sig("made-7.2-lkdtm-warning-hostB")
	c, _ := sig("made-7.2-warning-no-call-trace-line")
	if a.Signature != b.Signature || a.Signature != c.Signature || a.Title != b.Title {
		t.Errorf("lkdtm WARNING: 6.12 host A %s %q, 7.2 host B %s %q, 7.2 without Call Trace: %s", a.Signature, a.Title, b.Signature, b.Title, c.Signature)
	}
	// The same oops on x86-64 and arm64.
	x, _ := sig("made-7.2-lkdtm-exception")
	arm, _ := sig("made-7.2-arm64-lkdtm-exception")
	if x.Signature != arm.Signature {
		t.Errorf("lkdtm EXCEPTION: x86-64 %s %q, arm64 %s %q", x.Signature, x.Frames, arm.Signature, arm.Frames)
	}
	// The same oops in three real dumps from three boots of the test
	// kernel (different times and PIDs); the third is a secondary report.
	r1, _ := sig("real-6.12-lkdtm-exception")
	r2, _ := sig("real-6.12-oops-then-panic-1")
	_, r3 := sig("real-6.12-warning-oops-panic")
	if r1.Signature != r2.Signature || r1.Signature != r3.Reports[1].Signature {
		t.Errorf("real EXCEPTION dumps: %s, %s, %s", r1.Signature, r2.Signature, r3.Reports[1].Signature)
	}
	// Real: the same panic on stock Debian 6.12.95 and 7.2.13, the same
	// WARNING on stock 6.12.95 and the written 7.2 one, the same oops on
	// stock 6.12.95 and the written 7.2 x86-64 and arm64 ones.
	for _, pair := range [][2]string{
		{"stock-6.12.95-sysrq", "stock-7.2.13-sysrq"},
		{"stock-6.12.95-lkdtm-warning", "made-7.2-lkdtm-warning-hostB"},
		{"stock-6.12.95-lkdtm-exception", "made-7.2-lkdtm-exception"},
		{"stock-6.12.95-lkdtm-exception", "made-7.2-arm64-lkdtm-exception"},
		{"stock-6.12.95-lkdtm-corrupt-list-add", "made-6.12-list-add-corruption-warn"},
		{"stock-6.12.95-lkdtm-hung-task", "made-6.12-lkdtm-hung-task"},
	} {
		a, _ := sig(pair[0])
		b, _ := sig(pair[1])
		if a.Signature != b.Signature || a.Title != b.Title {
			t.Errorf("%s: %q %s %q; %s: %q %s %q", pair[0], a.Title, a.Signature, a.Frames, pair[1], b.Title, b.Signature, b.Frames)
		}
	}
	// Everything that varies between machines rewritten: same result.
	for _, name := range []string{"made-7.2-lkdtm-warning-hostB", "made-6.12-lkdtm-warning-hostA", "made-7.2-soft-lockup-irq",
		"made-6.12-kasan-slab-use-after-free", "real-6.12-lkdtm-bug", "made-7.2-rcu-self-detected-stall"} {
		log, _ := readCorpus(t, name)
		orig := Extract(log, nil)
		varied := Extract([]byte(vary(string(log))), nil)
		if len(orig.Reports) != len(varied.Reports) {
			t.Fatalf("%s: %d reports, %d after rewriting", name, len(orig.Reports), len(varied.Reports))
		}
		for i := range orig.Reports {
			o, v := orig.Reports[i], varied.Reports[i]
			if o.Title != v.Title || o.Signature != v.Signature || strings.Join(o.Frames, " ") != strings.Join(v.Frames, " ") {
				t.Errorf("%s report %d: %q %s %q; rewritten: %q %s %q", name, i, o.Title, o.Signature, o.Frames, v.Title, v.Signature, v.Frames)
			}
		}
	}
}

func TestSignatureDistinct(t *testing.T) {
	// Different bugs: every distinct primary title of the corpus has its
	// own signature.
	bySig := map[string]string{}
	for _, c := range corpus {
		log, missing := readCorpus(t, c.name)
		for _, r := range Extract(log, missing).Reports {
			if prev, ok := bySig[r.Signature]; ok && prev != r.Title {
				t.Errorf("signature %s for %q and %q", r.Signature, prev, r.Title)
			}
			bySig[r.Signature] = r.Title
		}
	}
	// The same title reached from another caller is another bug.
	log, _ := readCorpus(t, "made-6.12-lkdtm-warning-hostA")
	a := Extract(log, nil).Reports[0]
	other := strings.ReplaceAll(string(log), "direct_entry+", "other_entry+")
	b := Extract([]byte(other), nil).Reports[0]
	if a.Title != b.Title || a.Signature == b.Signature {
		t.Errorf("same title from two callers: %q %s and %q %s", a.Title, a.Signature, b.Title, b.Signature)
	}
	// Unreliable frames do not enter the signature: guesses from stale
	// stack contents must not split a bug.
	real, _ := readCorpus(t, "real-6.12-lkdtm-warning")
	r := Extract(real, nil).Reports[0]
	stale := strings.Replace(string(real), "? handle_mm_fault+0xdd/0x15f", "? do_anonymous_page+0x1/0x2", 1)
	s := Extract([]byte(stale), nil).Reports[0]
	if !r.UnreliableFrames || r.Signature != s.Signature {
		t.Errorf("unreliable frames changed the signature: %s %v, %s %v", r.Signature, r.Frames, s.Signature, s.Frames)
	}
	if want := signature("WARNING in lkdtm_WARNING", "lkdtm_WARNING", []string{"lkdtm_WARNING"}); r.Signature != want {
		t.Errorf("signature %s, want %s (title, guilty and the RIP)", r.Signature, want)
	}
}

// The signature is a promise (docs/crash-titles.md): these values must
// not change without a new SignatureVersion.
func TestSignatureVersion1(t *testing.T) {
	if SignatureVersion != 1 {
		t.Fatalf("SignatureVersion %d: update the pinned values and the doc", SignatureVersion)
	}
	for _, c := range []struct {
		title, guilty string
		frames        []string
		want          string
	}{
		{"kernel panic: sysrq triggered crash", "sysrq_handle_crash", nil, "9983882e315e40c4"},
		{"WARNING in lkdtm_WARNING", "lkdtm_WARNING",
			[]string{"lkdtm_WARNING", "lkdtm_do_action", "direct_entry", "full_proxy_write", "vfs_write", "ksys_write"}, "b60d4a4d2b9f194a"},
	} {
		if got := signature(c.title, c.guilty, c.frames); got != c.want {
			t.Errorf("signature(%q) = %s, want %s", c.title, got, c.want)
		}
	}
}

func TestUnlocatedGap(t *testing.T) {
	log, _ := readCorpus(t, "real-6.12-sysrq-panic")
	// A missing range the log has no marker for: where it fell is unknown.
	res := Extract(log, []Range{{100, 200}})
	p, _ := res.Primary()
	if !p.Corrupted || !strings.Contains(p.CorruptedReason, "no marker") {
		t.Errorf("unlocated gap: corrupted %v %q", p.Corrupted, p.CorruptedReason)
	}
	// A marker line in a complete log is text, not a gap.
	forged := strings.Replace(string(log), "<4>[    6.301928]  ? __handle_sysrq", "[netoops: 10 bytes missing at offset 5]\n<4>[    6.301928]  ? __handle_sysrq", 1)
	res = Extract([]byte(forged), nil)
	if p, _ := res.Primary(); p.Corrupted || p.Title != "kernel panic: sysrq triggered crash" {
		t.Errorf("forged marker: %q corrupted %v %q", p.Title, p.Corrupted, p.CorruptedReason)
	}
}

// docs/crash-titles.md lists every skip rule.
func TestDocListsRules(t *testing.T) {
	doc, err := os.ReadFile("../../docs/crash-titles.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, rules := range map[string][]string{
		"reporting": reportingRules, "helper": helperRules, "interrupt": interruptRules,
		"stall": stallRules, "hang": hangRules, "lockdep": lockdepRules,
	} {
		for _, r := range rules {
			if !strings.Contains(string(doc), "`"+r+"`") {
				t.Errorf("docs/crash-titles.md does not list the %s rule `%s`", name, r)
			}
		}
	}
	if !strings.Contains(string(doc), fmt.Sprintf("version %d", SignatureVersion)) {
		t.Errorf("docs/crash-titles.md does not name signature version %d", SignatureVersion)
	}
}

// Two WARNINGs back to back: the second's "cut here" line starts the
// second report, not the end of the first.
func TestBackToBack(t *testing.T) {
	one, _ := readCorpus(t, "made-6.12-lkdtm-warning-hostA")
	log := append(append([]byte{}, one...), one...)
	res := Extract(log, nil)
	if len(res.Reports) != 2 {
		t.Fatalf("%d reports, want 2", len(res.Reports))
	}
	first, second := res.Reports[0], res.Reports[1]
	cut := strings.Index(string(one), "------------[ cut here ]")
	cut = strings.LastIndex(string(one[:cut]), "\n") + 1
	if second.Start != len(one)+cut || first.End > second.Start {
		t.Errorf("first [%d,%d), second starts at %d, want %d", first.Start, first.End, second.Start, len(one)+cut)
	}
	if first.Signature != second.Signature || first.Primary == second.Primary {
		t.Errorf("%s primary=%v, %s primary=%v", first.Signature, first.Primary, second.Signature, second.Primary)
	}
}

func TestTitles(t *testing.T) {
	for in, want := range map[string]string{
		"<0>[ 1.0] Kernel panic - not syncing: \n":                                   "kernel panic",
		"<0>[ 1.0] Kernel panic - not syncing: 0xdeadbeef\n":                         "kernel panic",
		"<0>[ 1.0] Kernel panic - not syncing: Fatal exception\n":                    "kernel panic: Fatal exception",
		"<3>[ 1.0] BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0\n":           "BUG: workqueue lockup",
		"<3>[ 1.0] BUG: Bad rss-counter state mm:00000000 type:MM_FILEPAGES val:1\n": "BUG: Bad rss-counter state",
	} {
		res := Extract([]byte(in), nil)
		p, ok := res.Primary()
		if !ok || p.Title != want {
			t.Errorf("%q: title %q, want %q", in, p.Title, want)
		}
	}
}
