// Package jsonenc appends JSON objects without reflection, byte for byte
// as encoding/json writes them. The sidecar and the event line are written
// for every stored dump; with encoding/json's reflection they took about a
// third of the store's CPU time. Their encoders (store.Meta, event.Event)
// are built on this package and tested against encoding/json, so the
// formats documented in docs/catcher.md stay exactly encoding/json's.
package jsonenc

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Object appends the members of one JSON object to B, compact or indented
// by two spaces per level (encoding/json's layout, as json.MarshalIndent
// with prefix "" and indent "  " writes it).
type Object struct {
	B      []byte
	indent string // "" for compact, else the members' indentation
	n      int
}

// NewObject starts an object (its opening brace) at the end of b. indent
// is "" for a compact object, else the members' indentation (two spaces
// per level).
func NewObject(b []byte, indent string) Object {
	return Object{B: append(b, '{'), indent: indent}
}

// Key appends the separator and the member name k; the caller appends
// the value to w.B.
func (w *Object) Key(k string) {
	if w.n > 0 {
		w.B = append(w.B, ',')
	}
	w.n++
	if w.indent != "" {
		w.B = append(w.B, '\n')
		w.B = append(w.B, w.indent...)
	}
	w.B = append(w.B, '"')
	w.B = append(w.B, k...)
	w.B = append(w.B, '"', ':')
	if w.indent != "" {
		w.B = append(w.B, ' ')
	}
}

// Str appends a string member.
func (w *Object) Str(k, v string) { w.Key(k); w.B = AppendString(w.B, v) }

// Uint appends a number member.
func (w *Object) Uint(k string, v uint64) { w.Key(k); w.B = strconv.AppendUint(w.B, v, 10) }

// Int appends a signed number member.
func (w *Object) Int(k string, v int64) { w.Key(k); w.B = strconv.AppendInt(w.B, v, 10) }

// Bool appends a boolean member.
func (w *Object) Bool(k string, v bool) { w.Key(k); w.B = strconv.AppendBool(w.B, v) }

// Time appends a time member as time.Time.MarshalJSON writes it.
func (w *Object) Time(k string, t time.Time) { w.Key(k); w.B = AppendTime(w.B, t) }

// TimePtr appends a time member, null for nil.
func (w *Object) TimePtr(k string, t *time.Time) {
	if t == nil {
		w.Key(k)
		w.B = append(w.B, "null"...)
		return
	}
	w.Time(k, *t)
}

// End closes the object and returns the extended buffer; outer is the
// indentation of its braces.
func (w *Object) End(outer string) []byte {
	if w.indent != "" && w.n > 0 {
		w.B = append(w.B, '\n')
		w.B = append(w.B, outer...)
	}
	return append(w.B, '}')
}

// AppendTime appends t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds, trailing zeros dropped). Years outside 0-9999, which
// MarshalJSON refuses, cannot come from a uint64 of nanoseconds.
func AppendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendString appends s quoted as encoding/json does with HTML
// escaping on: '"', '\\' and control characters escaped, '<', '>', '&',
// U+2028 and U+2029 as \u escapes, invalid UTF-8 as U+FFFD.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
