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
