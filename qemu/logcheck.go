package qemu

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

var (
	prefixRE = regexp.MustCompile(`^<[0-9]+>`)
	stampRE  = regexp.MustCompile(`^\[ *[0-9]+\.[0-9]+\] ?`)
)

// StripPrefix removes a line's syslog "<N>" prefix.
func StripPrefix(line string) string { return prefixRE.ReplaceAllString(line, "") }

// Text returns a log line's message: no "<N>" prefix, no timestamp.
func Text(line string) string { return stampRE.ReplaceAllString(StripPrefix(line), "") }

// Lines splits a log into lines without the final empty one.
func Lines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Texts returns the messages of a log's lines.
func Texts(b []byte) []string {
	ls := Lines(b)
	for i, l := range ls {
		ls[i] = Text(l)
	}
	return ls
}

// KnownLine is the text the guest's known helper logs.
func KnownLine(tag string, i, n int) string {
	return fmt.Sprintf("E2E-KNOWN %s line %d of %d abcdefghijklmnopqrstuvwxyz0123456789", tag, i, n)
}

// CheckKnown checks that the n known lines of tag appear in the log, in
// order and back to back.
func CheckKnown(log []byte, tag string, n int) error {
	texts := Texts(log)
	first := KnownLine(tag, 1, n)
	for i, t := range texts {
		if t != first {
			continue
		}
		for k := 1; k <= n; k++ {
			if i+k-1 >= len(texts) {
				return fmt.Errorf("known lines %q: log ends after line %d of %d", tag, k-1, n)
			}
			if want := KnownLine(tag, k, n); texts[i+k-1] != want {
				return fmt.Errorf("known lines %q: line %d is %q, want %q", tag, k, texts[i+k-1], want)
			}
		}
		return nil
	}
	return fmt.Errorf("known lines %q: first line not in the log", tag)
}

// CountKnown counts how many distinct known lines of tag appear whole.
func CountKnown(log []byte, tag string, n int) int {
	want := map[string]bool{}
	for k := 1; k <= n; k++ {
		want[KnownLine(tag, k, n)] = true
	}
	got := map[string]bool{}
	for _, t := range Texts(log) {
		if want[t] {
			got[t] = true
		}
	}
	return len(got)
}

// CheckContains checks that every string in wants occurs in some line.
func CheckContains(log []byte, wants ...string) error {
	var missing []string
	for _, w := range wants {
		if !bytes.Contains(log, []byte(w)) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("log lacks %q", missing)
	}
	return nil
}

// CheckAgainstConsole checks that the dump's lines, without their "<N>"
// prefixes, are a contiguous run of the serial console's lines: the
// console saw the same messages, in the same order, with nothing missing
// in between.
func CheckAgainstConsole(dump []byte, console string) error {
	dl := Lines(dump)
	if len(dl) == 0 {
		return fmt.Errorf("empty dump")
	}
	for i := range dl {
		dl[i] = StripPrefix(dl[i])
	}
	cl := strings.Split(strings.ReplaceAll(console, "\r", ""), "\n")
	best, bestAt := -1, -1
	for i := range cl {
		if cl[i] != dl[0] {
			continue
		}
		k := 0
		for k < len(dl) && i+k < len(cl) && cl[i+k] == dl[k] {
			k++
		}
		if k == len(dl) {
			return nil
		}
		if k > best {
			best, bestAt = k, i
		}
	}
	if best < 0 {
		return fmt.Errorf("the dump's first line %q is not on the console", dl[0])
	}
	got := "(console ends)"
	if bestAt+best < len(cl) {
		got = cl[bestAt+best]
	}
	return fmt.Errorf("dump and console agree for %d of %d lines; dump line %d is %q, console has %q",
		best, len(dl), best+1, dl[best], got)
}
