package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/lockedbuf"
	"github.com/netoops/netoops/pkg/wire"
)

func events(t *testing.T, out string) []event.Event {
	t.Helper()
	var evs []event.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad event line %q: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func mkDump(host string, seq uint32, n int) *wire.Dump {
	log := make([]byte, n)
	for i := range log {
		log[i] = "0123456789abcdef Kernel panic\n"[i%30]
	}
	return &wire.Dump{
		Reason: wire.ReasonPanic, BootID: [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, byte(seq)},
		DumpSeq: seq, TimeNS: uint64(time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC).UnixNano()),
		Copies: 2, Host: []byte(host), Release: []byte("6.12.0"), Label: []byte("rack7"),
		ReasonText: []byte("sysrq triggered crash"), Log: log,
	}
}

// pkts returns the dump's packets; skip lists piece indexes never sent.
func pkts(t *testing.T, d *wire.Dump, skip ...uint32) [][]byte {
	var out [][]byte
	var p wire.Packet
	err := d.Encode(1200, func(b []byte) error {
		p.DecodeFromBytes(b)
		for _, s := range skip {
			if p.Index == s {
				return nil
			}
		}
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func checkStored(t *testing.T, ev event.Event, d *wire.Dump, complete bool) {
	t.Helper()
	if ev.Complete != complete || ev.Host != string(d.Host) || ev.DumpSeq != d.DumpSeq || ev.TotalLen != uint32(len(d.Log)) {
		t.Fatalf("event %+v", ev)
	}
	b, err := os.ReadFile(ev.Log)
	if err != nil {
		t.Fatal(err)
	}
	if complete && !bytes.Equal(b, d.Log) {
		t.Fatalf("log differs")
	}
	if !complete && !bytes.Contains(b, []byte("bytes missing at offset")) {
		t.Fatalf("no gap marker in partial log")
	}
	if _, err := os.Stat(ev.Meta); err != nil {
		t.Fatal(err)
	}
}

func TestListenUDP(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "udp6" {
				if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				} else {
					c.Close()
				}
				addr = "[::1]:0"
			}
			dir := t.TempDir()
			bound := make(chan net.Addr, 1)
			onListen = func(a net.Addr) { bound <- a }
			defer func() { onListen = nil }()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr lockedbuf.Buffer
			ml, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			maddr := ml.Addr().String()
			ml.Close()
			done := make(chan int)
			go func() {
				done <- run(ctx, []string{"catcher", "listen", "--listen", addr, "--dir", dir, "--idle", "300ms",
					"--metrics", maddr}, &stdout, &stderr)
			}()
			var a net.Addr
			select {
			case a = <-bound:
			case code := <-done:
				t.Fatalf("exited %d: %s", code, stderr.String())
			}
			c, err := net.Dial(network, a.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			full := mkDump("web-1", 1, 50000)
			part := mkDump("web-2", 2, 20000)
			for _, p := range pkts(t, full) {
				c.Write(p)
			}
			for _, p := range pkts(t, part, 3) {
				c.Write(p)
			}
			c.Write([]byte("garbage"))
			waitFor(t, "two events", func() bool { return len(events(t, stdout.String())) == 2 })
			evs := events(t, stdout.String())
			if evs[0].Host != "web-1" {
				evs[0], evs[1] = evs[1], evs[0]
			}
			checkStored(t, evs[0], full, true)
			checkStored(t, evs[1], part, false)
			if evs[1].MissingBytes != 1200 {
				t.Fatalf("missing %d", evs[1].MissingBytes)
			}
			resp, err := http.Get("http://" + maddr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{
				`netoops_catcher_packets_malformed_total{error="short"} 1`,
				"netoops_catcher_dumps_complete_total 1",
				"netoops_catcher_dumps_partial_total 1",
				"netoops_catcher_packets_duplicate_total ",
				"process_resident_memory_bytes ",
			} {
				if !strings.Contains(string(body), want) {
					t.Errorf("metrics lack %q", want)
				}
			}
			// A dump in flight at SIGTERM/cancel is stored partial.
			late := mkDump("web-3", 3, 10000)
			for _, p := range pkts(t, late, 0) {
				c.Write(p)
			}
			time.Sleep(100 * time.Millisecond)
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			evs = events(t, stdout.String())
			if len(evs) != 3 {
				t.Fatalf("%d events", len(evs))
			}
			checkStored(t, evs[2], late, false)

			var ls lockedbuf.Buffer
			if code := run(context.Background(), []string{"catcher", "ls", "--dir", dir}, &ls, &stderr); code != 0 {
				t.Fatal(stderr.String())
			}
			if n := strings.Count(ls.String(), "\n"); n != 3 {
				t.Fatalf("ls:\n%s", ls.String())
			}
			var show lockedbuf.Buffer
			if code := run(context.Background(), []string{"catcher", "show", "--dir", dir, "web-1"}, &show, &stderr); code != 0 {
				t.Fatal(stderr.String())
			}
			if !strings.HasSuffix(show.String(), string(full.Log)) || strings.Contains(show.String(), "\x1b[") {
				t.Fatalf("show output wrong")
			}
			show = lockedbuf.Buffer{}
			run(context.Background(), []string{"catcher", "show", "--dir", dir, "--color", "always", "web-2"}, &show, &stderr)
			if !strings.Contains(show.String(), "\x1b[1;31m") || !strings.Contains(show.String(), "\x1b[33m[netoops:") {
				t.Fatalf("no highlight")
			}
			if code := run(context.Background(), []string{"catcher", "show", "--dir", dir, "nohost"}, &show, &stderr); code != exitNoDump {
				t.Fatalf("show missing: exit %d", code)
			}
		})
	}
}

// frames returns Ethernet/IPv4/UDP frames (v6: IPv6) carrying pk, with
// deliberately wrong UDP checksums.
func frames(t *testing.T, pk [][]byte, v6 bool) [][]byte {
	var out [][]byte
	for _, p := range pk {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		udp := &layers.UDP{SrcPort: 6667, DstPort: 6668}
		var ip gopacket.SerializableLayer
		if v6 {
			eth.EthernetType = layers.EthernetTypeIPv6
			ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("2001:db8::7"), DstIP: net.ParseIP("2001:db8::1")}
			udp.SetNetworkLayerForChecksum(ip6)
			ip = ip6
		} else {
			ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{192, 0, 2, 7}, DstIP: net.IP{192, 0, 2, 1}}
			udp.SetNetworkLayerForChecksum(ip4)
			ip = ip4
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, udp, gopacket.Payload(p)); err != nil {
			t.Fatal(err)
		}
		b := append([]byte(nil), buf.Bytes()...)
		b[len(b)-len(p)-2] ^= 0x55 // break the UDP checksum
		out = append(out, b)
	}
	return out
}

