package catcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	hostile := []string{"", ".", "..", "../../etc", "/", "/etc/passwd", "a/b", "a\x00b", "\x00",
		strings.Repeat("x", 300), strings.Repeat("/", 300), "héllo", "\x1b[31mred", "tab\there", ".hidden",
		"a%2Fb", "a/b", "A", "a", "-rf", "con", "日本語", "\xff\xfe", "a..b", "web-1.example.net", "unknown"}
	seen := map[string]string{}
	for _, h := range hostile {
		s := SanitizeName(h)
		if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") || strings.ContainsAny(s, "/\\\x00") || len(s) > 200 {
			t.Errorf("SanitizeName(%q) = %q", h, s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f || r >= utf8.RuneSelf {
				t.Errorf("SanitizeName(%q) = %q has %q", h, s, r)
			}
		}
		if prev, ok := seen[s]; ok && prev != h && h != "unknown" && prev != "" {
			t.Errorf("SanitizeName(%q) = SanitizeName(%q) = %q", h, prev, s)
		}
		seen[s] = h
		if filepath.Clean(filepath.Join("/store", s)) != filepath.Join("/store", s) || filepath.Dir(filepath.Join("/store", s)) != "/store" {
			t.Errorf("%q escapes", s)
		}
	}
	if SanitizeName("web-1.example.net") != "web-1.example.net" {
		t.Error("plain name changed")
	}
}

// TestHostileHostNamesStayInside stores dumps from hostile host names and
// labels and checks that every file lands under the store directory.
func TestHostileHostNamesStayInside(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	h := newHarness(t, Config{Dir: store})
	hosts := []string{"", ".", "..", "../../etc", "/", "a\x00b", strings.Repeat("z", 64), "héllo", "\x1b[31m", ".x", "../..", "%2e%2e"}
	for i, host := range hosts {
		d := testDump(host, byte(i), 1, 500)
		d.Label = []byte("../../label\x00\n")
		for _, p := range packets(t, d, 100) {
			h.feed(p, src1)
		}
	}
	ev := h.Events()
	if len(ev) != len(hosts) {
		t.Fatalf("%d events", len(ev))
	}
	dirs := map[string]bool{}
	for _, e := range ev {
		for _, p := range []string{e.Log, e.Meta} {
			rel, err := filepath.Rel(store, p)
			if err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 1 {
				t.Fatalf("%q outside the store (%q)", p, rel)
			}
		}
		dirs[filepath.Dir(e.Log)] = true
		m := readMeta(t, e.Meta)
		if m.Host != e.Host || !m.Complete {
			t.Fatalf("meta %+v", m)
		}
	}
	if len(dirs) != len(hosts) {
		t.Fatalf("host directories collapsed: %d for %d hosts", len(dirs), len(hosts))
	}
	// Nothing was created outside.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files next to the store: %v", entries)
	}
	ds, err := List(store)
	if err != nil || len(ds) != len(hosts) {
		t.Fatalf("List: %d, %v", len(ds), err)
	}
}

// TestAtomicStoreRealFS uses the real file system with fsync and checks
// that no temporary files remain.
func TestAtomicStoreRealFS(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, Config{Dir: dir, FS: OSFS{}})
	d := testDump("atom", 1, 1, 5000)
	for _, p := range packets(t, d, 1000)[1:] {
		h.feed(p, src1)
	}
	h.now = h.now.Add(time.Minute)
	h.sweep()
	for _, p := range packets(t, d, 1000) {
		h.feed(p, src1)
	}
	ev := h.Events()
	if len(ev) != 2 || ev[0].Complete || !ev[1].Complete {
		t.Fatalf("events %+v", ev)
	}
	for _, f := range listFiles(t, dir) {
		if strings.Contains(filepath.Base(f), ".tmp") || strings.HasSuffix(f, ".part") {
			t.Fatalf("leftover %s", f)
		}
	}
	h.e.Close()
	if files := listFiles(t, dir); len(files) != 2 {
		t.Fatalf("files %v", files)
	}
}

// TestDiskFull injects ENOSPC: the errors are counted, nothing crashes,
// and the dump is stored once space is back.
func TestDiskFull(t *testing.T) {
	mfs := newMemFS()
	h := newHarness(t, Config{Dir: "/store", FS: mfs})
	d := testDump("full", 1, 1, 5000)
	pk := packets(t, d, 500)
	for _, p := range pk[:len(pk)-1] {
		h.feed(p, src1)
	}
	mfs.full.Store(true)
	h.feed(pk[len(pk)-1], src1) // completes: storing fails
	if len(h.Events()) != 0 {
		t.Fatal("stored on a full disk")
	}
	if counterValue(h.e.metrics.StoreErrors.WithLabelValues("store"))+counterValue(h.e.metrics.StoreErrors.WithLabelValues("write")) == 0 {
		t.Fatal("store errors not counted")
	}
	h.now = h.now.Add(time.Minute)
	h.sweep() // retry while still full: fails again, still in flight
	if len(h.Events()) != 0 {
		t.Fatal("stored on a full disk")
	}
	mfs.full.Store(false)
	// Copies of the lost pieces arrive, the dump completes and is stored.
	for _, p := range pk {
		h.feed(p, src1)
	}
	h.now = h.now.Add(time.Minute)
	h.sweep()
	ev := h.Events()
	if len(ev) == 0 || !ev[len(ev)-1].Complete {
		t.Fatalf("events %+v", ev)
	}
	got, _ := mfs.ReadFile(ev[len(ev)-1].Log)
	if string(got) != string(d.Log) {
		t.Fatal("log differs")
	}
}

// TestDiskFullIdleRetry: a partial dump whose store fails is retried by a
// later sweep.
func TestDiskFullIdleRetry(t *testing.T) {
	mfs := newMemFS()
	h := newHarness(t, Config{Dir: "/store", FS: mfs})
	d := testDump("full", 1, 1, 5000)
	h.feed(packets(t, d, 500)[0], src1)
	mfs.full.Store(true)
	h.now = h.now.Add(11 * time.Second)
	h.sweep()
	if len(h.Events()) != 0 {
		t.Fatal("stored on a full disk")
	}
	mfs.full.Store(false)
	h.now = h.now.Add(2 * time.Second)
	h.sweep()
	ev := h.Events()
	if len(ev) != 1 || ev[0].Complete || ev[0].MissingBytes != 4500 {
		t.Fatalf("events %+v", ev)
	}
}
