package store_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/ranges"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
)

// TestAnalyzeSeesStoredLog: Analyze gets the log as it is stored, from
// every kind of source (memory, a complete temporary file, a partial one
// with gap markers), before the sidecar is written.
func TestAnalyzeSeesStoredLog(t *testing.T) {
	fs := storetest.NewMemFS()
	var got []byte
	s := &store.Store{Dir: "/s", FS: fs, Analyze: func(m *store.Meta, log []byte) {
		got = append(got[:0], log...)
		m.Title = "seen"
	}}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	log := bytes.Repeat([]byte("a line of the log\n"), 1000)
	when := time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC)
	tmp := s.InflightDir() + "/dump"
	f, err := fs.OpenFile(tmp, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(log)
	f.Close()
	part := &store.Meta{Host: "h", HostDir: "h", BootID: "00112233445566778899aabbccddeeff", DumpSeq: 2,
		TotalLen: uint32(len(log)), Missing: []ranges.Range{{Start: 100, End: 200}}, MissingBytes: 100}
	for i, c := range []struct {
		m   *store.Meta
		src store.LogSource
	}{
		{meta("00112233445566778899aabbccddeeff", log), store.LogSource{Mem: log}},
		{part, store.LogSource{Tmp: tmp}},
		{part, store.LogSource{Mem: log}},
		{meta("ffeeddccbbaa99887766554433221100", log), store.LogSource{Tmp: tmp}},
	} {
		c.m.DumpSeq = uint32(10 + i)
		lp, mp, _, _, err := s.StoreDump(c.m, when, c.src, make([]byte, 64<<10), "", "")
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		stored, _ := fs.ReadFile(lp)
		side, _ := fs.ReadFile(mp)
		if !bytes.Equal(got, stored) || !bytes.Contains(side, []byte(`"title": "seen"`)) || !bytes.Contains(side, []byte(`"schema": 2`)) {
			t.Fatalf("%d: Analyze saw %d bytes, stored %d; sidecar %s", i, len(got), len(stored), side)
		}
		if len(c.m.Missing) > 0 && !bytes.Contains(got, []byte("[netoops: 100 bytes missing at offset 100]")) {
			t.Fatalf("%d: no gap marker in what Analyze saw", i)
		}
	}
}
