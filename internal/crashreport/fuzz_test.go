package crashreport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract: Extract never panics, and what it returns is consistent
// with the log: offsets in bounds and in order, titles printable ASCII,
// signatures 16 hex digits, at most TopFrames normalised frames starting
// with the guilty one, the same answer twice.
//
//	go test ./internal/crashreport -run '^$' -fuzz FuzzExtract -fuzztime 60s
func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "made-*.log"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, int64(0), int64(0))
	}
	log, _ := readCorpus(f, "real-6.12-lkdtm-exception")
	i := strings.Index(string(log), "BUG: kernel NULL")
	tail := log[i-100:]
	f.Add(store(tail, []Range{{300, 700}}), int64(300), int64(700))
	f.Add([]byte("[netoops: 5 bytes missing at offset 0]\nBUG: x\n"), int64(0), int64(5))
	f.Fuzz(func(t *testing.T, log []byte, start, end int64) {
		var missing []Range
		if start >= 0 && end > start {
			missing = []Range{{start, end}}
		}
		res := Extract(log, missing)
		again := Extract(log, missing)
		if len(res.Reports) != len(again.Reports) || res.Omitted != again.Omitted {
			t.Fatalf("two runs differ: %d+%d and %d+%d reports", len(res.Reports), res.Omitted, len(again.Reports), again.Omitted)
		}
		if len(res.Reports) > MaxReports {
			t.Fatalf("%d reports, more than MaxReports", len(res.Reports))
		}
		prevEnd := 0
		for i, r := range res.Reports {
			if r.Title != again.Reports[i].Title || r.Signature != again.Reports[i].Signature {
				t.Fatalf("report %d differs between runs", i)
			}
			if r.Start < prevEnd || r.Start > r.HeaderStart || r.HeaderStart >= r.HeaderEnd || r.HeaderEnd > r.End || r.End > len(log) {
				t.Fatalf("report %d: offsets %d [%d,%d) %d after %d, log %d bytes", i, r.Start, r.HeaderStart, r.HeaderEnd, r.End, prevEnd, len(log))
			}
			prevEnd = r.End
			if r.Title == "" || len(r.Title) > 300 {
				t.Fatalf("report %d: title %q", i, r.Title)
			}
			for j := 0; j < len(r.Title); j++ {
				if c := r.Title[j]; c < 0x20 || c > 0x7e {
					t.Fatalf("report %d: title %q has byte %#x", i, r.Title, c)
				}
			}
			if len(r.Signature) != 16 || strings.Trim(r.Signature, "0123456789abcdef") != "" {
				t.Fatalf("report %d: signature %q", i, r.Signature)
			}
			if len(r.Frames) > TopFrames || r.Guilty != "" && r.Frames[0] != r.Guilty || r.Guilty == "" && len(r.Frames) > 0 {
				t.Fatalf("report %d: guilty %q frames %q", i, r.Guilty, r.Frames)
			}
			for _, fr := range r.Frames {
				if fr == "" || strings.ContainsAny(fr, "+./ []?\n") {
					t.Fatalf("report %d: frame %q", i, fr)
				}
			}
			if r.Primary != (i == 0) || r.Corrupted != (r.CorruptedReason != "") {
				t.Fatalf("report %d: primary %v corrupted %v %q", i, r.Primary, r.Corrupted, r.CorruptedReason)
			}
		}
	})
}
