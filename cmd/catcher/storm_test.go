package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/spool"
	"github.com/netoops/netoops/internal/lockedbuf"
	"github.com/netoops/netoops/pkg/wire"
)

// TestMain lets a test run the catcher as a child process of its own
// (TestKilledWithDumpsInFlight kills it with SIGKILL).
func TestMain(m *testing.M) {
	if args := os.Getenv("CATCHER_TEST_ARGS"); args != "" {
		os.Exit(run(context.Background(), append([]string{"catcher"}, strings.Split(args, "\x1f")...), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T, network string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func metricValue(t *testing.T, maddr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no metric %s", name)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestListenSockets: with four receive sockets, dumps whose packets come
// from several source ports and two source addresses, each dump's spread
// over all of them, are each stored once and whole; the kernel steers
// every packet to the socket of its dump's worker (none is passed between
// workers).
func TestListenSockets(t *testing.T) {
	dir := t.TempDir()
	bound := make(chan net.Addr, 1)
	onListen = func(a net.Addr) { bound <- a }
	defer func() { onListen = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedbuf.Buffer
	maddr := freePort(t, "tcp")
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"catcher", "listen", "--listen", "127.0.0.1:0", "--dir", dir, "--sockets", "4",
			"--workers", "4", "--mem-buffers", "65536", "--metrics", maddr}, &stdout, &stderr)
	}()
	var a net.Addr
	select {
	case a = <-bound:
	case code := <-done:
		t.Fatalf("exited %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "sockets=4") {
		t.Fatalf("log: %s", stderr.String())
	}
	// Six senders: three ports on 127.0.0.1, three on 127.0.0.2.
	var conns []*net.UDPConn
	for i := range 6 {
		src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%2))}
		c, err := net.DialUDP("udp", src, a.(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	var dumps []*wire.Dump
	var all [][][]byte
	for i := range 40 {
		d := mkDump(fmt.Sprintf("multi-%02d", i), uint32(i+1), 20000+i*97)
		d.BootID[0] = byte(i * 37)
		dumps = append(dumps, d)
		all = append(all, pkts(t, d))
	}
	sent := 0
	for j := 0; ; j++ {
		any := false
		for i, pk := range all {
			if j < len(pk) {
				conns[(i+j)%len(conns)].Write(pk[j]) // each piece of a dump from another sender
				any, sent = true, sent+1
			}
		}
		if !any {
			break
		}
		if j%4 == 3 {
			time.Sleep(time.Millisecond) // within the socket buffers of an unprivileged run
		}
	}
	waitFor(t, "every dump stored", func() bool { return len(events(t, stdout.String())) >= len(dumps) })
	evs := events(t, stdout.String())
	byHost := map[string]int{}
	for _, ev := range evs {
		byHost[ev.Host]++
	}
	for _, d := range dumps {
		if byHost[string(d.Host)] != 1 {
			t.Fatalf("%s stored %d times", d.Host, byHost[string(d.Host)])
		}
	}
	for _, ev := range evs {
		for _, d := range dumps {
			if ev.Host == string(d.Host) {
				checkStored(t, ev, d, true)
			}
		}
	}
	if got := metricValue(t, maddr, "netoops_catcher_packets_received_total"); got != float64(sent) {
		t.Fatalf("received %v of %d packets", got, sent)
	}
	if fwd := metricValue(t, maddr, "netoops_catcher_packets_forwarded_total"); fwd != 0 {
		t.Fatalf("%v packets passed between workers: the kernel did not steer by dump", fwd)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// TestKilledWithDumpsInFlight kills the catcher (a child process) with
// SIGKILL while two dumps are in flight in its spool, each missing one
// piece, after it reported a third stored: that one is on disk, whole,
// after the kill (and not stored again); the next run replays the spool,
// and the two last pieces complete the others: each is stored once,
// whole.
func TestKilledWithDumpsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the catcher as a child process")
	}
	dir := t.TempDir()
	start := func(out *lockedbuf.Buffer) (*exec.Cmd, *net.UDPAddr, string) {
		maddr := freePort(t, "tcp")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CATCHER_TEST_ARGS="+strings.Join([]string{"listen", "--listen", "127.0.0.1:0",
			"--dir", dir, "--mem-buffers", "0", "--idle", "1h", "--metrics", maddr, "--events", filepath.Join(dir, "events.jsonl")}, "\x1f"))
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		deadline := time.Now().Add(20 * time.Second)
		for {
			if m := re.FindStringSubmatch(out.String()); m != nil {
				ua, err := net.ResolveUDPAddr("udp", m[1])
				if err != nil {
					t.Fatal(err)
				}
				return cmd, ua, maddr
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("catcher did not start: %s", out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	var out1 lockedbuf.Buffer
	c1, a1, m1 := start(&out1)
	full, part := mkDump("killed-full", 1, 30000), mkDump("killed-part", 2, 40000)
	send := func(a *net.UDPAddr, pk [][]byte) {
		c, err := net.DialUDP("udp", nil, a)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, p := range pk {
			c.Write(p)
		}
	}
	// all but piece 0 of each (both copies), then piece 0
	pf, pp := pkts(t, full, 0), pkts(t, part, 0)
	lastOf := func(d *wire.Dump) (out [][]byte) {
		for _, p := range pkts(t, d) {
			var x wire.Packet
			if x.DecodeFromBytes(p) == nil && x.Index == 0 {
				out = append(out, p)
			}
		}
		return out
	}
	stored := mkDump("killed-stored", 3, 50000)
	ps := pkts(t, stored)
	send(a1, ps)
	waitFor(t, "the third dump reported stored", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "events.jsonl"))
		return bytes.Count(b, []byte("\n")) >= 1
	})
	send(a1, pf)
	send(a1, pp)
	waitFor(t, "the packets received", func() bool {
		return metricValue(t, m1, "netoops_catcher_packets_received_total") == float64(len(ps)+len(pf)+len(pp))
	})
	// The socket read empty, the spool's buffer is written out: one
	// record (a 32-byte header and the packet) per piece that brought new
	// bytes, the first of its two copies, after the segment's 16-byte
	// magic.
	var recs int64
	for _, p := range append(append(append([][]byte{}, ps...), pf...), pp...) {
		recs += int64(spool.RecordHeaderLen + len(p))
	}
	want := 16 + recs/2
	waitFor(t, "the spool written out", func() bool {
		segs, _ := filepath.Glob(filepath.Join(dir, ".inflight", "*"+spool.Suffix))
		var n int64
		for _, f := range segs {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
		return n == want
	})
	c1.Process.Signal(syscall.SIGKILL)
	c1.Wait()
	b, _ := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	evs := events(t, string(b))
	if len(evs) != 1 || evs[0].Host != string(stored.Host) {
		t.Fatalf("stored before the kill: %s", b)
	}
	checkStored(t, evs[0], stored, true) // its log and sidecar, in place after the kill

	var out2 lockedbuf.Buffer
	c2, a2, m2 := start(&out2)
	defer c2.Process.Kill()
	if !strings.Contains(out2.String(), "recovered dumps in flight") {
		t.Fatalf("no recovery: %s", out2.String())
	}
	// The spool holds the packets that brought new bytes: one copy each,
	// the stored dump's too (its segment is the others'): replayed, that
	// one is found stored already and skipped.
	if n, want := metricValue(t, m2, "netoops_catcher_packets_recovered_total"), float64(len(pf)+len(pp)+len(ps))/2; n != want {
		t.Fatalf("recovered %v packets, want %v", n, want)
	}
	waitFor(t, "the stored dump skipped", func() bool {
		return metricValue(t, m2, "netoops_catcher_dumps_skipped_total") == 1
	})
	send(a2, lastOf(full))
	send(a2, lastOf(part))
	waitFor(t, "two more dumps stored", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "events.jsonl"))
		return bytes.Count(b, []byte("\n")) >= 3
	})
	c2.Process.Signal(syscall.SIGTERM)
	c2.Wait()
	b, _ = os.ReadFile(filepath.Join(dir, "events.jsonl"))
	evs = events(t, string(b))
	if len(evs) != 3 {
		t.Fatalf("events %s", b)
	}
	for _, ev := range evs {
		d := stored
		switch ev.Host {
		case string(full.Host):
			d = full
		case string(part.Host):
			d = part
		}
		checkStored(t, ev, d, true)
	}
	if evs[1].Host == string(stored.Host) || evs[2].Host == string(stored.Host) {
		t.Fatalf("the dump stored before the kill stored again: %s", b)
	}
	if names, _ := os.ReadDir(filepath.Join(dir, ".inflight")); len(names) != 0 {
		t.Fatalf("left in .inflight: %v", names)
	}
}
