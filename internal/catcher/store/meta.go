package store

import (
	"time"

	"github.com/netoops/netoops/internal/catcher/jsonenc"
	"github.com/netoops/netoops/internal/catcher/ranges"
)

// Meta is the JSON sidecar stored next to every dump's log. docs/catcher.md
// documents every field.
type Meta struct {
	Host         string         `json:"host"`
	HostDir      string         `json:"host_dir"`
	Label        string         `json:"label"`
	BootID       string         `json:"boot_id"`
	DumpSeq      uint32         `json:"dump_seq"`
	Release      string         `json:"release"`
	Reason       string         `json:"reason"`
	ReasonCode   uint8          `json:"reason_code"`
	ReasonText   string         `json:"reason_text"`
	DumpTime     *time.Time     `json:"dump_time"`
	FirstPacket  time.Time      `json:"first_packet"`
	LastPacket   time.Time      `json:"last_packet"`
	StoredAt     time.Time      `json:"stored_at"`
	Source       string         `json:"source"`
	Packets      uint64         `json:"packets"`
	Duplicates   uint64         `json:"duplicates"`
	Conflicts    uint64         `json:"conflicts"`
	Pieces       uint32         `json:"pieces"`
	Copies       uint8          `json:"copies"`
	TotalLen     uint32         `json:"total_len"`
	ReceivedLen  uint64         `json:"received_bytes"`
	MissingBytes uint64         `json:"missing_bytes"`
	Missing      []ranges.Range `json:"missing"`
	Complete     bool           `json:"complete"`
	Flags        uint16         `json:"flags"`
	Truncated    bool           `json:"truncated"`
	Prefixed     bool           `json:"prefixed"`
	Log          string         `json:"log"`
}

// AppendJSON appends m as json.MarshalIndent(m, "", "  ") writes it.
func (m *Meta) AppendJSON(b []byte) []byte {
	w := jsonenc.NewObject(b, "  ")
	w.Str("host", m.Host)
	w.Str("host_dir", m.HostDir)
	w.Str("label", m.Label)
	w.Str("boot_id", m.BootID)
	w.Uint("dump_seq", uint64(m.DumpSeq))
	w.Str("release", m.Release)
	w.Str("reason", m.Reason)
	w.Uint("reason_code", uint64(m.ReasonCode))
	w.Str("reason_text", m.ReasonText)
	w.TimePtr("dump_time", m.DumpTime)
	w.Time("first_packet", m.FirstPacket)
	w.Time("last_packet", m.LastPacket)
	w.Time("stored_at", m.StoredAt)
	w.Str("source", m.Source)
	w.Uint("packets", m.Packets)
	w.Uint("duplicates", m.Duplicates)
	w.Uint("conflicts", m.Conflicts)
	w.Uint("pieces", uint64(m.Pieces))
	w.Uint("copies", uint64(m.Copies))
	w.Uint("total_len", uint64(m.TotalLen))
	w.Uint("received_bytes", m.ReceivedLen)
	w.Uint("missing_bytes", m.MissingBytes)
	w.Key("missing")
	switch {
	case m.Missing == nil:
		w.B = append(w.B, "null"...)
	case len(m.Missing) == 0:
		w.B = append(w.B, "[]"...)
	default:
		w.B = append(w.B, '[')
		for i, r := range m.Missing {
			if i > 0 {
				w.B = append(w.B, ',')
			}
			w.B = append(w.B, "\n    "...)
			rw := jsonenc.NewObject(w.B, "      ")
			rw.Uint("start", uint64(r.Start))
			rw.Uint("end", uint64(r.End))
			w.B = rw.End("    ")
		}
		w.B = append(w.B, "\n  ]"...)
	}
	w.Bool("complete", m.Complete)
	w.Uint("flags", uint64(m.Flags))
	w.Bool("truncated", m.Truncated)
	w.Bool("prefixed", m.Prefixed)
	w.Str("log", m.Log)
	return w.End("")
}
