package triage

import (
	"os"
	"testing"

	"github.com/netoops/netoops/internal/catcher/ranges"
	"github.com/netoops/netoops/internal/catcher/store"
)

func readCorpus(t testing.TB, name string) []byte {
	b, err := os.ReadFile("../../crashreport/testdata/corpus/" + name + ".log")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnnotate(t *testing.T) {
	log := readCorpus(t, "real-6.12-oops-then-panic-2")
	m := &store.Meta{Missing: []ranges.Range{}, Complete: true}
	Annotate(m, log)
	if m.Title != "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION" || m.Guilty != "lkdtm_EXCEPTION" ||
		m.Signature == "" || m.Corrupted || len(m.Reports) != 2 || !m.Reports[0].Primary || m.Reports[1].Primary {
		t.Fatalf("got %+v", m)
	}
	if r := m.Reports[1]; r.Title != "kernel panic: sysrq triggered crash" || string(log[r.HeaderStart:r.HeaderEnd]) == "" {
		t.Fatalf("secondary %+v", r)
	}
	// A log without a report clears what an earlier store found.
	Annotate(m, []byte("<6>[    1.0] hello\n"))
	if m.Title != "" || m.Signature != "" || m.Guilty != "" || len(m.Reports) != 0 || m.Reports == nil {
		t.Fatalf("no report: %+v", m)
	}
}

// BenchmarkAnnotate is the cost triage adds to storing a dump: a real
// 22 KiB panic log, and the same report at the end of 128 KiB of boot
// messages (the size of a default netoops dump).
func BenchmarkAnnotate(b *testing.B) {
	log := readCorpus(b, "real-6.12-oops-then-panic-2")
	big := make([]byte, 0, 128<<10)
	for len(big)+len(log) < 128<<10 {
		big = append(big, log[:18000]...) // boot messages, no report
	}
	big = append(big, log...)
	for _, c := range []struct {
		name string
		log  []byte
	}{{"22KiB", log}, {"128KiB", big}} {
		b.Run(c.name, func(b *testing.B) {
			m := &store.Meta{Missing: []ranges.Range{}, Complete: true}
			b.SetBytes(int64(len(c.log)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Annotate(m, c.log)
			}
		})
	}
}
