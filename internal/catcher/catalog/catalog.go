// Package catalog is the read side of the store: it finds, lists and opens
// the dumps package store wrote. `catcher ls` and `catcher show` use it.
package catalog

import (
	"bufio"
	"encoding/json"
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

// ID is how `catcher show` names a dump: HOSTDIR/BASENAME.
func (s *Stored) ID() string {
	return filepath.Base(filepath.Dir(s.MetaPath)) + "/" + strings.TrimSuffix(filepath.Base(s.MetaPath), ".json")
}

// WriteList prints one line per dump.
func WriteList(w io.Writer, ds []Stored) {
	for _, d := range ds {
		state := "complete"
		if !d.Complete {
			state = fmt.Sprintf("partial(-%dB)", d.MissingBytes)
		}
		label := d.Label
		if label == "" {
			label = "-"
		}
		fmt.Fprintf(w, "%s  %-15s %-8s %9d  %-40s label=%s %q\n",
			d.When().UTC().Format(time.RFC3339), state, d.Reason, d.TotalLen, d.ID(), quoteCtl(label), d.ReasonText)
	}
}

func quoteCtl(s string) string {
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

// Find returns the dump named by arg, HOST or HOST/DUMP (DUMP is a stored
// base name, with or without .log/.json, or a prefix of it): with HOST
// only, the newest dump of that host. HOST is matched against the stored
// host directory and the host name.
func Find(dir, arg string) (*Stored, error) {
	ds, err := List(dir)
	if err != nil {
		return nil, err
	}
	host, name, _ := strings.Cut(arg, "/")
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".log"), ".json")
	for i := range ds {
		d := &ds[i]
		if d.HostDir != host && d.Host != host && filepath.Base(filepath.Dir(d.MetaPath)) != host {
			continue
		}
		if name == "" || strings.HasPrefix(strings.TrimSuffix(filepath.Base(d.MetaPath), ".json"), name) {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no stored dump %q under %s", arg, dir)
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
		quoteCtl(d.Host), quoteCtl(label), quoteCtl(d.Release), d.BootID, d.DumpSeq,
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
