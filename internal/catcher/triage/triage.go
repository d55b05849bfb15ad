// Package triage names the crash in each dump as it is stored: it runs
// package crashreport on the stored log and writes the reports found,
// with the primary one's title and signature, into the dump's sidecar
// (and so into its event and --exec environment).
package triage

import (
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/crashreport"
)

// Annotate fills m's crash fields from log, the dump's log as stored
// (gap markers in place of m.Missing). It is store.Store.Analyze.
func Annotate(m *store.Meta, log []byte) {
	var missing []crashreport.Range
	if len(m.Missing) > 0 {
		missing = make([]crashreport.Range, len(m.Missing))
		for i, r := range m.Missing {
			missing[i] = crashreport.Range{Start: int64(r.Start), End: int64(r.End)}
		}
	}
	res := crashreport.Extract(log, missing)
	m.Reports = make([]store.Report, len(res.Reports))
	for i, r := range res.Reports {
		m.Reports[i] = store.Report{
			Kind: string(r.Kind), Title: r.Title, Guilty: r.Guilty, Frames: r.Frames,
			Signature: r.Signature, Corrupted: r.Corrupted, CorruptedReason: r.CorruptedReason,
			Primary: r.Primary, Start: int64(r.Start), End: int64(r.End),
			HeaderStart: int64(r.HeaderStart), HeaderEnd: int64(r.HeaderEnd),
		}
	}
	m.ReportsOmitted = res.Omitted
	m.Title, m.Signature, m.Guilty, m.Corrupted = "", "", "", false
	if len(m.Reports) > 0 {
		p := &m.Reports[0]
		m.Title, m.Signature, m.Guilty, m.Corrupted = p.Title, p.Signature, p.Guilty, p.Corrupted
	}
}
