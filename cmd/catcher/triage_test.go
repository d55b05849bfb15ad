package main

import (
	"context"
	"encoding/json"
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
