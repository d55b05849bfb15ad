package hook

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func runs() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "runs"}, []string{"result"})
}

func count(v *prometheus.CounterVec, result string) float64 {
	var m dto.Metric
	v.WithLabelValues(result).Write(&m)
	return m.GetCounter().GetValue()
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestTimeoutKillsTheCommand: a command that outlives --exec-timeout is
// killed with everything it started, not just the shell.
func TestTimeoutKillsTheCommand(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	v := runs()
	x := &Runner{Cmd: "sleep 30 & echo $! > " + pidFile + "; wait", Timeout: 300 * time.Millisecond, Max: 1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Runs: v}
	x.Start()
	x.Submit(event.Event{Log: "x.log"})
	x.Close()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the command's child %d outlived the timeout", pid)
	}
	if count(v, "timeout") != 1 {
		t.Fatalf("timeouts %v", count(v, "timeout"))
	}
}

// TestCloseIsBounded: at Close the queued commands run for at most one
// --exec-timeout in all; the running one is then killed and those not
// started are skipped and counted.
func TestCloseIsBounded(t *testing.T) {
	v := runs()
	x := &Runner{Cmd: "sleep 30", Timeout: 400 * time.Millisecond, Max: 1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Runs: v}
	x.Start()
	for i := range 6 {
		x.Submit(event.Event{Log: strconv.Itoa(i) + ".log"})
	}
	start := time.Now()
	x.Close()
	took := time.Since(start)
	if got := count(v, "timeout") + count(v, "skipped"); got != 6 {
		t.Fatalf("%v of 6 commands accounted for", got)
	}
	if count(v, "skipped") < 4 {
		t.Fatalf("%v skipped, %v timed out after %v: Close ran the queue one by one", count(v, "skipped"), count(v, "timeout"), took)
	}
}

// TestCommandsRun: commands run with the event's environment, ok counted.
func TestCommandsRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	v := runs()
	x := &Runner{Cmd: `printf '%s\n' "$NETOOPS_HOST" >> ` + out, Timeout: 5 * time.Second, Max: 2,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Runs: v}
	x.Start()
	for _, h := range []string{"a", "b", "c"} {
		x.Submit(event.Event{Host: h})
	}
	x.Close()
	b, _ := os.ReadFile(out)
	if n := strings.Count(string(b), "\n"); n != 3 || count(v, "ok") != 3 {
		t.Fatalf("output %q, ok %v", b, count(v, "ok"))
	}
}
