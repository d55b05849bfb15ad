// Package catalog is the read side of the store: it finds, lists and opens
// the dumps package store wrote. `catcher ls` and `catcher show` use it.
package catalog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/netoops/netoops/internal/catcher/store"
)

// Stored is a dump found under the store directory.
type Stored struct {
	store.Meta
	MetaPath string
	LogPath  string
}

// When is the dump's time: its dump time, else its first packet's.
func (s *Stored) When() time.Time {
	if s.DumpTime != nil {
		return *s.DumpTime
	}
	return s.FirstPacket
}

// List returns the dumps stored under dir, newest first.
func List(dir string) ([]Stored, error) {
	hosts, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Stored
	for _, h := range hosts {
		if !h.IsDir() || strings.HasPrefix(h.Name(), ".") {
			continue
		}
		ms, _ := filepath.Glob(filepath.Join(dir, h.Name(), "*.json"))
		for _, mp := range ms {
			b, err := os.ReadFile(mp)
			if err != nil {
				continue
			}
			var s Stored
			if json.Unmarshal(b, &s.Meta) != nil {
				continue
			}
			s.MetaPath = mp
			s.LogPath = filepath.Join(filepath.Dir(mp), filepath.Base(s.Log))
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].When(), out[j].When()
		if !a.Equal(b) {
			return a.After(b)
		}
		return out[i].MetaPath > out[j].MetaPath
	})
	return out, nil
}

// ID is how `catcher ls` names a dump and `catcher show` selects it:
// HOSTDIR/NAME, the host directory and the stored base name.
func (s *Stored) ID() string {
	return s.hostDir() + "/" + strings.TrimSuffix(filepath.Base(s.MetaPath), ".json")
}

func (s *Stored) hostDir() string { return filepath.Base(filepath.Dir(s.MetaPath)) }

// HostName is the dump's host name byte for byte, as the directory name
// keeps it (the sidecar's JSON shows invalid UTF-8 as U+FFFD).
func (s *Stored) HostName() string {
	if h, ok := store.HostOfDir(s.hostDir()); ok {
		return h
	}
	return s.Host
}

// WriteList prints one line per dump: time, state, reason, total length,
// ID, label and reason text, the last two quoted.
func WriteList(w io.Writer, ds []Stored) {
	for _, d := range ds {
		state := "complete"
		if !d.Complete {
			state = fmt.Sprintf("partial(-%dB)", d.MissingBytes)
		}
		fmt.Fprintf(w, "%s  %-15s %-8s %9d  %-40s label=%q %q\n",
			d.When().UTC().Format(time.RFC3339), state, d.Reason, d.TotalLen, d.ID(), d.Label, d.ReasonText)
	}
}

func quoteCtl(s string) string {
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

// Errors of Find.
var (
	// ErrNotFound: no stored dump has that id.
	ErrNotFound = errors.New("no such dump")
	// ErrBadID: the argument is not an id, or names several dumps.
	ErrBadID = errors.New("not the id of one dump")
)

// Find returns the dump named by id, as `catcher ls` prints ids:
// HOSTDIR/NAME, or HOSTDIR alone for that directory's newest dump. HOSTDIR
// is a host directory's name (the escaped host name), never a raw host
// name; NAME is a stored base name, with or without .log or .json, or a
// prefix of it that only one of the directory's dumps has. Errors wrap
// ErrNotFound or ErrBadID and say what to type instead.
func Find(dir, id string) (*Stored, error) {
	hostDir, name, hasName := strings.Cut(id, "/")
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".log"), ".json")
	if hostDir == "" || hostDir == "." || hostDir == ".." || strings.HasPrefix(hostDir, ".") ||
		strings.Contains(name, "/") || (hasName && name == "") {
		return nil, fmt.Errorf("%w: %q: an id is HOSTDIR or HOSTDIR/NAME, as catcher ls prints it", ErrBadID, id)
	}
	ds, err := List(dir)
	if err != nil {
		return nil, err
	}
	var inDir []*Stored
	for i := range ds {
		if ds[i].hostDir() == hostDir {
			inDir = append(inDir, &ds[i])
		}
	}
	if len(inDir) == 0 {
		hint := "catcher ls lists the ids"
		if esc := store.SanitizeName(hostDir); esc != hostDir {
			for i := range ds {
				if ds[i].hostDir() == esc {
					hint = fmt.Sprintf("host %q is stored as %s: catcher show %s", hostDir, esc, esc)
					break
				}
			}
		}
		return nil, fmt.Errorf("%w: no host directory %q under %s (%s)", ErrNotFound, hostDir, dir, hint)
	}
	if !hasName {
		return inDir[0], nil // List sorts newest first
	}
	var prefixed []*Stored
	for _, d := range inDir {
		base := strings.TrimSuffix(filepath.Base(d.MetaPath), ".json")
		if base == name {
			return d, nil
		}
		if strings.HasPrefix(base, name) {
			prefixed = append(prefixed, d)
		}
	}
	switch len(prefixed) {
	case 0:
		return nil, fmt.Errorf("%w: no dump %q in %s (catcher ls lists the ids)", ErrNotFound, id, filepath.Join(dir, hostDir))
	case 1:
		return prefixed[0], nil
	}
	ids := make([]string, len(prefixed))
	for i, d := range prefixed {
		ids[i] = d.ID()
	}
	return nil, fmt.Errorf("%w: %q is the start of %d dumps' names: %s", ErrBadID, id, len(ids), strings.Join(ids, ", "))
}

var hot = regexp.MustCompile(`Kernel panic|\bpanic\b|\bOops\b|\boops\b|\bBUG\b|netoops: \d+ bytes missing`)

// Show writes a dump's header and log to w; with color, lines about a
// panic, an oops or a BUG are red and gap markers yellow.
func Show(w io.Writer, d *Stored, color bool) error {
	state := "complete"
	if !d.Complete {
		state = fmt.Sprintf("partial, %d of %d bytes missing", d.MissingBytes, d.TotalLen)
	}
	label := d.Label
	if label == "" {
		label = "-"
	}
	fmt.Fprintf(w, "# host %s  label %s  release %s  boot %s  dump %d\n# %s: %s  (%s, %s)\n",
		quoteCtl(d.HostName()), quoteCtl(label), quoteCtl(d.Release), d.BootID, d.DumpSeq,
		d.Reason, quoteCtl(d.ReasonText), d.When().UTC().Format(time.RFC3339), state)
	f, err := os.Open(d.LogPath)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	if !color {
		_, err = io.Copy(bw, f)
		return err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "[netoops: "):
			fmt.Fprintf(bw, "\x1b[33m%s\x1b[0m\n", line)
		case hot.MatchString(line):
			fmt.Fprintf(bw, "\x1b[1;31m%s\x1b[0m\n", line)
		default:
			bw.WriteString(line)
			bw.WriteByte('\n')
		}
	}
	return sc.Err()
}
