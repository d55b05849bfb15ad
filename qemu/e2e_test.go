//go:build e2e

package qemu

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The suite's inputs. make e2e sets NETOOPS_E2E_REQUIRE=1, which turns a
// missing kernel or binary into a failure instead of a skip.
type e2eEnv struct {
	root       string
	kernel     string
	modules    []string
	busybox    string
	netoopsctl string
	catcher    string
	out        string // out/e2e
	missing    []string
}

var (
	env     e2eEnv
	results = &resultTable{}
	keep    = flag.Bool("e2e.keep", false, "keep every scenario's initramfs, not only failed ones")
)

func TestMain(m *testing.M) {
	flag.Parse()
	root, _ := filepath.Abs("..")
	// scripts/e2e.sh runs the suite once per kernel, each into its own
	// directory (NETOOPS_E2E_OUT).
	env = e2eEnv{root: root, out: envOr("NETOOPS_E2E_OUT", filepath.Join(root, "out", "e2e"))}
	env.kernel = envOr("NETOOPS_E2E_KERNEL", filepath.Join(root, "out/kernel/bzImage"))
	// out/kernel/bzImage has netoops built in; NETOOPS_E2E_MODULES lists
	// .ko files to insmod in order for a kernel that needs them.
	env.modules = strings.Fields(os.Getenv("NETOOPS_E2E_MODULES"))
	env.busybox = envOr("NETOOPS_E2E_BUSYBOX", "/bin/busybox")
	env.netoopsctl = envOr("NETOOPS_E2E_NETOOPSCTL", filepath.Join(root, "out/bin/netoopsctl"))
	env.catcher = envOr("NETOOPS_E2E_CATCHER", filepath.Join(root, "out/bin/catcher"))
	for _, f := range []string{env.kernel, env.busybox, env.netoopsctl, env.catcher} {
		if !fileExists(f) {
			env.missing = append(env.missing, f)
		}
	}
	os.MkdirAll(env.out, 0o755)
	start := time.Now()
	code := m.Run()
	results.write(filepath.Join(env.out, "summary.txt"), time.Since(start))
	os.Exit(code)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// scenario is one test's guest, catchers and results.
type scenario struct {
	t     *testing.T
	name  string
	dir   string
	sink  *Sink
	start time.Time
	ctx   context.Context
	vms   []*VM
	notes []string
	mu    sync.Mutex
	// reported marks the guests whose failures were reported.
	reported map[*VM]bool
}

// begin starts a scenario: its own directory under out/e2e, an upload sink,
// and a row in the summary. Scenarios run two at a time (-parallel 2).
func begin(t *testing.T, name string) *scenario {
	t.Helper()
	if len(env.missing) > 0 {
		if os.Getenv("NETOOPS_E2E_REQUIRE") != "" {
			t.Fatalf("missing: %s (run make kernel build)", strings.Join(env.missing, " "))
		}
		t.Skipf("missing: %s (run make kernel build)", strings.Join(env.missing, " "))
	}
	t.Parallel()
	s := &scenario{t: t, name: name, dir: filepath.Join(env.out, name), start: time.Now()}
	os.RemoveAll(s.dir)
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s.ctx = ctx
	sink, err := NewSink(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	s.sink = sink
	t.Cleanup(func() {
		cancel()
		for _, vm := range s.vms {
			vm.Kill()
		}
		sink.Close()
		status := "PASS"
		switch {
		case t.Failed():
			status = "FAIL"
		case t.Skipped():
			status = "SKIP"
		}
		if t.Failed() {
			for _, vm := range s.vms {
				t.Logf("console: %s", vm.Console)
				t.Logf("script output: %s", vm.GuestLog)
			}
		} else if !*keep {
			for _, vm := range s.vms {
				os.Remove(filepath.Join(filepath.Dir(vm.Console), "initrd.cpio"))
			}
		}
		results.add(resultRow{name: name, status: status, dur: time.Since(s.start), notes: s.notes})
	})
	return s
}

// note adds a line to the scenario's summary row and the test log.
func (s *scenario) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.notes = append(s.notes, msg)
	s.mu.Unlock()
	s.t.Log(msg)
}

// catcher starts `catcher listen` on the given addresses ("127.0.0.1" or
// "::1"), each on a fresh port, and returns it and the ports.
func (s *scenario) catcher(name string, extra []string, addrs ...string) (*Catcher, []int) {
	s.t.Helper()
	var ports []int
	var listen []string
	for _, a := range addrs {
		p, err := FreeUDPPort(a)
		if err != nil {
			s.t.Fatal(err)
		}
		ports = append(ports, p)
		listen = append(listen, fmt.Sprintf("[%s]:%d", a, p))
	}
	c, err := StartCatcher(s.ctx, env.catcher, s.dir, name, append(catcherListenArgs(listen), extra...), ports...)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(c.Stop)
	return c, ports
}

// hostNet makes a network namespace of the scenario's own (HostNet),
// removed at the end of the test.
func (s *scenario) hostNet() *HostNet {
	s.t.Helper()
	h, err := NewHostNet(s.name)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(h.Close)
	return h
}

// catcherIn starts `catcher listen` inside h's namespace on addr (an
// address of the namespace) and a port free on the host, and returns it
// and the port.
func (s *scenario) catcherIn(h *HostNet, name, addr string) (*Catcher, int) {
	s.t.Helper()
	p, err := FreeUDPPort("127.0.0.1")
	if err != nil {
		s.t.Fatal(err)
	}
	c, err := StartCatcherIn(s.ctx, h, env.catcher, s.dir, name, catcherListenArgs([]string{fmt.Sprintf("%s:%d", addr, p)}), p)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(c.Stop)
	return c, p
}

// catcherListenArgs is the catcher command line for receiving on a UDP
// socket (docs/catcher.md): one address per catcher.
func catcherListenArgs(listen []string) []string {
	return []string{"listen", "--idle", "2s", "--listen", listen[0]}
}

// guestOpts are a boot's settings beyond the script.
type guestOpts struct {
	name    string // sub-directory for a scenario's second or later guest
	cmdline string
	netdev  string
	pcap    bool
	quiet   bool // no ignore_loglevel: only messages above the loglevel reach the console
	nic     string
	timeout time.Duration
	env     map[string]string
	files   map[string][]byte
	smp     int    // vCPUs, default 1
	cpu     string // -cpu model (default NETOOPS_E2E_QEMU_CPU, else QEMU's)
	qmp     bool   // a QMP socket, for VM.InjectNMI
	// vm, if set, adjusts the boot before it starts (a firmware boot).
	vm   func(*VMConfig) error
	nics []NIC // more NICs: eth1, eth2, ...
}

// boot builds the initramfs for script and starts the guest.
func (s *scenario) boot(script string, o guestOpts) *VM {
	s.t.Helper()
	dir := s.dir
	if o.name != "" {
		dir = filepath.Join(s.dir, o.name)
		os.MkdirAll(dir, 0o755)
	}
	e := map[string]string{"E2E_SINK": itoa(s.sink.Port()), "E2E_SCENARIO": s.name, "GUEST_HOSTNAME": "e2e-" + s.name}
	for k, v := range o.env {
		e[k] = v
	}
	g := Guest{Busybox: env.busybox, Netoopsctl: env.netoopsctl, Modules: env.modules, Script: script, Env: e, Files: o.files}
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := g.Build(initrd); err != nil {
		s.t.Fatal(err)
	}
	if o.timeout == 0 {
		o.timeout = 120 * time.Second
	}
	// The debug kernel (lockdep, KASAN) runs slower under TCG.
	if debugKernel() {
		o.timeout *= 2
	}
	cmdline := o.cmdline
	if !o.quiet {
		cmdline = "ignore_loglevel " + cmdline
	}
	// e1000 by default: QEMU processes its transmit ring synchronously, as
	// a real NIC's hardware would, so a dump does not depend on how soon
	// QEMU's main loop gets the CPU. virtio-net has its own scenario.
	nic := envOr("E2E_NIC", "e1000")
	if o.nic != "" {
		nic = o.nic
	}
	cpu := o.cpu
	if cpu == "" {
		cpu = os.Getenv("NETOOPS_E2E_QEMU_CPU")
	}
	cfg := VMConfig{Kernel: env.kernel, Initrd: initrd, Cmdline: cmdline, Netdev: o.netdev, Dir: dir, Timeout: o.timeout, NIC: nic,
		SMP: o.smp, CPU: cpu, QMP: o.qmp, NICs: o.nics}
	if o.pcap || os.Getenv("E2E_PCAP") != "" {
		cfg.Pcap = filepath.Join(dir, "guest-nic.pcap")
	}
	if o.vm != nil {
		if err := o.vm(&cfg); err != nil {
			s.t.Fatal(err)
		}
	}
	vm, err := StartVM(s.ctx, cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.vms = append(s.vms, vm)
	return vm
}

// waitExit waits for the guest to end by itself and fails the scenario if
// it had to be killed or reported a failure.
func (s *scenario) waitExit(vm *VM) {
	s.t.Helper()
	if err := vm.Wait(); err != nil {
		s.t.Errorf("guest: %v", err)
	}
	s.guestFailures(vm)
}

// goRuntimeNeeds maps a Go runtime failure in the guest to the kernel
// option it lacks: netoopsctl is a static Go binary.
var goRuntimeNeeds = map[string]string{
	"futexwakeup":                             "CONFIG_FUTEX",
	"runtime: epollcreate failed":             "CONFIG_EPOLL",
	"runtime: eventfd failed":                 "CONFIG_EVENTFD",
	"runtime: netpollinit failed":             "CONFIG_EPOLL",
	"runtime: failed to create new OS thread": "CONFIG_FUTEX",
}

// guestFailures fails the test for every E2E-FAIL line the script logged,
// and explains a Go runtime that could not start in the guest.
func (s *scenario) guestFailures(vm *VM) {
	s.t.Helper()
	s.mu.Lock()
	if s.reported == nil {
		s.reported = map[*VM]bool{}
	}
	done := s.reported[vm]
	s.reported[vm] = true
	s.mu.Unlock()
	if done {
		return
	}
	if gl, err := os.ReadFile(vm.GuestLog); err == nil {
		for msg, opt := range goRuntimeNeeds {
			if bytes.Contains(gl, []byte(msg)) {
				s.t.Errorf("netoopsctl (Go) crashed in the guest with %q: the kernel needs %s=y (qemu/kernel.config; see qemu/README.md)", msg, opt)
			}
		}
	}
	console := vm.ReadConsole()
	for _, l := range strings.Split(console, "\n") {
		if i := strings.Index(l, "E2E-FAIL:"); i >= 0 {
			s.t.Errorf("guest: %s", l[i:])
		}
	}
	if debugKernel() {
		s.splats(vm, console)
	}
}

// splats fails the test for each report of the debug kernel's checkers
// that names netoops, and logs the kernel's own (see Splats): with the
// report in full either way, since the console may not outlive the run.
func (s *scenario) splats(vm *VM, console string) {
	s.t.Helper()
	var own []string
	for _, sp := range Splats(console) {
		report := strings.Join(sp.Lines, "\n")
		if sp.Netoops {
			s.t.Errorf("debug kernel splat naming netoops (see %s): %s\n%s", vm.Console, sp.Line, report)
			continue
		}
		s.t.Logf("debug kernel report of the kernel's own, no netoops function in it (see %s):\n%s", vm.Console, report)
		if sp.Lockdep() {
			own = append(own, sp.Line+" (lockdep off for the rest of the boot)")
		} else {
			own = append(own, sp.Line)
		}
	}
	if len(own) > 0 {
		s.note("the kernel's own debug reports, not naming netoops: %s", strings.Join(own, "; "))
	}
}

// debugKernel is set by scripts/e2e.sh for the debug kernel's subset.
func debugKernel() bool { return os.Getenv("NETOOPS_E2E_DEBUG") != "" }

// upload returns a file the guest uploaded, failing the test without it.
func (s *scenario) upload(name string) []byte {
	s.t.Helper()
	b, ok := s.sink.Get(name)
	if !ok {
		s.t.Fatalf("the guest did not upload %s (see %s)", name, filepath.Join(s.dir, "guest.log"))
	}
	return b
}

// events waits for n events from c.
func (s *scenario) events(c *Catcher, n int, timeout time.Duration) []Event {
	s.t.Helper()
	var exited time.Time
	evs, err := c.WaitEvents(s.ctx, timeout, func(evs []Event) bool {
		if len(evs) >= n {
			return true
		}
		// Stop waiting 10 s after the last guest is gone.
		if exited.IsZero() && s.allExited() {
			exited = time.Now()
		}
		return !exited.IsZero() && time.Since(exited) > 10*time.Second
	})
	if err == nil && len(evs) < n {
		err = fmt.Errorf("catcher %s: %d events, want %d; the guest exited", c.Name, len(evs), n)
	}
	if err != nil {
		for _, vm := range s.vms {
			s.guestFailures(vm)
		}
		s.t.Fatalf("%v\ncatcher stderr:\n%s", err, c.Stderr())
	}
	return evs
}

// allExited reports whether every guest of the scenario has ended.
func (s *scenario) allExited() bool {
	for _, vm := range s.vms {
		select {
		case <-vm.Done():
		default:
			return false
		}
	}
	return len(s.vms) > 0
}

// readLog returns an event's stored log.
func (s *scenario) readLog(e Event) []byte {
	s.t.Helper()
	b, err := e.ReadLog()
	if err != nil {
		s.t.Fatalf("stored log: %v", err)
	}
	return b
}

// check fails the test (without stopping it) if err is not nil.
func (s *scenario) check(what string, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Errorf("%s: %v", what, err)
	}
}

// checkTitle checks the crash title the catcher gave a dump (when want is
// set) and that a crash title comes with a signature.
func (s *scenario) checkTitle(e Event, want string) {
	s.t.Helper()
	if want == "" {
		return
	}
	if e.Title != want {
		s.t.Errorf("dump %d: crash title %q, want %q", e.DumpSeq, e.Title, want)
	}
	if len(e.Signature) != 16 {
		s.t.Errorf("dump %d: crash signature %q, want 16 hex digits", e.DumpSeq, e.Signature)
	}
}

// checkDump runs the checks every crash dump gets: stored complete and
// whole, the reason, the expected lines, the known lines byte for byte as
// the guest's own syslog view had them, and the same lines as the console.
func (s *scenario) checkDump(e Event, reason string, snapshot []byte, console string, knownTag string, knownN int, wants ...string) []byte {
	s.t.Helper()
	log := s.readLog(e)
	if !e.Complete || e.MissingBytes != 0 {
		s.t.Errorf("dump %s/%d stored incomplete: %d bytes missing", e.BootID, e.DumpSeq, e.MissingBytes)
	}
	if e.Truncated {
		s.t.Errorf("dump %s/%d truncated", e.BootID, e.DumpSeq)
	}
	if int(e.TotalLen) != len(log) {
		s.t.Errorf("stored log is %d bytes, the dump said %d", len(log), e.TotalLen)
	}
	if reason != "" && e.Reason != reason {
		s.t.Errorf("reason %q, want %q", e.Reason, reason)
	}
	s.check("crash lines", CheckContains(log, wants...))
	if knownTag != "" {
		s.check("known lines", CheckKnown(log, knownTag, knownN))
	}
	if snapshot != nil {
		s.check("guest's log before the crash", checkPrefix(log, snapshot))
	}
	if console != "" {
		s.check("dump against the console", CheckAgainstConsole(log, console))
	}
	return log
}

// checkPrefix checks that the stored dump starts with exactly the bytes the
// guest read from its own log before crashing (dmesg -r: the same <N>
// prefixes and timestamps a kmsg dump renders).
func checkPrefix(dump, snapshot []byte) error {
	if len(snapshot) == 0 {
		return fmt.Errorf("empty snapshot")
	}
	if bytes.HasPrefix(dump, snapshot) {
		return nil
	}
	n := 0
	for n < len(dump) && n < len(snapshot) && dump[n] == snapshot[n] {
		n++
	}
	line := bytes.Count(snapshot[:n], []byte("\n")) + 1
	end := func(b []byte) string {
		e := min(n+80, len(b))
		return string(b[n:e])
	}
	return fmt.Errorf("dump (%d bytes) and guest snapshot (%d bytes) differ at byte %d (line %d): dump %q, snapshot %q",
		len(dump), len(snapshot), n, line, end(dump), end(snapshot))
}

// resultTable collects the summary printed at the end of the suite.
type resultTable struct {
	mu   sync.Mutex
	rows []resultRow
}

type resultRow struct {
	name, status string
	dur          time.Duration
	notes        []string
}

func (r *resultTable) add(row resultRow) {
	r.mu.Lock()
	r.rows = append(r.rows, row)
	r.mu.Unlock()
}

func (r *resultTable) write(path string, total time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rows) == 0 {
		return
	}
	sort.Slice(r.rows, func(i, j int) bool { return r.rows[i].name < r.rows[j].name })
	var b strings.Builder
	fmt.Fprintf(&b, "netoops e2e summary (%s, kernel %s)\n\n", time.Now().UTC().Format(time.RFC3339), env.kernel)
	fmt.Fprintf(&b, "%-24s %-6s %8s  %s\n", "SCENARIO", "RESULT", "TIME", "NOTES")
	counts := map[string]int{}
	for _, row := range r.rows {
		counts[row.status]++
		note := ""
		if len(row.notes) > 0 {
			note = row.notes[0]
		}
		fmt.Fprintf(&b, "%-24s %-6s %7.1fs  %s\n", row.name, row.status, row.dur.Seconds(), note)
		for _, n := range row.notes[min(1, len(row.notes)):] {
			fmt.Fprintf(&b, "%-24s %-6s %8s  %s\n", "", "", "", n)
		}
	}
	if l := latencySummary(); l != "" {
		b.WriteString("\n" + l)
	}
	for _, f := range figures.lines() {
		b.WriteString(f + "\n")
	}
	fmt.Fprintf(&b, "\nsuite wall time %.0fs; scenarios: %d passed, %d failed, %d skipped\n",
		total.Seconds(), counts["PASS"], counts["FAIL"], counts["SKIP"])
	os.WriteFile(path, []byte(b.String()), 0o644)
	fmt.Print("\n" + b.String())
}

// figures are the measured numbers scenarios report (loss, netconsole).
var figures = &figureList{}

type figureList struct {
	mu sync.Mutex
	l  []string
}

func (f *figureList) add(format string, args ...any) {
	f.mu.Lock()
	f.l = append(f.l, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *figureList) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := append([]string(nil), f.l...)
	sort.Strings(l)
	return l
}
