package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/lockedbuf"
)

// TestStoredCrash stores a real LKDTM oops-then-panic log complete and
// the same log with a piece of its call trace missing, and checks the
// title and signature in the sidecar, the event and --exec's environment.
func TestStoredCrash(t *testing.T) {
	log, err := os.ReadFile("../../internal/crashreport/testdata/corpus/real-6.12-oops-then-panic-2.log")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	full := mkDump("crash-1", 1, 0)
	full.Log = log
	part := mkDump("crash-2", 2, 0)
	part.Log = log
	// Piece 17 (bytes 20400-21600) holds the oops's call trace.
	fr := frames(t, append(pkts(t, full), pkts(t, part, 17)...), false)
	path := filepath.Join(dir, "x.pcap")
	writePcap(t, path, fr, time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC))
	out := filepath.Join(dir, "exec.out")
	var stdout, stderr lockedbuf.Buffer
	code := run(context.Background(), []string{"catcher", "read", "--dir", filepath.Join(dir, "s"),
		"--exec", `printf '%s|%s|%s|%s\n' "$NETOOPS_HOST" "$NETOOPS_TITLE" "$NETOOPS_SIGNATURE" "$NETOOPS_CORRUPTED" >> ` + out,
		path}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	evs := events(t, stdout.String())
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	if evs[0].Host != "crash-1" {
		evs[0], evs[1] = evs[1], evs[0]
	}
	const title = "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION"
	if ev := evs[0]; ev.Title != title || ev.Guilty != "lkdtm_EXCEPTION" || len(ev.Signature) != 16 || ev.Corrupted || ev.Reports != 2 {
		t.Fatalf("complete: %+v", ev)
	}
	if ev := evs[1]; ev.Complete || !ev.Corrupted || ev.Title == "" {
		t.Fatalf("partial with the trace cut: %+v", ev)
	}
	b, err := os.ReadFile(evs[0].Meta)
	if err != nil {
		t.Fatal(err)
	}
	var m store.Meta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Schema != store.SchemaVersion || m.Title != title || len(m.Reports) != 2 || m.Reports[0].Frames[0] != "lkdtm_EXCEPTION" ||
		!strings.Contains(string(log[m.Reports[0].HeaderStart:m.Reports[0].HeaderEnd]), "BUG: kernel NULL pointer dereference") {
		t.Fatalf("sidecar %s", b)
	}
	env, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env), "crash-1|"+title+"|"+evs[0].Signature+"|false\n") ||
		!strings.Contains(string(env), "crash-2|"+evs[1].Title+"|"+evs[1].Signature+"|true\n") {
		t.Fatalf("exec environment: %q", env)
	}
}

// storeCorpus stores corpus logs through catcher read: two hosts with
// the same LKDTM oops, one with a WARNING, one test dump.
func storeCorpus(t *testing.T, dir string) {
	t.Helper()
	var pk [][]byte
	for i, c := range []struct{ host, file string }{
		{"web-1", "real-6.12-oops-then-panic-2"}, {"web-2", "real-6.12-oops-then-panic-2"},
		{"web-2", "real-6.12-lkdtm-warning"}, {"db-1", "real-6.12-test-dump"},
	} {
		log, err := os.ReadFile("../../internal/crashreport/testdata/corpus/" + c.file + ".log")
		if err != nil {
			t.Fatal(err)
		}
		d := mkDump(c.host, uint32(i+1), 0)
		d.Log = log
		if i == 2 {
			d.Release = []byte("7.2.0")
		}
		pk = append(pk, pkts(t, d)...)
	}
	path := filepath.Join(t.TempDir(), "x.pcap")
	writePcap(t, path, frames(t, pk, false), time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC))
	var stdout, stderr lockedbuf.Buffer
	if code := run(context.Background(), []string{"catcher", "read", "--dir", dir, path}, &stdout, &stderr); code != 0 {
		t.Fatalf("read: exit %d: %s", code, stderr.String())
	}
}

