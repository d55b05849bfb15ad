// Package event makes the JSON line written for every stored dump
// (--events) and the environment of the --exec hook, from the dump's
// sidecar; docs/catcher.md documents both.
package event

import (
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/netoops/netoops/internal/catcher/jsonenc"
	"github.com/netoops/netoops/internal/catcher/store"
)

// Event is the JSON line written for every stored dump. docs/catcher.md
// documents the schema; the e2e suite parses it.
type Event struct {
	Time         time.Time  `json:"time"`
	Host         string     `json:"host"`
	HostDir      string     `json:"host_dir"`
	Label        string     `json:"label"`
	BootID       string     `json:"boot_id"`
	DumpSeq      uint32     `json:"dump_seq"`
	Release      string     `json:"release"`
	Reason       string     `json:"reason"`
	ReasonText   string     `json:"reason_text"`
	DumpTime     *time.Time `json:"dump_time"`
	Complete     bool       `json:"complete"`
	TotalLen     uint32     `json:"total_len"`
	MissingBytes uint64     `json:"missing_bytes"`
	Packets      uint64     `json:"packets"`
	Duplicates   uint64     `json:"duplicates"`
	Truncated    bool       `json:"truncated"`
	Log          string     `json:"log"`
	Meta         string     `json:"meta"`
	Source       string     `json:"source"`
	Title        string     `json:"title"`
	Signature    string     `json:"signature"`
	Guilty       string     `json:"guilty"`
	Corrupted    bool       `json:"corrupted"`
	Reports      int        `json:"reports"`
}

// New returns the event of a dump stored with sidecar m at logPath and
// metaPath.
func New(m *store.Meta, logPath, metaPath string) Event {
	return Event{
		Time: m.StoredAt, Host: m.Host, HostDir: m.HostDir, Label: m.Label, BootID: m.BootID,
		DumpSeq: m.DumpSeq, Release: m.Release, Reason: m.Reason, ReasonText: m.ReasonText,
		DumpTime: m.DumpTime, Complete: m.Complete, TotalLen: m.TotalLen,
		MissingBytes: m.MissingBytes, Packets: m.Packets, Duplicates: m.Duplicates,
		Truncated: m.Truncated, Log: logPath, Meta: metaPath, Source: m.Source,
		Title: m.Title, Signature: m.Signature, Guilty: m.Guilty, Corrupted: m.Corrupted,
		Reports: len(m.Reports) + m.ReportsOmitted,
	}
}

// Writer writes events as JSON lines, one write each; safe for concurrent
// use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Write writes one event line.
func (ew *Writer) Write(ev Event) error {
	ew.mu.Lock()
	defer ew.mu.Unlock()
	ew.buf = ev.AppendJSON(ew.buf[:0])
	_, err := ew.w.Write(ew.buf)
	return err
}

// AppendJSON appends ev and a newline as json.Encoder.Encode writes them.
func (ev *Event) AppendJSON(b []byte) []byte {
	w := jsonenc.NewObject(b, "")
	w.Time("time", ev.Time)
	w.Str("host", ev.Host)
	w.Str("host_dir", ev.HostDir)
	w.Str("label", ev.Label)
	w.Str("boot_id", ev.BootID)
	w.Uint("dump_seq", uint64(ev.DumpSeq))
	w.Str("release", ev.Release)
	w.Str("reason", ev.Reason)
	w.Str("reason_text", ev.ReasonText)
	w.TimePtr("dump_time", ev.DumpTime)
	w.Bool("complete", ev.Complete)
	w.Uint("total_len", uint64(ev.TotalLen))
	w.Uint("missing_bytes", ev.MissingBytes)
	w.Uint("packets", ev.Packets)
	w.Uint("duplicates", ev.Duplicates)
	w.Bool("truncated", ev.Truncated)
	w.Str("log", ev.Log)
	w.Str("meta", ev.Meta)
	w.Str("source", ev.Source)
	w.Str("title", ev.Title)
	w.Str("signature", ev.Signature)
	w.Str("guilty", ev.Guilty)
	w.Bool("corrupted", ev.Corrupted)
	w.Uint("reports", uint64(ev.Reports))
	return append(w.End(""), '\n')
}

// Env returns the NETOOPS_* environment of ev, NUL bytes (which cannot be
// in the environment) removed.
func (ev Event) Env() []string {
	dt := ""
	if ev.DumpTime != nil {
		dt = ev.DumpTime.Format(time.RFC3339Nano)
	}
	return sanitizeEnv([]string{
		"NETOOPS_LOG=" + ev.Log, "NETOOPS_META=" + ev.Meta, "NETOOPS_HOST=" + ev.Host,
		"NETOOPS_HOST_DIR=" + ev.HostDir, "NETOOPS_LABEL=" + ev.Label, "NETOOPS_BOOT_ID=" + ev.BootID,
		"NETOOPS_DUMP_SEQ=" + strconv.FormatUint(uint64(ev.DumpSeq), 10), "NETOOPS_RELEASE=" + ev.Release,
		"NETOOPS_REASON=" + ev.Reason, "NETOOPS_REASON_TEXT=" + ev.ReasonText, "NETOOPS_DUMP_TIME=" + dt,
		"NETOOPS_COMPLETE=" + strconv.FormatBool(ev.Complete), "NETOOPS_TOTAL_LEN=" + strconv.FormatUint(uint64(ev.TotalLen), 10),
		"NETOOPS_MISSING_BYTES=" + strconv.FormatUint(ev.MissingBytes, 10), "NETOOPS_SOURCE=" + ev.Source,
		"NETOOPS_TRUNCATED=" + strconv.FormatBool(ev.Truncated),
		"NETOOPS_TITLE=" + ev.Title, "NETOOPS_SIGNATURE=" + ev.Signature, "NETOOPS_GUILTY=" + ev.Guilty,
		"NETOOPS_CORRUPTED=" + strconv.FormatBool(ev.Corrupted), "NETOOPS_REPORTS=" + strconv.Itoa(ev.Reports),
	})
}

// sanitizeEnv drops NUL bytes, which cannot be in the environment.
func sanitizeEnv(env []string) []string {
	for i, v := range env {
		b := []byte(v)
		n := 0
		for _, c := range b {
			if c != 0 {
				b[n] = c
				n++
			}
		}
		env[i] = string(b[:n])
	}
	return env
}
