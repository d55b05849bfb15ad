package crashreport

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from what Extract returns now")

// want is what a corpus log must give: every report's title, primary
// first, and the primary's guilty frame and corruption.
type want struct {
	titles    []string
	guilty    string
	corrupted bool
}

// corpus: testdata/corpus/NAME.log (or .log.gz) with, for the real dumps
// the e2e suite's catcher stored, its sidecar NAME.json (whose "missing"
// ranges are passed to Extract). real-* are those dumps from the test
// kernel (6.12, CONFIG_UNWINDER_GUESS: every frame is "?"); made-* are
// written from the kernels' printk formats.
var corpus = []struct {
	name string
	want
}{
	{"real-6.12-sysrq-panic", want{titles: []string{"kernel panic: sysrq triggered crash"}, guilty: "sysrq_handle_crash"}},
	{"real-6.12-lkdtm-bug", want{titles: []string{"kernel BUG in lkdtm_BUG", "kernel panic: Fatal exception"}, guilty: "lkdtm_BUG"}},
	{"real-6.12-lkdtm-exception", want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", "kernel panic: Fatal exception"}, guilty: "lkdtm_EXCEPTION"}},
	{"real-6.12-lkdtm-warning", want{titles: []string{"WARNING in lkdtm_WARNING", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_WARNING"}},
	{"real-6.12-lkdtm-softlockup", want{titles: []string{"BUG: soft lockup in lkdtm_SOFTLOCKUP", "kernel panic: softlockup: hung tasks"}, guilty: "lkdtm_SOFTLOCKUP"}},
	{"real-6.12-oops-then-panic-1", want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION"}, guilty: "lkdtm_EXCEPTION"}},
	{"real-6.12-oops-then-panic-2", want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", "kernel panic: sysrq triggered crash"}, guilty: "lkdtm_EXCEPTION"}},
	{"real-6.12-large-log", want{titles: []string{"kernel panic: sysrq triggered crash"}, guilty: "sysrq_handle_crash"}},
	{"real-6.12-test-dump", want{}},
	{"real-6.12-test-dump-partial", want{}},
	{"real-6.12-lkdtm-warning-message", want{titles: []string{"WARNING in lkdtm_WARNING_MESSAGE", "kernel panic: sysrq triggered crash"}, guilty: "lkdtm_WARNING_MESSAGE"}},
	{"real-6.12-lkdtm-panic", want{titles: []string{"kernel panic: dumptest"}, guilty: "lkdtm_PANIC"}},
	{"real-6.12-lkdtm-refcount-inc-overflow", want{titles: []string{"refcount_t: saturated in lkdtm_REFCOUNT_INC_OVERFLOW", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_REFCOUNT_INC_OVERFLOW"}},
	{"real-6.12-lkdtm-refcount-dec-zero", want{titles: []string{"refcount_t: decrement hit 0 in lkdtm_REFCOUNT_DEC_ZERO", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_REFCOUNT_DEC_ZERO"}},
	{"real-6.12-lkdtm-write-ro", want{titles: []string{"BUG: unable to handle page fault in lkdtm_WRITE_RO", "kernel panic: Fatal exception"}, guilty: "lkdtm_WRITE_RO"}},
	{"real-6.12-lkdtm-write-kern", want{titles: []string{"BUG: unable to handle page fault in lkdtm_WRITE_KERN", "kernel panic: Fatal exception"}, guilty: "lkdtm_WRITE_KERN"}},
	// EXEC_DATA and EXEC_NULL jump from lkdtm's execute_location() to
	// data: the RIP has no function, the first frame is the jumper.
	{"real-6.12-lkdtm-exec-data", want{titles: []string{"BUG: unable to handle page fault in execute_location", "kernel panic: Fatal exception"}, guilty: "execute_location"}},
	{"real-6.12-lkdtm-exec-null", want{titles: []string{"BUG: kernel NULL pointer dereference in execute_location", "kernel panic: Fatal exception"}, guilty: "execute_location"}},
	{"real-6.12-lkdtm-access-null", want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_ACCESS_NULL", "kernel panic: Fatal exception"}, guilty: "lkdtm_ACCESS_NULL"}},
	{"real-6.12-lkdtm-exhaust-stack", want{titles: []string{"BUG: stack guard page was hit in recursive_loop", "kernel panic: Fatal exception in interrupt"}, guilty: "recursive_loop"}},
	{"real-6.12-lkdtm-stack-guard-page-leading", want{titles: []string{"BUG: stack guard page was hit in lkdtm_STACK_GUARD_PAGE_LEADING", "kernel panic: Fatal exception"}, guilty: "lkdtm_STACK_GUARD_PAGE_LEADING"}},
	{"real-6.12-lkdtm-softlockup-rcu-stall", want{titles: []string{
		"BUG: soft lockup in lkdtm_SOFTLOCKUP", "BUG: soft lockup in lkdtm_SOFTLOCKUP", "BUG: soft lockup in lkdtm_SOFTLOCKUP",
		"BUG: soft lockup in lkdtm_SOFTLOCKUP", "INFO: rcu detected stall in lkdtm_SOFTLOCKUP", "kernel panic: RCU Stall",
	}, guilty: "lkdtm_SOFTLOCKUP"}},
	{"real-6.12-warning-oops-panic", want{titles: []string{
		"WARNING in lkdtm_WARNING", "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", "kernel panic: sysrq triggered crash",
	}, guilty: "lkdtm_WARNING"}},

	// Console captures (console_msg_format=syslog) of Debian's stock
	// kernels, 6.12.95 from bookworm-backports with LKDTM built as an
	// external module, 7.2.13 from sid, booted in QEMU; the boot messages
	// are cut. Their unwinder is ORC: frames are reliable. The 7.2 one
	// keeps the serial console's CRLF line ends.
	{"stock-6.12.95-sysrq", want{titles: []string{"kernel panic: sysrq triggered crash"}, guilty: "sysrq_handle_crash"}},
	{"stock-7.2.13-sysrq", want{titles: []string{"kernel panic: sysrq triggered crash"}, guilty: "sysrq_handle_crash"}},
	{"stock-6.12.95-lkdtm-access-null", want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_ACCESS_NULL", "kernel panic: Fatal exception"}, guilty: "lkdtm_ACCESS_NULL"}},
	{"stock-6.12.95-lkdtm-bug", want{titles: []string{"kernel BUG in lkdtm_BUG", "kernel panic: Fatal exception"}, guilty: "lkdtm_BUG"}},
	{"stock-6.12.95-lkdtm-corrupt-list-add", want{titles: []string{"BUG: corrupted list in lkdtm_CORRUPT_LIST_ADD", "kernel panic: Fatal exception"}, guilty: "lkdtm_CORRUPT_LIST_ADD"}},
	{"stock-6.12.95-lkdtm-corrupt-list-del", want{titles: []string{"BUG: corrupted list in lkdtm_CORRUPT_LIST_DEL", "kernel panic: Fatal exception"}, guilty: "lkdtm_CORRUPT_LIST_DEL"}},
	{"stock-6.12.95-lkdtm-corrupt-stack", want{titles: []string{"kernel panic: stack-protector: Kernel stack is corrupted in lkdtm_CORRUPT_STACK"}, guilty: "lkdtm_CORRUPT_STACK"}},
	{"stock-6.12.95-lkdtm-corrupt-stack-strong", want{titles: []string{"kernel panic: stack-protector: Kernel stack is corrupted in lkdtm_CORRUPT_STACK_STRONG"}, guilty: "lkdtm_CORRUPT_STACK_STRONG"}},
	{"stock-6.12.95-lkdtm-exception", want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", "kernel panic: Fatal exception"}, guilty: "lkdtm_EXCEPTION"}},
	// The RIP is lkdtm's data_area (a module's data has symbols).
	{"stock-6.12.95-lkdtm-exec-data", want{titles: []string{"BUG: unable to handle page fault in data_area", "kernel panic: Fatal exception"}, guilty: "data_area"}},
	{"stock-6.12.95-lkdtm-exhaust-stack", want{titles: []string{"BUG: stack guard page was hit in recursive_loop", "kernel panic: Fatal exception in interrupt"}, guilty: "recursive_loop"}},
	{"stock-6.12.95-lkdtm-fortify-mem-object", want{titles: []string{"memcpy: detected buffer overflow in lkdtm_FORTIFY_MEM_OBJECT", "kernel BUG in lkdtm_FORTIFY_MEM_OBJECT", "kernel panic: Fatal exception"}, guilty: "lkdtm_FORTIFY_MEM_OBJECT"}},
	{"stock-6.12.95-lkdtm-hung-task", want{titles: []string{"INFO: task hung in lkdtm_HUNG_TASK", "kernel panic: hung_task: blocked tasks"}, guilty: "lkdtm_HUNG_TASK"}},
	{"stock-6.12.95-lkdtm-kfence-read-after-free", want{titles: []string{"KFENCE: use-after-free read in lkdtm_KFENCE_READ_AFTER_FREE", "kernel panic: KFENCE: panic_on_warn set"}, guilty: "lkdtm_KFENCE_READ_AFTER_FREE"}},
	{"stock-6.12.95-lkdtm-panic", want{titles: []string{"kernel panic: dumptest"}, guilty: "lkdtm_PANIC"}},
	{"stock-6.12.95-lkdtm-refcount-dec-zero", want{titles: []string{"refcount_t: decrement hit 0 in lkdtm_REFCOUNT_DEC_ZERO", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_REFCOUNT_DEC_ZERO"}},
	{"stock-6.12.95-lkdtm-refcount-inc-overflow", want{titles: []string{"refcount_t: saturated in lkdtm_REFCOUNT_INC_OVERFLOW", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_REFCOUNT_INC_OVERFLOW"}},
	// lkdtm_SLAB_FREE_DOUBLE tail-calls kmem_cache_free(): its frame
	// is not on the stack, and its caller is the first one that is.
	{"stock-6.12.95-lkdtm-slab-free-double", want{titles: []string{"kernel BUG in lkdtm_do_action", "kernel panic: Fatal exception"}, guilty: "lkdtm_do_action"}},
	{"stock-6.12.95-lkdtm-softlockup", want{titles: []string{"BUG: soft lockup in lkdtm_SOFTLOCKUP", "kernel panic: softlockup: hung tasks"}, guilty: "lkdtm_SOFTLOCKUP"}},
	// SPINLOCKUP returns to user space with the lock held; the shell
	// dies of it and the scheduler says so on its way out.
	{"stock-6.12.95-lkdtm-spinlockup", want{titles: []string{"BUG: scheduling while atomic in do_exit"}, guilty: "do_exit"}},
	{"stock-6.12.95-lkdtm-usercopy-slab-size-to", want{titles: []string{"BUG: bad usercopy in do_usercopy_slab_size", "kernel panic: Fatal exception"}, guilty: "do_usercopy_slab_size"}},
	{"stock-6.12.95-lkdtm-warning", want{titles: []string{"WARNING in lkdtm_WARNING", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_WARNING"}},
	{"stock-6.12.95-lkdtm-warning-message", want{titles: []string{"WARNING in lkdtm_WARNING_MESSAGE", "kernel panic: sysrq triggered crash"}, guilty: "lkdtm_WARNING_MESSAGE"}},
	{"stock-6.12.95-lkdtm-write-ro", want{titles: []string{"BUG: unable to handle page fault in lkdtm_WRITE_RO", "kernel panic: Fatal exception"}, guilty: "lkdtm_WRITE_RO"}},

	{"made-6.12-lkdtm-warning-hostA", want{titles: []string{"WARNING in lkdtm_WARNING"}, guilty: "lkdtm_WARNING"}},
	{"made-7.2-lkdtm-warning-hostB", want{titles: []string{"WARNING in lkdtm_WARNING", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_WARNING"}},
	{"made-7.2-warning-no-call-trace-line", want{titles: []string{"WARNING in lkdtm_WARNING"}, guilty: "lkdtm_WARNING"}},
	{"made-6.12-kasan-slab-use-after-free", want{titles: []string{"KASAN: slab-use-after-free Read in kmalloc_uaf"}, guilty: "kmalloc_uaf"}},
	{"made-6.1-kasan-gpf-null-ptr-deref", want{titles: []string{"general protection fault in foo_ring_clean", "kernel panic: Fatal exception"}, guilty: "foo_ring_clean"}},
	{"made-6.12-kfence-use-after-free", want{titles: []string{"KFENCE: use-after-free read in test_use_after_free_read"}, guilty: "test_use_after_free_read"}},
	{"made-6.12-ubsan-signed-overflow", want{titles: []string{"UBSAN: signed-integer-overflow in lkdtm_OVERFLOW_SIGNED"}, guilty: "lkdtm_OVERFLOW_SIGNED"}},
	{"made-7.2-ubsan-array-index", want{titles: []string{"UBSAN: array-index-out-of-bounds in lkdtm_ARRAY_BOUNDS"}, guilty: "lkdtm_ARRAY_BOUNDS"}},
	{"made-6.12-lkdtm-hung-task", want{titles: []string{"INFO: task hung in lkdtm_HUNG_TASK", "kernel panic: hung_task: blocked tasks"}, guilty: "lkdtm_HUNG_TASK"}},
	{"made-7.2-rcu-self-detected-stall", want{titles: []string{"INFO: rcu detected stall in foo_poll_ring"}, guilty: "foo_poll_ring"}},
	{"made-7.2-soft-lockup-irq", want{titles: []string{"BUG: soft lockup in foo_flush_work", "kernel panic: softlockup: hung tasks"}, guilty: "foo_flush_work"}},
	{"made-6.12-hard-lockup", want{titles: []string{"watchdog: hard LOCKUP in foo_hw_wait", "kernel panic: Hard LOCKUP"}, guilty: "foo_hw_wait"}},
	{"made-6.12-double-fault", want{titles: []string{"PANIC: double fault in recursive_loop", "kernel panic: Fatal exception in interrupt"}, guilty: "recursive_loop"}},
	{"made-6.12-stack-protector", want{titles: []string{"kernel panic: stack-protector: Kernel stack is corrupted in lkdtm_CORRUPT_STACK"}, guilty: "lkdtm_CORRUPT_STACK"}},
	{"made-6.12-list-add-corruption-warn", want{titles: []string{"BUG: corrupted list in lkdtm_CORRUPT_LIST_ADD"}, guilty: "lkdtm_CORRUPT_LIST_ADD"}},
	{"made-7.2-list-del-corruption-bug", want{titles: []string{"BUG: corrupted list in lkdtm_CORRUPT_LIST_DEL", "kernel panic: Fatal exception"}, guilty: "lkdtm_CORRUPT_LIST_DEL"}},
	{"made-6.1-kernel-bug-ext4", want{titles: []string{"kernel BUG in ext4_writepages", "kernel panic: Fatal exception"}, guilty: "ext4_writepages"}},
	{"made-6.1-divide-error", want{titles: []string{"divide error in foo_calc_rate"}, guilty: "foo_calc_rate"}},
	{"made-6.12-lockdep-circular", want{titles: []string{"possible deadlock in foo_stop"}, guilty: "foo_stop"}},
	{"made-7.2-arm64-lkdtm-exception", want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION"}, guilty: "lkdtm_EXCEPTION"}},
	{"made-7.2-lkdtm-exception", want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", "kernel panic: Fatal exception"}, guilty: "lkdtm_EXCEPTION"}},
	{"made-4.4-null-deref-in-irq", want{titles: []string{"BUG: kernel NULL pointer dereference in foo_rx", "kernel panic: Fatal exception in interrupt"}, guilty: "foo_rx"}},
	{"made-hostile-user-lines", want{}},
}

// cut is a gap made in a real dump: the bytes from the start of the
// first line containing from (plus fromSkip) to the start of the first
// line after it containing to (plus toSkip), or to the end when to is "".
type cut struct {
	from     string
	fromSkip int
	to       string
	toSkip   int
}

// partial: real dumps with bytes taken out, stored as the catcher stores
// a partial dump (a marker line in place of each gap).
var partial = []struct {
	name, base string
	cuts       []cut
	want
}{
	// The gap eats the middle of the oops's call trace.
	{"gap-in-oops-trace", "real-6.12-lkdtm-exception", []cut{{from: "? direct_entry", fromSkip: 20, to: "? ksys_write", toSkip: 10}},
		want{titles: []string{"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", "kernel panic: Fatal exception"}, guilty: "lkdtm_EXCEPTION", corrupted: true}},
	// The whole oops is missing: only its "Fatal exception" panic is left.
	{"oops-missing", "real-6.12-lkdtm-exception", []cut{{from: "lkdtm: Performing direct entry EXCEPTION", to: "Kernel panic - not syncing"}},
		want{titles: []string{"kernel panic: Fatal exception"}, corrupted: true}},
	// The gap starts in the middle of the header line.
	{"header-cut", "real-6.12-lkdtm-exception", []cut{{from: "BUG: kernel NULL pointer", fromSkip: 40, to: "RIP: 0010:", toSkip: 20}},
		want{titles: []string{"BUG: corrupted", "kernel panic: Fatal exception"}, corrupted: true}},
	// Between header and trace (the register dump): the RIP is lost.
	{"gap-before-trace", "real-6.12-lkdtm-bug", []cut{{from: "CPU: 0 UID: 0 PID: 96", to: "RSP: 0018"}},
		want{titles: []string{"kernel BUG", "kernel panic: Fatal exception"}, corrupted: true}},
	// The log ends inside the panic's call trace.
	{"cut-at-end", "real-6.12-sysrq-panic", []cut{{from: "? write_sysrq_trigger"}},
		want{titles: []string{"kernel panic: sysrq triggered crash"}, guilty: "sysrq_handle_crash", corrupted: true}},
	// Gaps in the boot log and after the reports do not touch them.
	{"gaps-elsewhere", "real-6.12-lkdtm-warning", []cut{{from: "E2E-KNOWN", fromSkip: 30, to: "E2E-KNOWN", toSkip: 700}, {from: "Kernel Offset", fromSkip: 20}},
		want{titles: []string{"WARNING in lkdtm_WARNING", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_WARNING"}},
	// A gap that ends exactly where a line starts leaves that line whole.
	{"gap-ends-at-line-start", "real-6.12-lkdtm-warning", []cut{{from: "lkdtm: Performing direct entry WARNING", to: "WARNING: CPU:"}},
		want{titles: []string{"WARNING in lkdtm_WARNING", "kernel panic: kernel: panic_on_warn set"}, guilty: "lkdtm_WARNING"}},
}

func readCorpus(t testing.TB, name string) ([]byte, []Range) {
	t.Helper()
	base := filepath.Join("testdata", "corpus", name)
	b, err := os.ReadFile(base + ".log")
	if os.IsNotExist(err) {
		f, ferr := os.Open(base + ".log.gz")
		if ferr != nil {
			t.Fatal(ferr)
		}
		defer f.Close()
		z, zerr := gzip.NewReader(f)
		if zerr != nil {
			t.Fatal(zerr)
		}
		b, err = io.ReadAll(z)
	}
	if err != nil {
		t.Fatal(err)
	}
	var side struct {
		Missing []struct {
			Start int64 `json:"start"`
			End   int64 `json:"end"`
		} `json:"missing"`
	}
	var missing []Range
	if j, err := os.ReadFile(base + ".json"); err == nil {
		if err := json.Unmarshal(j, &side); err != nil {
			t.Fatalf("%s.json: %v", base, err)
		}
		for _, m := range side.Missing {
			missing = append(missing, Range{m.Start, m.End})
		}
	}
	return b, missing
}

// store writes log with the ranges rs taken out the way the catcher
// stores a partial dump: a marker line for each gap, after a newline of
// its own when the bytes before it do not end with one.
func store(log []byte, rs []Range) []byte {
	var out []byte
	pos := int64(0)
	for _, r := range rs {
		out = append(out, log[pos:r.Start]...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, fmt.Sprintf("[netoops: %d bytes missing at offset %d]\n", r.End-r.Start, r.Start)...)
		pos = r.End
	}
	return append(out, log[pos:]...)
}

func (c cut) apply(t *testing.T, log []byte, after int64) Range {
	t.Helper()
	lineOf := func(s string, from int64) int64 {
		i := bytes.Index(log[from:], []byte(s))
		if i < 0 {
			t.Fatalf("%q not in the log after offset %d", s, from)
		}
		at := from + int64(i)
		return int64(bytes.LastIndexByte(log[:at], '\n') + 1)
	}
	start := lineOf(c.from, after) + int64(c.fromSkip)
	end := int64(len(log))
	if c.to != "" {
		nl := int64(bytes.IndexByte(log[start:], '\n'))
		end = lineOf(c.to, start+nl+1) + int64(c.toSkip)
	}
	return Range{start, end}
}

func check(t *testing.T, name string, log []byte, got Result, w want) {
	t.Helper()
	var titles []string
	for _, r := range got.Reports {
		titles = append(titles, r.Title)
	}
	if strings.Join(titles, "\n") != strings.Join(w.titles, "\n") {
		t.Errorf("%s: titles\n  got  %q\n  want %q", name, titles, w.titles)
	}
	p, ok := got.Primary()
	if !ok {
		return
	}
	if p.Guilty != w.guilty {
		t.Errorf("%s: guilty frame %q, want %q", name, p.Guilty, w.guilty)
	}
	if p.Corrupted != w.corrupted {
		t.Errorf("%s: corrupted %v (%s), want %v", name, p.Corrupted, p.CorruptedReason, w.corrupted)
	}
	for i, r := range got.Reports {
		if r.Primary != (i == 0) {
			t.Errorf("%s: report %d primary=%v", name, i, r.Primary)
		}
		if r.Start > r.HeaderStart || r.HeaderStart >= r.HeaderEnd || r.HeaderEnd > r.End || r.End > len(log) {
			t.Errorf("%s: report %d offsets start %d header [%d,%d) end %d in a %d-byte log", name, i, r.Start, r.HeaderStart, r.HeaderEnd, r.End, len(log))
		}
		if i > 0 && r.Start < got.Reports[i-1].End {
			t.Errorf("%s: report %d starts at %d, inside report %d (ends %d)", name, i, r.Start, i-1, got.Reports[i-1].End)
		}
		if len(r.Signature) != 16 {
			t.Errorf("%s: report %d signature %q", name, i, r.Signature)
		}
		if len(r.Frames) > TopFrames || (r.Guilty != "" && (len(r.Frames) == 0 || r.Frames[0] != r.Guilty)) {
			t.Errorf("%s: report %d guilty %q frames %q", name, i, r.Guilty, r.Frames)
		}
		for _, f := range r.Frames {
			if strings.ContainsAny(f, "+./ []?") {
				t.Errorf("%s: report %d frame %q is not normalised", name, i, f)
			}
		}
	}
}

// golden is a report as testdata/golden/NAME.json records it, with the
// lines it points at, for a reader of the file.
type golden struct {
	Report
	StartLine  string `json:"start_line"`
	HeaderLine string `json:"header_line"`
	EndLine    string `json:"end_line"`
}

func checkGolden(t *testing.T, name string, log []byte, got Result) {
	t.Helper()
	lineAt := func(start, end int) string {
		if end <= start {
			return ""
		}
		s := log[start:end]
		if i := bytes.IndexByte(s, '\n'); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}
	g := struct {
		Reports []golden `json:"reports"`
		Omitted int      `json:"omitted"`
	}{Reports: []golden{}, Omitted: got.Omitted}
	for _, r := range got.Reports {
		last := bytes.LastIndexByte(log[:r.End], '\n') + 1
		g.Reports = append(g.Reports, golden{r, lineAt(r.Start, r.End), lineAt(r.HeaderStart, r.HeaderEnd), lineAt(last, r.End)})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/crashreport -run TestCorpus -update)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s: output differs from %s (if the change is intended, run with -update and review the diff):\n%s", name, path, firstDiff(string(want), string(b)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  golden: %s\n  now:    %s", i+1, x, y)
		}
	}
	return ""
}

func TestCorpus(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			log, missing := readCorpus(t, c.name)
			got := Extract(log, missing)
			check(t, c.name, log, got, c.want)
			checkGolden(t, c.name, log, got)
		})
		seen[c.name] = true
	}
	// Every corpus file has its expectations.
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.log*"))
	for _, f := range files {
		n := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".gz"), ".log")
		if !seen[n] {
			t.Errorf("%s has no entry in the corpus table", f)
		}
	}
}

func TestPartial(t *testing.T) {
	for _, c := range partial {
		t.Run(c.name, func(t *testing.T) {
			full, _ := readCorpus(t, c.base)
			var rs []Range
			after := int64(0)
			for _, ct := range c.cuts {
				r := ct.apply(t, full, after)
				rs = append(rs, r)
				after = r.End
			}
			log := store(full, rs)
			got := Extract(log, rs)
			check(t, c.name, log, got, c.want)
			checkGolden(t, "partial-"+c.name, log, got)
		})
	}
}
