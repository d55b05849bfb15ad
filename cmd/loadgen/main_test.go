package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/reassembly"
	"github.com/netoops/netoops/internal/catcher/source"
)

func TestLoopbackOnly(t *testing.T) {
	for _, a := range []string{"127.0.0.1:6668", "127.1.2.3:1", "[::1]:6668", "[::ffff:127.0.0.1]:6668"} {
		if _, err := loopbackTarget(a); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	for _, a := range []string{"192.0.2.1:6668", "[2001:db8::1]:6668", "0.0.0.0:6668", "example.net:6668", "10.0.0.1"} {
		if _, err := loopbackTarget(a); err == nil {
			t.Errorf("%s accepted", a)
		}
	}
}

func TestLogText(t *testing.T) {
	for _, n := range []int{0, 10, 1000, 128 << 10} {
		b := logText(n)
		if len(b) != n {
			t.Fatalf("logText(%d) has %d bytes", n, len(b))
		}
		if n > 100 && !bytes.HasSuffix(b, []byte("Kernel panic - not syncing: sysrq triggered crash\n")) {
			t.Fatalf("no panic line at the end")
		}
	}
}

// TestSendAndVerify sends 20 dumps with loss to an in-process catcher
// engine and checks loadgen's report and --verify on a lossless run.
func TestSendAndVerify(t *testing.T) {
	dir := t.TempDir()
	e, err := reassembly.NewEngine(reassembly.Config{Dir: dir, Idle: time.Minute, MaxPerSource: 1000})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	conn, err := source.ListenUDP(context.Background(), "127.0.0.1:0", 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- source.ServeUDP(conn, e.NewFeeder()) }()
	c := config{target: conn.LocalAddr().String(), hosts: 20, dumpBytes: 20000, copies: 2, senders: 2,
		seed: 1, hostPrefix: "lg", rate: 20000, verify: dir, verifyWait: 10 * time.Second}
	old := os.Stdout
	os.Stdout, _ = os.Open(os.DevNull)
	err = send(context.Background(), &c)
	os.Stdout = old
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	<-done
	e.Close()
	ms, _ := filepath.Glob(filepath.Join(dir, "lg-*", "*.json"))
	if len(ms) != 20 {
		t.Fatalf("%d dumps stored", len(ms))
	}
}

func TestSinkStore(t *testing.T) {
	dir := t.TempDir()
	s := &sinkStore{dir: dir, buf: make([]byte, 0, 10)}
	var want []byte
	for i := 0; i < 7; i++ {
		p := bytes.Repeat([]byte{byte('a' + i)}, 4)
		s.add(p)
		want = append(want, p...)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "sink-000001"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
}

// TestNetconsoleRecords: the records are extended netconsole records of
// at most 1000 bytes, numbered from 0, whose unescaped texts are the log.
func TestNetconsoleRecords(t *testing.T) {
	log := logText(20000)
	recs := netconsoleRecords(log, 4000)
	var got []byte
	for i, r := range recs {
		if len(r) > maxNetconsolePacket || r[len(r)-1] != '\n' {
			t.Fatalf("record %d: %d bytes, ends %q", i, len(r), r[len(r)-1])
		}
		h, text, ok := bytes.Cut(r[:len(r)-1], []byte(";"))
		if want := fmt.Sprintf("6,%d,%d,-", i, i*1000); !ok || string(h) != want {
			t.Fatalf("record %d header %q, want %q", i, h, want)
		}
		if bytes.IndexByte(text, '\n') >= 0 {
			t.Fatalf("record %d: unescaped newline", i)
		}
		for len(text) > 0 {
			if text[0] == '\\' {
				var b byte
				fmt.Sscanf(string(text[2:4]), "%02x", &b)
				got, text = append(got, b), text[4:]
				continue
			}
			got, text = append(got, text[0]), text[1:]
		}
	}
	if !bytes.Equal(got, log) {
		t.Fatal("records do not hold the log")
	}
	if r := renumber(recs[3], 12345); !bytes.HasPrefix(r, []byte("6,12345,3000,-;")) || !bytes.Equal(r[len("6,12345"):], recs[3][len("6,3"):]) {
		t.Fatalf("renumbered %q", r[:20])
	}
	if a := netconsoleSource(70000); a.String() != "127.2.17.112" || !a.IsLoopback() {
		t.Fatalf("source %v", a)
	}
}
