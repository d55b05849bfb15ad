package catalog

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Memory answers queries from entries held in memory: from a scan of
// the sidecars (Scan), for a store without an index and as the reference
// the index is tested against.
type Memory struct {
	Entries []Entry
}

// Scan reads every sidecar under dir (the crash fields of an old one
// from its log: Upgrade).
func Scan(dir string) (*Memory, error) {
	ds, err := List(dir)
	if err != nil {
		return nil, err
	}
	m := &Memory{Entries: make([]Entry, len(ds))}
	for i := range ds {
		d := &ds[i]
		Upgrade(filepath.Dir(d.MetaPath), &d.Meta)
		m.Entries[i] = EntryOf(d.hostDir(), strings.TrimSuffix(filepath.Base(d.MetaPath), ".json"), &d.Meta)
	}
	return m, nil
}

func newer(a, b *Entry) bool {
	if !a.When.Equal(b.When) {
		return a.When.After(b.When)
	}
	if a.Dir != b.Dir {
		return a.Dir > b.Dir
	}
	return a.Name > b.Name
}

func window[T any](all []T, p Page) []T {
	if p.Offset >= len(all) {
		return []T{}
	}
	all = all[p.Offset:]
	if p.Limit > 0 && p.Limit < len(all) {
		all = all[:p.Limit]
	}
	return all
}

// Dumps implements Querier.
func (m *Memory) Dumps(_ context.Context, f Filter, p Page) ([]Entry, int, error) {
	var out []Entry
	for i := range m.Entries {
		if f.Match(&m.Entries[i]) {
			out = append(out, m.Entries[i])
		}
	}
	sort.Slice(out, func(i, j int) bool { return newer(&out[i], &out[j]) })
	return window(out, p), len(out), nil
}

// Groups implements Querier.
func (m *Memory) Groups(_ context.Context, f Filter, p Page) ([]Group, int, error) {
	type acc struct {
		g        Group
		hosts    map[string]bool
		releases map[string]bool
	}
	by := map[string]*acc{}
	for i := range m.Entries {
		e := &m.Entries[i]
		if !f.Match(e) {
			continue
		}
		a := by[e.Signature]
		if a == nil {
			a = &acc{g: Group{Signature: e.Signature, First: e.When, Last: e.When}, hosts: map[string]bool{}, releases: map[string]bool{}}
			by[e.Signature] = a
		}
		a.g.Dumps++
		a.hosts[e.Dir] = true
		a.releases[e.Release] = true
		if e.When.Before(a.g.First) {
			a.g.First = e.When
		}
		if e.When.After(a.g.Last) {
			a.g.Last = e.When
		}
		if e.Title > a.g.Title {
			a.g.Title = e.Title
		}
	}
	out := make([]Group, 0, len(by))
	for _, a := range by {
		a.g.Hosts = len(a.hosts)
		for r := range a.releases {
			a.g.Releases = append(a.g.Releases, r)
		}
		sort.Strings(a.g.Releases)
		out = append(out, a.g)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Signature < out[j].Signature
	})
	return window(out, p), len(out), nil
}

// Hourly implements Querier.
func (m *Memory) Hourly(_ context.Context, f Filter) ([]Bucket, error) {
	type key struct {
		h   int64
		sig string
	}
	n := map[key]int{}
	for i := range m.Entries {
		e := &m.Entries[i]
		if f.Match(e) {
			n[key{HourOf(e.When), e.Signature}]++
		}
	}
	out := make([]Bucket, 0, len(n))
	for k, c := range n {
		out = append(out, Bucket{Hour: time.Unix(k.h*3600, 0).UTC(), Signature: k.sig, Dumps: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Hour.Equal(out[j].Hour) {
			return out[i].Hour.Before(out[j].Hour)
		}
		return out[i].Signature < out[j].Signature
	})
	return out, nil
}

// HourOf is the number of the hour t falls in, counted from the Unix
// epoch (floored, also before 1970).
func HourOf(t time.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s%3600 < 0 {
		h--
	}
	return h
}

// Scanner answers every query from a fresh scan of the sidecars under
// Dir: slow for a large store, for when no index can be kept.
type Scanner struct{ Dir string }

func (s Scanner) scan() (*Memory, error) { return Scan(s.Dir) }

// Dumps implements Querier.
func (s Scanner) Dumps(ctx context.Context, f Filter, p Page) ([]Entry, int, error) {
	m, err := s.scan()
	if err != nil {
		return nil, 0, err
	}
	return m.Dumps(ctx, f, p)
}

// Groups implements Querier.
func (s Scanner) Groups(ctx context.Context, f Filter, p Page) ([]Group, int, error) {
	m, err := s.scan()
	if err != nil {
		return nil, 0, err
	}
	return m.Groups(ctx, f, p)
}

// Hourly implements Querier.
func (s Scanner) Hourly(ctx context.Context, f Filter) ([]Bucket, error) {
	m, err := s.scan()
	if err != nil {
		return nil, err
	}
	return m.Hourly(ctx, f)
}
