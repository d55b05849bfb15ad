package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/triage"
)

// Entry is what listing and grouping know of a stored dump: its sidecar's
// identity and crash fields, without the log or the reports' details.
type Entry struct {
	Dir          string // the host directory the files are in
	Name         string // the stored base name (without .json)
	Host         string // the host name (as the sidecar's JSON has it)
	HostDir      string // the sidecar's host_dir
	Label        string
	BootID       string
	DumpSeq      uint32
	Release      string
	Reason       string
	ReasonText   string
	When         time.Time // dump time, else first packet's receive time
	StoredAt     time.Time
	Complete     bool
	TotalLen     uint32
	MissingBytes uint64
	Title        string
	Signature    string
	Guilty       string
	Corrupted    bool
	Log          string // the log's file name
}

// ID is the dump's id, HOSTDIR/NAME, as catcher ls prints it.
func (e *Entry) ID() string { return e.Dir + "/" + e.Name }

// EntryOf returns the entry of a sidecar m stored as dir/name.json.
func EntryOf(dir, name string, m *store.Meta) Entry {
	when := m.FirstPacket
	if m.DumpTime != nil {
		when = *m.DumpTime
	}
	return Entry{
		Dir: dir, Name: name, Host: m.Host, HostDir: m.HostDir, Label: m.Label, BootID: m.BootID,
		DumpSeq: m.DumpSeq, Release: m.Release, Reason: m.Reason, ReasonText: m.ReasonText,
		When: when.UTC(), StoredAt: m.StoredAt.UTC(), Complete: m.Complete, TotalLen: m.TotalLen,
		MissingBytes: m.MissingBytes, Title: m.Title, Signature: m.Signature, Guilty: m.Guilty,
		Corrupted: m.Corrupted, Log: filepath.Base(m.Log),
	}
}

// Filter selects dumps; zero fields select all.
type Filter struct {
	Signature string    // exactly this signature ("" all; see NoReport)
	NoReport  bool      // only dumps without a crash report (signature "")
	Host      string    // a host name or host directory
	Release   string    // exactly this kernel release
	Since     time.Time // dumps at or after this time
	Until     time.Time // dumps before this time
}

// HostDirs returns the host directories Host can name: itself and its
// escaped form.
func (f *Filter) HostDirs() []string {
	if f.Host == "" {
		return nil
	}
	if esc := store.SanitizeName(f.Host); esc != f.Host {
		return []string{f.Host, esc}
	}
	return []string{f.Host}
}

// Match reports whether e passes the filter.
func (f *Filter) Match(e *Entry) bool {
	switch {
	case f.Signature != "" && e.Signature != f.Signature,
		f.NoReport && e.Signature != "",
		f.Release != "" && e.Release != f.Release,
		!f.Since.IsZero() && e.When.Before(f.Since),
		!f.Until.IsZero() && !e.When.Before(f.Until):
		return false
	}
	if f.Host != "" {
		for _, d := range f.HostDirs() {
			if e.Dir == d {
				return true
			}
		}
		return false
	}
	return true
}

// Page is a window of a sorted result: Limit rows (0: all) after Offset.
type Page struct {
	Limit, Offset int
}

// Group is the dumps that share a signature.
type Group struct {
	Signature string
	Title     string
	Dumps     int
	Hosts     int      // distinct host directories
	Releases  []string // distinct, sorted
	First     time.Time
	Last      time.Time
}

// Bucket counts a signature's dumps in one hour (UTC).
type Bucket struct {
	Hour      time.Time
	Signature string
	Dumps     int
}

// Querier answers the questions listing, grouping and the web page ask.
// Dumps are ordered newest first (then by Dir and Name, descending), groups by
// their newest dump (then by signature), buckets by hour then signature.
// The totals count every match, not only the page.
type Querier interface {
	Dumps(ctx context.Context, f Filter, p Page) (rows []Entry, total int, err error)
	Groups(ctx context.Context, f Filter, p Page) (groups []Group, total int, err error)
	Hourly(ctx context.Context, f Filter) ([]Bucket, error)
}

// Load reads the sidecar of the dump with id HOSTDIR/NAME (exactly) under
// dir, without listing the store.
func Load(dir, id string) (*Stored, error) {
	hostDir, name, ok := strings.Cut(id, "/")
	if !ok || hostDir == "" || name == "" || strings.HasPrefix(hostDir, ".") || strings.HasPrefix(name, ".") ||
		strings.ContainsAny(name, "/\\") || strings.ContainsRune(hostDir, '\\') {
		return nil, fmt.Errorf("%w: %q: want HOSTDIR/NAME", ErrBadID, id)
	}
	mp := filepath.Join(dir, hostDir, name+".json")
	b, err := os.ReadFile(mp)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	s := &Stored{MetaPath: mp}
	if err := json.Unmarshal(b, &s.Meta); err != nil {
		return nil, fmt.Errorf("%s: %w", mp, err)
	}
	s.LogPath = filepath.Join(dir, hostDir, filepath.Base(s.Log))
	Upgrade(filepath.Join(dir, hostDir), &s.Meta)
	return s, nil
}

// Upgrade fills the crash fields of a sidecar written before they
// existed (schema < 2) from its log in hostDir, as the store would have
// written them (package triage), so that older stores are grouped too.
// The sidecar on disk is left as it is. A log that cannot be read leaves
// the fields empty.
func Upgrade(hostDir string, m *store.Meta) {
	if m.Schema >= store.SchemaVersion || m.Log == "" {
		return
	}
	log, err := os.ReadFile(filepath.Join(hostDir, filepath.Base(m.Log)))
	if err != nil {
		return
	}
	triage.Annotate(m, log)
}
