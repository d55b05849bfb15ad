package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Event is one line of the catcher's --events file (docs/catcher.md). The
// harness keeps its own copy of the fields it reads so that it depends on
// the documented schema, not on the catcher's Go types.
type Event struct {
	Time         time.Time `json:"time"`
	Host         string    `json:"host"`
	BootID       string    `json:"boot_id"`
	DumpSeq      uint32    `json:"dump_seq"`
	Release      string    `json:"release"`
	Reason       string    `json:"reason"`
	ReasonText   string    `json:"reason_text"`
	Complete     bool      `json:"complete"`
	TotalLen     uint32    `json:"total_len"`
	MissingBytes uint64    `json:"missing_bytes"`
	Packets      uint64    `json:"packets"`
	Duplicates   uint64    `json:"duplicates"`
	Truncated    bool      `json:"truncated"`
	Log          string    `json:"log"`
	Meta         string    `json:"meta"`
	Source       string    `json:"source"`
	// Title and Signature name the dump's first crash report
	// (docs/crash-titles.md); empty without one.
	Title     string `json:"title"`
	Signature string `json:"signature"`

	// SeenAt is when the harness first read the event line.
	SeenAt time.Time `json:"-"`
}

// ReadLog returns the stored log bytes.
func (e *Event) ReadLog() ([]byte, error) { return os.ReadFile(e.Log) }

// Catcher is a catcher subprocess.
type Catcher struct {
	Name   string
	Dir    string // dump store
	Events string // events file
	Args   []string
	cmd    *exec.Cmd
	stderr *os.File
	seen   map[string]time.Time
	done   chan struct{}
}

// StartCatcher runs `bin args...` with --dir and --events under dir/name,
// and waits until every UDP port in waitPorts is bound (so the guest's
// first packet is not lost to a catcher still starting).
func StartCatcher(ctx context.Context, bin, dir, name string, args []string, waitPorts ...int) (*Catcher, error) {
	c := &Catcher{Name: name, Dir: filepath.Join(dir, name), Events: filepath.Join(dir, name+".events.jsonl"), seen: map[string]time.Time{}, done: make(chan struct{})}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	os.Remove(c.Events)
	c.Args = append(append([]string{}, args...), "--dir", c.Dir, "--events", c.Events)
	f, err := os.Create(filepath.Join(dir, name+".stderr"))
	if err != nil {
		return nil, err
	}
	c.stderr = f
	c.cmd = exec.Command(bin, c.Args...)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	os.WriteFile(filepath.Join(dir, name+".cmd"), []byte(shellQuote(append([]string{bin}, c.Args...))+"\n"), 0o644)
	if err := c.cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range waitPorts {
		for !udpPortBound(p) {
			select {
			case <-c.done:
				b, _ := os.ReadFile(f.Name())
				return nil, fmt.Errorf("catcher %s exited: %s", name, bytes.TrimSpace(b))
			case <-ctx.Done():
				c.Stop()
				return nil, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				c.Stop()
				return nil, fmt.Errorf("catcher %s: port %d not bound after 10s", name, p)
			}
		}
	}
	return c, nil
}

// Stop ends the catcher: SIGTERM, then SIGKILL after 5 s.
func (c *Catcher) Stop() {
	select {
	case <-c.done:
	default:
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
	}
	c.stderr.Close()
}

// Exited reports whether the process has ended.
func (c *Catcher) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Stderr returns what the catcher printed.
func (c *Catcher) Stderr() string {
	b, _ := os.ReadFile(c.stderr.Name())
	return string(b)
}

// ReadEvents parses the events file written so far.
func (c *Catcher) ReadEvents() ([]Event, error) {
	f, err := os.Open(c.Events)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var evs []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	now := time.Now()
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			// a line still being written
			break
		}
		key := string(line)
		if _, ok := c.seen[key]; !ok {
			c.seen[key] = now
		}
		e.SeenAt = c.seen[key]
		evs = append(evs, e)
	}
	return evs, sc.Err()
}

// WaitEvents polls the events file until pred holds for the events so
// far, or timeout passes; it returns the last events read.
func (c *Catcher) WaitEvents(ctx context.Context, timeout time.Duration, pred func([]Event) bool) ([]Event, error) {
	deadline := time.Now().Add(timeout)
	for {
		evs, err := c.ReadEvents()
		if err != nil {
			return evs, err
		}
		if pred(evs) {
			return evs, nil
		}
		if time.Now().After(deadline) {
			return evs, fmt.Errorf("catcher %s: condition not met after %v (%d events)", c.Name, timeout, len(evs))
		}
		if c.Exited() {
			return evs, fmt.Errorf("catcher %s exited: %s", c.Name, strings.TrimSpace(c.Stderr()))
		}
		select {
		case <-ctx.Done():
			return evs, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// AtLeast is a WaitEvents predicate: n events.
func AtLeast(n int) func([]Event) bool { return func(e []Event) bool { return len(e) >= n } }

// FreeUDPPort returns a UDP port that is free on addr ("127.0.0.1" or "::1")
// right now.
func FreeUDPPort(addr string) (int, error) {
	c, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// udpPortBound reports whether some socket has the UDP port bound, from
// /proc/net/udp and udp6.
func udpPortBound(port int) bool {
	hex := fmt.Sprintf(":%04X ", port)
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 1 && strings.HasSuffix(fs[1]+" ", hex) {
				return true
			}
		}
	}
	return false
}
