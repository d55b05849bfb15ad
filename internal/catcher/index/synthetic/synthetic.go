// Package synthetic writes stores of synthetic sidecars for the index's
// and the pages' tests and benchmarks.
package synthetic

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/netoops/netoops/internal/catcher/ranges"
	"github.com/netoops/netoops/internal/catcher/store"
)

// Epoch is the start of the synthetic dumps' week.
var Epoch = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)

// meta returns the sidecar of synthetic dump i of n: n/10 hosts
// (some with hostile names), 36 common signatures with a skewed spread,
// dumps without a report, and a long tail: one dump in 50 has one of
// n/200 rare signatures (a few dumps each, so that a big store has
// several pages of groups); four releases, times over a week, one in ten
// partial.
func meta(r *rand.Rand, i, n int) (hostDir string, m *store.Meta) {
	hosts := max(n/10, 1)
	h := r.IntN(hosts)
	host := fmt.Sprintf("web-%05d.example.net", h)
	if h%97 == 5 {
		host = fmt.Sprintf(`"><img src=x onerror=alert(%d)>`, h)
	}
	sig := int(float64(40) * r.Float64() * r.Float64())
	when := Epoch.Add(time.Duration(r.Int64N(int64(7 * 24 * time.Hour)))).Truncate(time.Millisecond)
	m = &store.Meta{
		Host: host, HostDir: store.SanitizeName(host), Label: "rack" + fmt.Sprint(h%20),
		BootID: fmt.Sprintf("%032x", r.Uint64()), DumpSeq: uint32(1 + i%3),
		Release: []string{"6.1.0-41-amd64", "6.12.57+deb13-amd64", "7.2.1-amd64", "6.12.48+deb12-amd64"}[r.IntN(4)],
		Reason:  "panic", ReasonCode: 1, ReasonText: "Fatal exception",
		DumpTime: &when, FirstPacket: when, LastPacket: when, StoredAt: when.Add(time.Second),
		Source: "192.0.2.1:6667", Packets: 100, TotalLen: 131072, ReceivedLen: 131072,
		Missing: []ranges.Range{}, Complete: true, Log: "x.log", Schema: store.SchemaVersion,
		Reports: []store.Report{},
	}
	if r.IntN(10) == 0 {
		m.Complete, m.MissingBytes, m.ReceivedLen = false, 1349, 131072-1349
		m.Missing = []ranges.Range{{Start: 0, End: 1349}}
	}
	if rare := max(n/200, 1); r.IntN(50) == 0 {
		sig = 40 + r.IntN(rare) // past the common draw (0-39)
	}
	if sig >= 40 {
		m.Title = fmt.Sprintf("WARNING: CPU: 0 PID: 1 at rare_%d", sig-40)
		m.Signature = fmt.Sprintf("%016x", uint64(sig)*0x9e3779b97f4a7c15)
		m.Guilty = fmt.Sprintf("rare_%d", sig-40)
	} else if sig < 36 {
		m.Title = fmt.Sprintf("BUG: kernel NULL pointer dereference in foo_%02d", sig)
		m.Signature = fmt.Sprintf("%016x", uint64(sig)*0x9e3779b97f4a7c15)
		m.Guilty = fmt.Sprintf("foo_%02d", sig)
		m.Corrupted = !m.Complete && r.IntN(2) == 0
	}
	return m.HostDir, m
}

// Write writes n synthetic sidecars (and no logs) under dir.
func Write(dir string, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 1))
	made := map[string]bool{}
	var buf []byte
	for i := 0; i < n; i++ {
		hd, m := meta(r, i, n)
		if !made[hd] {
			if err := os.MkdirAll(filepath.Join(dir, hd), 0o755); err != nil {
				return err
			}
			made[hd] = true
		}
		name := fmt.Sprintf("%s-%s-%d-%d", m.DumpTime.Format("20060102T150405Z"), m.BootID[:8], m.DumpSeq, i)
		m.Log = name + ".log"
		buf = append(m.AppendJSON(buf[:0]), '\n')
		if err := os.WriteFile(filepath.Join(dir, hd, name+".json"), buf, 0o644); err != nil {
			return err
		}
	}
	return nil
}
