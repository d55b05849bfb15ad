package crashreport

import (
	"bytes"
	"fmt"
	"testing"
)

// bigLog is a log of about size bytes: a real dump's boot log and a
// stream of ordinary kernel lines, then the dump's oops and panic at the
// end, where a crash is.
func bigLog(tb testing.TB, size int) []byte {
	tb.Helper()
	real, _ := readCorpus(tb, "real-6.12-lkdtm-exception")
	i := bytes.Index(real, []byte("lkdtm: Performing direct entry EXCEPTION"))
	i = bytes.LastIndexByte(real[:i], '\n') + 1
	boot, crash := real[:i], real[i:]
	b := make([]byte, 0, size+len(crash)+256)
	b = append(b, boot...)
	for n := 0; len(b) < size-len(crash); n++ {
		b = fmt.Appendf(b, "<6>[ %6d.%06d] e1000 0000:00:03.0 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX (line %d)\n", n/1000, n%1000*997, n)
	}
	return append(b, crash...)
}

// stormLog is size bytes of WARNING reports back to back: the worst case,
// every line part of a report.
func stormLog(tb testing.TB, size int) []byte {
	tb.Helper()
	one, _ := readCorpus(tb, "made-6.12-lkdtm-warning-hostA")
	b := make([]byte, 0, size+len(one))
	for len(b) < size {
		b = append(b, one...)
	}
	return b
}

func benchExtract(b *testing.B, log []byte, missing []Range) {
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	var res Result
	for b.Loop() {
		res = Extract(log, missing)
	}
	b.ReportMetric(float64(len(res.Reports)+res.Omitted), "reports")
}

func BenchmarkExtract1MiB(b *testing.B)  { benchExtract(b, bigLog(b, 1<<20), nil) }
func BenchmarkExtract16MiB(b *testing.B) { benchExtract(b, bigLog(b, 16<<20), nil) }

// A partial 16 MiB dump: 1,000 gaps, one every 16 KiB.
func BenchmarkExtract16MiBGaps(b *testing.B) {
	full := bigLog(b, 16<<20)
	var rs []Range
	for off := int64(8 << 10); off+1000 < int64(len(full)); off += 16 << 10 {
		rs = append(rs, Range{off, off + 1000})
	}
	benchExtract(b, store(full, rs), rs)
}

func BenchmarkExtractStorm16MiB(b *testing.B) { benchExtract(b, stormLog(b, 16<<20), nil) }

// The real dumps of the corpus, one after another (~20 KiB each): the
// cost per stored dump in a crash storm.
func BenchmarkExtractRealDump(b *testing.B) {
	log, missing := readCorpus(b, "real-6.12-lkdtm-warning")
	benchExtract(b, log, missing)
}

// TestLinear checks the shape that keeps Extract linear: the number of
// reports in a storm is capped, the rest counted, and a 16 MiB log of
// reports gives the same first reports as a short one.
func TestStormCapped(t *testing.T) {
	log := stormLog(t, 4<<20)
	res := Extract(log, nil)
	if len(res.Reports) != MaxReports {
		t.Fatalf("%d reports, want the first %d", len(res.Reports), MaxReports)
	}
	one, _ := readCorpus(t, "made-6.12-lkdtm-warning-hostA")
	n := bytes.Count(log, []byte("\n<4>[   93.113004] WARNING:"))
	if got := len(res.Reports) + res.Omitted; got != n {
		t.Errorf("%d reports and %d omitted, want %d in all", len(res.Reports), res.Omitted, n)
	}
	first := Extract(one, nil).Reports[0]
	for i, r := range res.Reports {
		if r.Title != first.Title || r.Signature != first.Signature || r.Primary != (i == 0) {
			t.Fatalf("report %d: %q %s primary=%v, want %q %s", i, r.Title, r.Signature, r.Primary, first.Title, first.Signature)
		}
	}
}

// A dump of the load generator (cmd/loadgen): 128 KiB of synthetic
// lines without a prefix, then its panic line; a crash storm stores
// thousands of them.
func BenchmarkExtractLoadgen128KiB(b *testing.B) {
	var log []byte
	for i := 0; len(log) < 128<<10; i++ {
		log = fmt.Appendf(log, "[%5d.%06d] loadgen: synthetic kernel log line %d of a netoops load test\n", i/1000, i%1000*997, i)
	}
	log = append(log[:128<<10-50], "Kernel panic - not syncing: sysrq triggered crash\n"...)
	benchExtract(b, log, nil)
}