func TestReadPcap(t *testing.T) {
	for _, format := range []string{"pcap", "pcapng"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			full := mkDump("db-1", 1, 30000)
			part := mkDump("db-2", 2, 30000)
			var fr [][]byte
			fr = append(fr, frames(t, pkts(t, full), false)...)
			fr = append(fr, frames(t, pkts(t, part, 0, 1), true)...)
			path := filepath.Join(dir, "x."+format)
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			ci := func(b []byte) gopacket.CaptureInfo {
				return gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(b), Length: len(b)}
			}
			if format == "pcap" {
				w := pcapgo.NewWriter(f)
				w.WriteFileHeader(65536, layers.LinkTypeEthernet)
				for _, b := range fr {
					if err := w.WritePacket(ci(b), b); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				w, err := pcapgo.NewNgWriter(f, layers.LinkTypeEthernet)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range fr {
					if err := w.WritePacket(ci(b), b); err != nil {
						t.Fatal(err)
					}
				}
				w.Flush()
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr lockedbuf.Buffer
			evFile := filepath.Join(dir, "events.jsonl")
			code := run(context.Background(), []string{"catcher", "read", "--dir", filepath.Join(dir, "store"),
				"--events", evFile, path}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			b, _ := os.ReadFile(evFile)
			evs := events(t, string(b))
			if len(evs) != 2 {
				t.Fatalf("events: %s\n%s", b, stderr.String())
			}
			if evs[0].Host != "db-1" {
				evs[0], evs[1] = evs[1], evs[0]
			}
			checkStored(t, evs[0], full, true)
			checkStored(t, evs[1], part, false)
			if evs[1].Source != "[2001:db8::7]:6667" || evs[0].Source != "192.0.2.7:6667" {
				t.Fatalf("sources %q %q", evs[0].Source, evs[1].Source)
			}
		})
	}
}

func TestCaptureLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("capture needs CAP_NET_RAW: run as root (CI does)")
	}
	for _, network := range []string{"udp4", "udp6"} {
		t.Run(network, func(t *testing.T) {
			host := "127.0.0.1"
			if network == "udp6" {
				host = "::1"
			}
			// A free port: nothing listens there, the capture sees the packets.
			pc, err := net.ListenPacket(network, net.JoinHostPort(host, "0"))
			if err != nil {
				t.Skipf("no %s loopback: %v", network, err)
			}
			port := pc.LocalAddr().(*net.UDPAddr).Port
			pc.Close()
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr lockedbuf.Buffer
			done := make(chan int)
			go func() {
				done <- run(ctx, []string{"catcher", "capture", "--iface", "lo", "--port", fmt.Sprint(port),
					"--dir", dir, "--idle", "300ms"}, &stdout, &stderr)
			}()
			waitFor(t, "capture start", func() bool {
				select {
				case code := <-done:
					t.Fatalf("capture exited %d: %s", code, stderr.String())
				default:
				}
				return strings.Contains(stderr.String(), "capturing")
			})
			c, err := net.Dial(network, net.JoinHostPort(host, fmt.Sprint(port)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			d := mkDump("cap-"+network, 1, 20000)
			for _, p := range pkts(t, d) {
				c.Write(p)
				time.Sleep(time.Millisecond)
			}
			waitFor(t, "event", func() bool { return len(events(t, stdout.String())) >= 1 })
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			ev := events(t, stdout.String())[0]
			checkStored(t, ev, d, true)
			if !strings.HasPrefix(ev.Source, "127.0.0.1:") && !strings.HasPrefix(ev.Source, "[::1]:") {
				t.Fatalf("source %q", ev.Source)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errb lockedbuf.Buffer
	if code := run(context.Background(), []string{"catcher", "read"}, &out, &errb); code != exitUsage {
		t.Fatalf("read without file: exit %d", code)
	}
	if code := run(context.Background(), []string{"catcher", "listen", "--bogus"}, &out, &errb); code != exitUsage {
		t.Fatalf("bad flag: exit %d", code)
	}
	if code := run(context.Background(), []string{"catcher", "read", "/nonexistent.pcap"}, &out, &errb); code != exitFailure {
		t.Fatalf("missing file: exit %d", code)
	}
}

// TestExec runs --exec per stored dump (read mode, so the run
// ends when the file is done) and checks its environment.
func TestExec(t *testing.T) {
	dir := t.TempDir()
	d := mkDump("ex-1", 1, 5000)
	path := filepath.Join(dir, "x.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65536, layers.LinkTypeEthernet)
	for _, b := range frames(t, pkts(t, d), false) {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Now(), CaptureLength: len(b), Length: len(b)}, b)
	}
	f.Close()
	out := filepath.Join(dir, "exec.out")
	var stdout, stderr lockedbuf.Buffer
	code := run(context.Background(), []string{"catcher", "read", "--dir", filepath.Join(dir, "s"),
		"--exec", `printf '%s %s %s %s\n' "$NETOOPS_HOST" "$NETOOPS_COMPLETE" "$NETOOPS_DUMP_SEQ" "$NETOOPS_LOG" >> ` + out,
		path}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	evs := events(t, stdout.String())
	if len(evs) != 1 || string(b) != fmt.Sprintf("ex-1 true 1 %s\n", evs[0].Log) {
		t.Fatalf("exec wrote %q; events %+v", b, evs)
	}
}

// writePcap writes frames to a pcap file, frame i captured at t0 + i ms.
func writePcap(t *testing.T, path string, fr [][]byte, t0 time.Time) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65536, layers.LinkTypeEthernet)
	for i, b := range fr {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadIdempotent: read takes a packet's receive time from its frame's
// capture time, so a dump whose sender did not know the time (time_ns 0)
// is named by when it was captured, and reading the same file twice
// stores each dump once.
func TestReadIdempotent(t *testing.T) {
	dir := t.TempDir()
	full, part := mkDump("nt-1", 1, 20000), mkDump("nt-2", 2, 20000)
	full.TimeNS, part.TimeNS = 0, 0
	fr := append(frames(t, pkts(t, full), false), frames(t, pkts(t, part, 3), false)...)
	captured := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
	path := filepath.Join(dir, "x.pcap")
	writePcap(t, path, fr, captured)
	storeDir := filepath.Join(dir, "store")
	for round := 1; round <= 2; round++ {
		var stdout, stderr lockedbuf.Buffer
		if code := run(context.Background(), []string{"catcher", "read", "--dir", storeDir, path}, &stdout, &stderr); code != 0 {
			t.Fatalf("read %d: exit %d: %s", round, code, stderr.String())
		}
		evs := events(t, stdout.String())
		if round == 2 {
			if len(evs) != 0 {
				t.Fatalf("second read stored again: %+v", evs)
			}
			break
		}
		if len(evs) != 2 {
			t.Fatalf("first read: %d events", len(evs))
		}
		for _, ev := range evs {
			if ev.DumpTime != nil || !strings.HasPrefix(filepath.Base(ev.Log), "20240304T050607Z-") {
				t.Fatalf("dump time %v, log %s: want the capture time", ev.DumpTime, ev.Log)
			}
			var m store.Meta
			b, _ := os.ReadFile(ev.Meta)
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m.FirstPacket.Before(captured) || m.LastPacket.After(captured.Add(time.Duration(len(fr))*time.Millisecond)) || m.LastPacket.Before(m.FirstPacket) {
				t.Fatalf("first/last packet %v %v, captured from %v", m.FirstPacket, m.LastPacket, captured)
			}
		}
	}
	for _, host := range []string{"nt-1", "nt-2"} {
		if files, _ := os.ReadDir(filepath.Join(storeDir, host)); len(files) != 2 {
			t.Fatalf("%s: %d files, want a log and a sidecar", host, len(files))
		}
	}
}

// TestBadFlagValues: a value out of a flag's range exits 2 naming the
// flag, before anything is opened or bound; 0 means "none" only for
// --mem-buffers.
func TestBadFlagValues(t *testing.T) {
	for _, args := range [][]string{
		{"read", "--max-dumps", "0"}, {"read", "--max-dumps", "-1"}, {"read", "--max-per-source", "0"},
		{"read", "--max-dump-bytes", "0"}, {"read", "--max-dump-bytes", "4294967296"}, {"read", "--idle", "0s"},
		{"read", "--idle", "-1s"}, {"read", "--retain", "0s"}, {"read", "--retain", "-5s"}, {"read", "--exec-max", "0"},
		{"read", "--workers", "0"}, {"read", "--workers", "-2"}, {"read", "--store-workers", "0"},
		{"read", "--write-buffers", "0"}, {"read", "--open-files", "0"}, {"read", "--open-files", "-1"},
		{"read", "--exec-timeout", "0s"}, {"read", "--mem-buffers", "-1"}, {"read", "--port", "0"},
		{"read", "--heap-limit", "-1"},
		{"read", "--log-level", "loud"}, {"listen", "--rcvbuf", "-1"}, {"listen", "--rcvbuf", "0"},
		{"listen", "--rcvbuf", "2147483647"}, {"capture", "--iface", "lo", "--port", "70000"},
		{"show", "--color", "sometimes"},
	} {
		full := append([]string{"catcher"}, args...)
		switch args[0] {
		case "read":
			full = append(full, "/nonexistent.pcap")
		case "listen":
			full = append(full, "--listen", "127.0.0.1:0")
		case "show":
			full = append(full, "--dir", t.TempDir(), "host")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		var stdout, stderr lockedbuf.Buffer
		code := run(ctx, full, &stdout, &stderr)
		cancel()
		if code != exitUsage || !strings.Contains(stderr.String(), args[len(args)-2]) {
			t.Errorf("%v: exit %d, %q; want %d naming %s", args, code, stderr.String(), exitUsage, args[len(args)-2])
		}
	}
	var stdout, stderr lockedbuf.Buffer
	if code := run(context.Background(), []string{"catcher", "read", "--mem-buffers", "0", "/nonexistent.pcap"}, &stdout, &stderr); code != exitFailure {
		t.Errorf("--mem-buffers 0: exit %d: %s", code, stderr.String())
	}
}

// TestUnknownCommand: an unknown or missing command is a usage error.
func TestUnknownCommand(t *testing.T) {
	for _, args := range [][]string{{"catcher", "bogus"}, {"catcher"}, {"catcher", "ls", "extra-arg"}} {
		var stdout, stderr lockedbuf.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d: %s", args, code, stderr.String())
		}
	}
	var stdout, stderr lockedbuf.Buffer
	run(context.Background(), []string{"catcher", "bogus"}, &stdout, &stderr)
	if !strings.Contains(stderr.String(), `"bogus"`) {
		t.Errorf("error does not name the command: %q", stderr.String())
	}
	stdout, stderr = lockedbuf.Buffer{}, lockedbuf.Buffer{}
	if code := run(context.Background(), []string{"catcher", "--help"}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "listen") {
		t.Errorf("--help: exit %d: %q", code, stdout.String())
	}
}

// TestHelpText: every value flag has one upper-case placeholder and at
// most one default, the computed defaults said in words.
func TestHelpText(t *testing.T) {
	placeholder := regexp.MustCompile(`^\s+(--[a-z-]+)(?:, -[a-z])?(?: ([^ ]+))?\s{2,}`)
	for _, c := range []string{"listen", "capture", "read", "ls", "show"} {
		var stdout, stderr lockedbuf.Buffer
		if code := run(context.Background(), []string{"catcher", c, "--help"}, &stdout, &stderr); code != exitOK {
			t.Fatalf("%s --help: exit %d", c, code)
		}
		for line := range strings.Lines(stdout.String()) {
			m := placeholder.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if n := strings.Count(line, "(default:"); n > 1 {
				t.Errorf("%s: two defaults: %s", c, line)
			}
			if m[2] != "" && strings.ToUpper(m[2]) != m[2] {
				t.Errorf("%s: placeholder %q of %s is not upper case", c, m[2], m[1])
			}
			want := map[string]string{"--retain": "max(6×idle, 1m)", "--open-files": "--max-dumps", "--workers": "GOMAXPROCS"}[m[1]]
			if want != "" && !strings.Contains(line, "(default: "+want) {
				t.Errorf("%s: %s does not give its default as %q: %s", c, m[1], want, line)
			}
		}
	}
}

// TestRcvbufLog: the startup log gives the receive buffer granted, and
// says what the kernel reports (twice that).
func TestRcvbufLog(t *testing.T) {
	bound := make(chan net.Addr, 1)
	onListen = func(a net.Addr) { bound <- a }
	defer func() { onListen = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedbuf.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"catcher", "listen", "--listen", "127.0.0.1:0", "--dir", t.TempDir(), "--rcvbuf", "1048576"}, &stdout, &stderr)
	}()
	select {
	case <-bound:
	case code := <-done:
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	cancel()
	<-done
	m := regexp.MustCompile(`msg=listening .*rcvbuf=(\d+) rcvbuf_kernel=(\d+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no rcvbuf and rcvbuf_kernel in %q", stderr.String())
	}
	got, _ := strconv.Atoi(m[1])
	kernel, _ := strconv.Atoi(m[2])
	if kernel != 2*got || got > 1048576 || (os.Geteuid() == 0 && got != 1048576) {
		t.Fatalf("rcvbuf=%d rcvbuf_kernel=%d for --rcvbuf 1048576", got, kernel)
	}
}

// storeOf reads dumps of the given hosts (one dump each, seq i+1, and a
// second dump of the last host) from a pcap into a new store, and
// returns the store.
func storeOf(t *testing.T, hosts []string, label string) (string, map[string]*wire.Dump) {
	dir := t.TempDir()
	dumps := map[string]*wire.Dump{}
	var fr [][]byte
	for i, h := range hosts {
		d := mkDump(h, uint32(i+1), 2000+i)
		d.Label = []byte(label)
		dumps[store.SanitizeName(h)+"/"+strconv.Itoa(i+1)] = d
		fr = append(fr, frames(t, pkts(t, d), false)...)
	}
	last := hosts[len(hosts)-1]
	d := mkDump(last, 99, 1500)
	d.TimeNS += uint64(time.Hour) // newer
	d.Label = []byte(label)
	dumps[store.SanitizeName(last)+"/99"] = d
	fr = append(fr, frames(t, pkts(t, d), false)...)
	path := filepath.Join(dir, "x.pcap")
	writePcap(t, path, fr, time.Now())
	var stdout, stderr lockedbuf.Buffer
	if code := run(context.Background(), []string{"catcher", "read", "--dir", filepath.Join(dir, "s"), path}, &stdout, &stderr); code != 0 {
		t.Fatalf("read: exit %d: %s", code, stderr.String())
	}
	return filepath.Join(dir, "s"), dumps
}

// TestShowSelectsWhatLsListed: `show ID`, with the id `ls` prints, shows
// exactly that dump, for hostile host names too; a host directory alone
// shows its newest dump; a raw host name that is not a directory name,
// or an ambiguous prefix, is refused with a hint.
func TestShowSelectsWhatLsListed(t *testing.T) {
	hosts := []string{"/", "%", "%25", "a b", "\xff", "web"}
	dir, dumps := storeOf(t, hosts, `a b "c"`)
	var ls, stderr lockedbuf.Buffer
	if code := run(context.Background(), []string{"catcher", "ls", "--dir", dir}, &ls, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(ls.String()), "\n")
	if len(lines) != len(hosts)+1 {
		t.Fatalf("ls:\n%s", ls.String())
	}
	for _, line := range lines {
		if !strings.Contains(line, `label="a b \"c\""`) {
			t.Errorf("label not quoted: %s", line)
		}
		id := strings.Fields(line)[4]
		hostDir, name, _ := strings.Cut(id, "/")
		seq := name[strings.LastIndex(name, "-")+1:]
		d := dumps[hostDir+"/"+seq]
		if d == nil {
			t.Fatalf("ls lists %s, which was not stored", id)
		}
		var show lockedbuf.Buffer
		if code := run(context.Background(), []string{"catcher", "show", "--dir", dir, id}, &show, &stderr); code != 0 {
			t.Fatalf("show %s: exit %d: %s", id, code, stderr.String())
		}
		if want := fmt.Sprintf("# host %s ", strings.Trim(strconv.Quote(string(d.Host)), `"`)); !strings.HasPrefix(show.String(), want) || !strings.HasSuffix(show.String(), string(d.Log)) {
			t.Errorf("show %s: got %q..., want host %q", id, strings.SplitN(show.String(), "\n", 2)[0], d.Host)
		}
	}
	for arg, want := range map[string]string{"%25": "%", "%2525": "%25", "%2F": "/", "web": "web"} {
		var show lockedbuf.Buffer
		if code := run(context.Background(), []string{"catcher", "show", "--dir", dir, arg}, &show, &stderr); code != 0 {
			t.Fatalf("show %s: exit %d: %s", arg, code, stderr.String())
		}
		if !strings.HasPrefix(show.String(), fmt.Sprintf("# host %s ", want)) {
			t.Errorf("show %s: %q, want host %q", arg, strings.SplitN(show.String(), "\n", 2)[0], want)
		}
		if arg == "web" && !strings.Contains(show.String(), " dump 99\n") {
			t.Errorf("show web is not the newest dump: %q", strings.SplitN(show.String(), "\n", 2)[0])
		}
	}
	for _, tc := range []struct{ arg, hint string }{
		{"a b", "a%20b"}, // a raw host name: not a directory name
		{"web/20261122T0", "web/20261122T023000Z-deadbeef-6"}, // a prefix of two dumps
		{"../web", ""},
	} {
		var show, errb lockedbuf.Buffer
		code := run(context.Background(), []string{"catcher", "show", "--dir", dir, tc.arg}, &show, &errb)
		if code == 0 || show.String() != "" || !strings.Contains(errb.String(), tc.hint) {
			t.Errorf("show %q: exit %d, %q, stderr %q; want refused with %q", tc.arg, code, show.String(), errb.String(), tc.hint)
		}
	}
}

// TestHeapLimit: --heap-limit sets the Go heap's soft limit.
func TestHeapLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	var stdout, stderr bytes.Buffer
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pcap")
	writePcap(t, path, nil, time.Now())
	if code := run(context.Background(), []string{"catcher", "read", "--dir", dir, "--events", filepath.Join(dir, "ev"), "--heap-limit", "123456789", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got := debug.SetMemoryLimit(-1); got != 123456789 {
		t.Fatalf("heap limit %d, want 123456789 (%s)", got, stderr.String())
	}
}
