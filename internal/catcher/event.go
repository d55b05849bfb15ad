package catcher

import (
	"io"
	"sync"
	"time"
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
}

func newEvent(m *Meta, logPath, metaPath string) Event {
	return Event{
		Time: m.StoredAt, Host: m.Host, HostDir: m.HostDir, Label: m.Label, BootID: m.BootID,
		DumpSeq: m.DumpSeq, Release: m.Release, Reason: m.Reason, ReasonText: m.ReasonText,
		DumpTime: m.DumpTime, Complete: m.Complete, TotalLen: m.TotalLen,
		MissingBytes: m.MissingBytes, Packets: m.Packets, Duplicates: m.Duplicates,
		Truncated: m.Truncated, Log: logPath, Meta: metaPath, Source: m.Source,
	}
}

// EventWriter writes events as JSON lines, one write each; safe for
// concurrent use.
type EventWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewEventWriter returns an EventWriter on w.
func NewEventWriter(w io.Writer) *EventWriter {
	return &EventWriter{w: w}
}

// Write writes one event line.
func (ew *EventWriter) Write(ev Event) error {
	ew.mu.Lock()
	defer ew.mu.Unlock()
	ew.buf = ev.appendJSON(ew.buf[:0])
	_, err := ew.w.Write(ew.buf)
	return err
}
