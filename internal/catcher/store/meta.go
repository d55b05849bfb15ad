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
	// Schema is the sidecar's schema version, SchemaVersion; sidecars
	// written before it existed have none (read as 0: version 1).
	Schema int `json:"schema"`
	// Title, Signature, Guilty and Corrupted are the primary crash
	// report's (Reports[0]); empty when the log holds none.
	Title     string `json:"title"`
	Signature string `json:"signature"`
	Guilty    string `json:"guilty"`
	Corrupted bool   `json:"corrupted"`
	// Reports are the crash reports found in the log, in log order, at
	// most crashreport.MaxReports; ReportsOmitted counts the rest.
	Reports        []Report `json:"reports"`
	ReportsOmitted int      `json:"reports_omitted"`
}

// SchemaVersion is the version of the sidecar's schema: 2 added schema,
// title, signature, guilty, corrupted, reports and reports_omitted.
const SchemaVersion = 2

// Report is one crash report found in a dump's log (package crashreport
// finds them; docs/crash-titles.md says how). Start, End, HeaderStart
// and HeaderEnd are byte offsets in the stored log file.
type Report struct {
	Kind            string   `json:"kind"`
	Title           string   `json:"title"`
	Guilty          string   `json:"guilty"`
	Frames          []string `json:"frames"`
	Signature       string   `json:"signature"`
	Corrupted       bool     `json:"corrupted"`
	CorruptedReason string   `json:"corrupted_reason"`
	Primary         bool     `json:"primary"`
	Start           int64    `json:"start"`
	End             int64    `json:"end"`
	HeaderStart     int64    `json:"header_start"`
	HeaderEnd       int64    `json:"header_end"`
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
	w.Int("schema", int64(m.Schema))
	w.Str("title", m.Title)
	w.Str("signature", m.Signature)
	w.Str("guilty", m.Guilty)
	w.Bool("corrupted", m.Corrupted)
	w.Key("reports")
	switch {
	case m.Reports == nil:
		w.B = append(w.B, "null"...)
	case len(m.Reports) == 0:
		w.B = append(w.B, "[]"...)
	default:
		w.B = append(w.B, '[')
		for i := range m.Reports {
			if i > 0 {
				w.B = append(w.B, ',')
			}
			w.B = append(w.B, "\n    "...)
			w.B = m.Reports[i].appendJSON(w.B)
		}
		w.B = append(w.B, "\n  ]"...)
	}
	w.Int("reports_omitted", int64(m.ReportsOmitted))
	return w.End("")
}

// appendJSON appends r as an element of the sidecar's "reports".
func (r *Report) appendJSON(b []byte) []byte {
	w := jsonenc.NewObject(b, "      ")
	w.Str("kind", r.Kind)
	w.Str("title", r.Title)
	w.Str("guilty", r.Guilty)
	w.Key("frames")
	switch {
	case r.Frames == nil:
		w.B = append(w.B, "null"...)
	case len(r.Frames) == 0:
		w.B = append(w.B, "[]"...)
	default:
		w.B = append(w.B, '[')
		for i, f := range r.Frames {
			if i > 0 {
				w.B = append(w.B, ',')
			}
			w.B = append(w.B, "\n        "...)
			w.B = jsonenc.AppendString(w.B, f)
		}
		w.B = append(w.B, "\n      ]"...)
	}
	w.Str("signature", r.Signature)
	w.Bool("corrupted", r.Corrupted)
	w.Str("corrupted_reason", r.CorruptedReason)
	w.Bool("primary", r.Primary)
	w.Int("start", r.Start)
	w.Int("end", r.End)
	w.Int("header_start", r.HeaderStart)
	w.Int("header_end", r.HeaderEnd)
	return w.End("    ")
}
