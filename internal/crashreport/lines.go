package crashreport

import (
	"bytes"
	"sort"
	"strconv"
)

// Range is a half-open byte range [Start, End) of the dumped log, as in
// the sidecar's "missing" list.
type Range struct {
	Start, End int64
}

// line is one line of the log, its newline excluded. It refers into the
// log: scanning allocates nothing per line.
type line struct {
	start, end int    // the line's bytes in the log
	text       []byte // the message, after the syslog prefix
	kernel     bool   // logged by the kernel (no prefix, or facility 0)
	marker     bool   // a gap marker standing for one of the missing ranges
	gap        Range  // the range a marker stands for
	cut        bool   // next to a gap: the line may be a fragment
}

// scanner walks a log line by line. It recognises the catcher's gap
// markers, but only those that stand for a range the caller says is
// missing, so a log line that merely looks like a marker is text.
type scanner struct {
	log     []byte
	pos     int
	missing []Range // sorted by Start
	found   []bool  // missing[i] was located as a marker
	prevGap bool    // the previous line was a marker
	// The received bytes since the last marker: where they start in the
	// log file and in the dumped log.
	segStart int
	segLog   int64
}

func newScanner(log []byte, missing []Range) *scanner {
	s := &scanner{log: log}
	if len(missing) > 0 {
		s.missing = append([]Range(nil), missing...)
		sort.Slice(s.missing, func(i, j int) bool { return s.missing[i].Start < s.missing[j].Start })
		s.found = make([]bool, len(s.missing))
	}
	return s
}

// next fills l with the next line; it returns false at the end of the log.
func (s *scanner) next(l *line) bool {
	if s.pos >= len(s.log) {
		return false
	}
	start := s.pos
	end := len(s.log)
	if i := bytes.IndexByte(s.log[start:], '\n'); i >= 0 {
		end = start + i
		s.pos = end + 1
	} else {
		s.pos = end
	}
	raw := s.log[start:end]
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
	}
	*l = line{start: start, end: end}
	if r, ok := s.marker(raw); ok {
		l.marker, l.gap, l.kernel = true, r, true
		s.prevGap = true
		s.segStart, s.segLog = s.pos, r.End
		return true
	}
	// A line right after a gap has lost its beginning unless it starts
	// with a syslog prefix; one right before a gap has lost its end if
	// the catcher had to end it with a newline of its own.
	l.cut = s.prevGap && !hasSyslogPrefix(raw) || s.cutBeforeMarker()
	s.prevGap = false
	l.text, l.kernel = splitPrefix(raw)
	return true
}

// cutBeforeMarker reports whether the line after the current one is a
// gap marker and the current line was cut by the gap: the bytes since
// the last gap are one more than the log held there (the catcher's
// newline), or do not match it.
func (s *scanner) cutBeforeMarker() bool {
	if len(s.missing) == 0 || s.pos >= len(s.log) {
		return false
	}
	rest := s.log[s.pos:]
	if !bytes.HasPrefix(rest, markerPrefix) {
		return false
	}
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	i, ok := s.lookup(rest)
	if !ok {
		return false
	}
	received := int64(s.pos - s.segStart)
	return received != s.missing[i].Start-s.segLog
}

// hasSyslogPrefix: the line starts with "<N>".
func hasSyslogPrefix(raw []byte) bool {
	if len(raw) < 3 || raw[0] != '<' {
		return false
	}
	i := 1
	for i < len(raw) && i < 6 && raw[i] >= '0' && raw[i] <= '9' {
		i++
	}
	return i > 1 && i < len(raw) && raw[i] == '>'
}

var markerPrefix = []byte("[netoops: ")

// marker recognises "[netoops: N bytes missing at offset O]" for a range
// the caller gave.
func (s *scanner) marker(raw []byte) (Range, bool) {
	if len(s.missing) == 0 || !bytes.HasPrefix(raw, markerPrefix) {
		return Range{}, false
	}
	i, ok := s.lookup(raw)
	if !ok {
		return Range{}, false
	}
	s.found[i] = true
	return s.missing[i], true
}

// lookup parses a marker line and finds its range among the missing ones.
func (s *scanner) lookup(raw []byte) (int, bool) {
	rest := raw[len(markerPrefix):]
	n, rest, ok := cutNumber(rest)
	if !ok || !bytes.HasPrefix(rest, []byte(" bytes missing at offset ")) {
		return 0, false
	}
	off, rest, ok := cutNumber(rest[len(" bytes missing at offset "):])
	if !ok || string(rest) != "]" {
		return 0, false
	}
	i := sort.Search(len(s.missing), func(i int) bool { return s.missing[i].Start >= off })
	if i < len(s.missing) && s.missing[i].Start == off && s.missing[i].End-s.missing[i].Start == n {
		return i, true
	}
	return 0, false
}

// unlocated counts the missing ranges no marker stood for.
func (s *scanner) unlocated() int {
	n := 0
	for _, f := range s.found {
		if !f {
			n++
		}
	}
	return n
}

func cutNumber(b []byte) (int64, []byte, bool) {
	i := 0
	for i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, b, false
	}
	v, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil {
		return 0, b, false
	}
	return v, b[i:], true
}

// splitPrefix strips what the kernel's syslog format puts before a
// message: "<N>" (priority and facility), "[    1.234567]" (time) and
// "[    T123]" or "[     C0]" (caller, CONFIG_PRINTK_CALLER), then the one
// space after them. Each part is optional. kernel is false for lines with
// a facility other than 0 (user space writing to /dev/kmsg): they are
// never part of a report.
func splitPrefix(raw []byte) (text []byte, kernel bool) {
	kernel = true
	b := raw
	if len(b) > 2 && b[0] == '<' {
		v, i := 0, 1
		for i < len(b) && i < 6 && b[i] >= '0' && b[i] <= '9' {
			v = v*10 + int(b[i]-'0')
			i++
		}
		if i > 1 && i < len(b) && b[i] == '>' {
			kernel = v < 8
			b = b[i+1:]
		}
	}
	stripped := false
	if n := timestampLen(b); n > 0 {
		b = b[n:]
		stripped = true
	}
	if n := callerLen(b); n > 0 {
		b = b[n:]
		stripped = true
	}
	if stripped && len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b, kernel
}

// timestampLen is the length of a leading "[ seconds.micros]", or 0.
func timestampLen(b []byte) int {
	if len(b) < 4 || b[0] != '[' {
		return 0
	}
	b = b[:min(len(b), 32)]
	i := 1
	for i < len(b) && b[i] == ' ' {
		i++
	}
	secs := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i >= len(b) || b[i] != '.' {
		return 0
	}
	i++
	micros := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i >= len(b) || b[i] != ']' || micros-1 == secs && i == micros {
		return 0
	}
	return i + 1
}

// callerLen is the length of a leading "[    T123]" or "[  C1]", or 0.
func callerLen(b []byte) int {
	if len(b) < 4 || b[0] != '[' {
		return 0
	}
	i := 1
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i >= len(b) || (b[i] != 'T' && b[i] != 'C') {
		return 0
	}
	i++
	digits := 0
	for i < len(b) && i < 24 && b[i] >= '0' && b[i] <= '9' {
		digits++
		i++
	}
	if digits == 0 || i >= len(b) || b[i] != ']' {
		return 0
	}
	return i + 1
}