func runOut(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr lockedbuf.Buffer
	code := run(context.Background(), append([]string{"catcher"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestLsGroup: ls --group and the filters, from the index and (--index
// off) from a scan, giving the same lines.
func TestLsGroup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	storeCorpus(t, dir)
	if _, err := os.Stat(filepath.Join(dir, ".index", "catalog.sqlite")); err != nil {
		t.Fatalf("read kept no index: %v", err)
	}
	for _, idx := range []string{"", "off"} {
		args := func(a ...string) []string {
			a = append([]string{"ls", "--dir", dir}, a...)
			if idx != "" {
				a = append(a, "--index", idx)
			}
			return a
		}
		code, out, errs := runOut(t, args("--group")...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "SIGNATURE") {
			t.Fatalf("ls --group (index %q): exit %d\n%s%s", idx, code, out, errs)
		}
		var oops string
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			switch {
			case strings.HasSuffix(l, "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION"):
				if f[1] != "2" || f[2] != "2" || f[5] != "6.12.0" {
					t.Errorf("oops group: %q", l)
				}
				oops = f[0]
			case strings.HasSuffix(l, "WARNING in lkdtm_WARNING"):
				if f[1] != "1" || f[5] != "7.2.0" {
					t.Errorf("warning group: %q", l)
				}
			case strings.HasSuffix(l, "(no crash report found)"):
				if f[0] != "none" {
					t.Errorf("no-report group: %q", l)
				}
			default:
				t.Errorf("unexpected group line %q", l)
			}
		}
		for _, c := range []struct {
			args []string
			n    int
		}{
			{[]string{"--signature", oops}, 2}, {[]string{"--signature", "none"}, 1}, {[]string{"--host", "web-2"}, 2},
			{[]string{"--release", "7.2.0"}, 1}, {[]string{"--since", "2026-11-22T02:30:00Z"}, 4},
			{[]string{"--since", "2000-01-01"}, 4}, {[]string{"--since", "1h"}, 0}, {[]string{"--host", "web-2", "--group"}, 3},
			{[]string{"--limit", "1"}, 1}, {[]string{}, 4},
		} {
			code, out, errs := runOut(t, args(c.args...)...)
			if n := strings.Count(out, "\n"); code != 0 || n != c.n {
				t.Errorf("ls %v (index %q): exit %d, %d lines, want %d\n%s%s", c.args, idx, code, n, c.n, out, errs)
			}
		}
	}
}

// TestLsBadFlags: bad filter values exit 2 naming the flag.
func TestLsBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, a := range [][]string{
		{"--signature", "xyz"}, {"--signature", "0123456789ABCDEF"}, {"--since", "yesterday"}, {"--since", "-5h"},
		{"--host", ""}, {"--release", ""}, {"--limit", "-1"},
	} {
		code, _, errs := runOut(t, append([]string{"ls", "--dir", dir}, a...)...)
		if code != exitUsage || !strings.Contains(errs, a[0]) {
			t.Errorf("ls %v: exit %d, %q", a, code, errs)
		}
	}
	for _, a := range [][]string{{"--refresh", "0s"}, {"--http", ""}, {"--index", "off"}, {"--log-level", "loud"}} {
		code, _, errs := runOut(t, append([]string{"web", "--dir", dir}, a...)...)
		if code != exitUsage || !strings.Contains(errs, a[0]) {
			t.Errorf("web %v: exit %d, %q", a, code, errs)
		}
	}
}

func getPage(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d\n%s", u, resp.StatusCode, b)
	}
	return string(b)
}

// TestListenHTTP: listen --http serves the pages, from the index the
// store workers keep, next to /metrics; catcher web serves a store alone.
func TestListenHTTP(t *testing.T) {
	dir := t.TempDir()
	bound := make(chan net.Addr, 1)
	httpBound := make(chan net.Addr, 1)
	onListen = func(a net.Addr) { bound <- a }
	onHTTP = func(a net.Addr) { httpBound <- a }
	defer func() { onListen, onHTTP = nil, nil }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedbuf.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"catcher", "listen", "--listen", "127.0.0.1:0", "--dir", dir, "--http", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	var ua, ha net.Addr
	for ua == nil || ha == nil {
		select {
		case ua = <-bound:
		case ha = <-httpBound:
		case code := <-done:
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
	log, err := os.ReadFile("../../internal/crashreport/testdata/corpus/real-6.12-lkdtm-warning.log")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", ua.String())
	if err != nil {
		t.Fatal(err)
	}
	d := mkDump(`<b>hostile</b>`, 1, 0)
	d.Log = log
	for _, p := range pkts(t, d) {
		c.Write(p)
	}
	c.Close()
	base := "http://" + ha.String()
	waitFor(t, "the dump on the groups page", func() bool {
		resp, err := http.Get(base + "/")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(b), "WARNING in lkdtm_WARNING")
	})
	if m := getPage(t, base+"/metrics"); !strings.Contains(m, "netoops_catcher_dumps_complete_total 1") {
		t.Fatalf("metrics:\n%s", m)
	}
	if h := getPage(t, base+"/host/"+url.PathEscape(store.SanitizeName(`<b>hostile</b>`))); !strings.Contains(h, "&lt;b&gt;hostile&lt;/b&gt;") {
		t.Fatalf("host page:\n%s", h)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}

	// The same store, served alone with an index elsewhere.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- run(ctx, []string{"catcher", "web", "--dir", dir, "--http", "127.0.0.1:0", "--index", filepath.Join(t.TempDir(), "i.sqlite")}, &stdout, &stderr)
	}()
	select {
	case ha = <-httpBound:
	case code := <-done:
		t.Fatalf("web: exit %d: %s", code, stderr.String())
	}
	if g := getPage(t, "http://"+ha.String()+"/"); !strings.Contains(g, "WARNING in lkdtm_WARNING") {
		t.Fatalf("web groups page:\n%s", g)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("web: exit %d: %s", code, stderr.String())
	}
}

// TestStoreWithoutIndex: an index that cannot be opened is logged, and
// dumps are stored all the same; ls then reads the sidecars.
func TestStoreWithoutIndex(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	d := mkDump("noindex-1", 1, 5000)
	path := filepath.Join(dir, "x.pcap")
	writePcap(t, path, frames(t, pkts(t, d), false), time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC))
	store := filepath.Join(dir, "s")
	code, out, errs := runOut(t, "read", "--dir", store, "--index", filepath.Join(blocker, "catalog.sqlite"), path)
	if code != 0 || len(events(t, out)) != 1 || !strings.Contains(errs, "no index") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runOut(t, "ls", "--dir", store, "--index", filepath.Join(blocker, "catalog.sqlite"))
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(errs, "reading every sidecar") {
		t.Fatalf("ls: exit %d\n%s\n%s", code, out, errs)
	}
}
