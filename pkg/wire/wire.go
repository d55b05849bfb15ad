// Package wire implements version 1 of the netoops wire format, the UDP
// packets a crashing kernel sends and a catcher receives.
//
// docs/wire-format.md is the specification; this package follows it field
// for field. Decoding never allocates: the strings and payload of a decoded
// Packet alias the buffer it was decoded from.
package wire

import (
	"encoding/binary"
	"time"
)

// Format constants from docs/wire-format.md.
const (
	// Version is the format version this package reads and writes.
	Version = 1
	// FixedHeaderLen is the size of the fixed part of the header.
	FixedHeaderLen = 64
	// TagLen is the size of the AEAD tag that follows the payload in AUTH mode.
	TagLen = 16
	// NonceLen is the size of the nonce built by Packet.Nonce.
	NonceLen = 24

	// TagLen, NonceLen: AUTH mode, docs/wire-format.md section 8.

	// MaxHostLen, MaxReleaseLen, MaxLabelLen and MaxReasonTextLen bound the
	// header's strings.
	MaxHostLen       = 64
	MaxReleaseLen    = 64
	MaxLabelLen      = 64
	MaxReasonTextLen = 128

	// DefaultPort is the default UDP destination port of netoops packets.
	DefaultPort = 6668
	// DefaultSourcePort is the default UDP source port of the kernel sender.
	DefaultSourcePort = 6667
)

// Magic is the first four bytes of every packet, ASCII "NOPS".
var Magic = [4]byte{'N', 'O', 'P', 'S'}

// Offsets of the fixed header's fields.
const (
	offMagic      = 0
	offVersion    = 4
	offReason     = 5
	offHeaderLen  = 6
	offFlags      = 8
	offPayloadLen = 10
	offBootID     = 12
	offDumpSeq    = 28
	offIndex      = 32
	offCount      = 36
	offOffset     = 40
	offTotalLen   = 44
	offTime       = 48
	offCopy       = 56
	offCopies     = 57
	offHostLen    = 58
	offReleaseLen = 59
	offLabelLen   = 60
	offTextLen    = 61
	offReserved   = 62
)

// Reason says why a dump was taken. Values 1 to 4 equal Linux's enum
// kmsg_dump_reason.
type Reason uint8

// Reasons defined by version 1. Any other value decodes and means unknown.
const (
	ReasonUnknown  Reason = 0
	ReasonPanic    Reason = 1
	ReasonOops     Reason = 2
	ReasonEmerg    Reason = 3
	ReasonShutdown Reason = 4
	ReasonTest     Reason = 5
)

var reasonNames = [...]string{"unknown", "panic", "oops", "emerg", "shutdown", "test"}

// String returns the reason's name as the specification spells it;
// reserved values are "unknown".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return reasonNames[0]
}

// ParseReason returns the reason with the given name.
func ParseReason(s string) (Reason, bool) {
	for i, n := range reasonNames {
		if n == s {
			return Reason(i), true
		}
	}
	return ReasonUnknown, false
}

// Flags are the header's flag bits.
type Flags uint16

// Flag bits defined by version 1. Receivers ignore the others.
const (
	// FlagAuth marks an authenticated, encrypted packet: the payload is
	// ciphertext and a TagLen-byte tag follows it.
	FlagAuth Flags = 1 << 0
	// FlagTruncated means the log was larger than the sender's buffer and
	// only its newest TotalLen bytes were dumped.
	FlagTruncated Flags = 1 << 1
	// FlagPrefixed means each log line starts with a syslog priority "<N>".
	FlagPrefixed Flags = 1 << 2
)

// Packet is one decoded netoops packet. After DecodeFromBytes, Host,
// Release, Label, ReasonText, Payload and Tag alias the decoded buffer.
type Packet struct {
	Version   uint8
	Reason    Reason
	HeaderLen uint16 // offset of the payload; set by Encode
	Flags     Flags
	BootID    [16]byte
	DumpSeq   uint32
	Index     uint32 // piece index in log order, < Count
	Count     uint32 // pieces in the dump
	Offset    uint32 // of the payload in the dumped log
	TotalLen  uint32 // of the dumped log
	TimeNS    uint64 // wall clock of the dump, ns since the Unix epoch; 0 if unknown
	Copy      uint8  // transmission round, < Copies
	Copies    uint8

	Host       []byte
	Release    []byte
	Label      []byte
	ReasonText []byte
	// Ext is the extension area, the bytes between the strings and the
	// payload (section 3.5; empty from version 1 senders). Extensions
	// parses it. Encode writes it.
	Ext     []byte
	Payload []byte
	Tag     []byte // TagLen bytes when FlagAuth is set, else nil
}

// Time returns the dump's wall-clock time, or the zero Time if unknown.
func (p *Packet) Time() time.Time {
	if p.TimeNS == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(p.TimeNS))
}

// End returns the offset just past this packet's payload.
func (p *Packet) End() uint64 { return uint64(p.Offset) + uint64(len(p.Payload)) }

// StringsLen is the length of the header's four strings.
func (p *Packet) StringsLen() int {
	return len(p.Host) + len(p.Release) + len(p.Label) + len(p.ReasonText)
}

// Nonce returns the XChaCha20 nonce of the packet's dump in AUTH mode
// (section 8): boot id, dump sequence and four zero bytes. It is the same
// for every packet of a dump, whatever its cut, target or round: the dump's
// log is encrypted once, as one keystream, and a packet carries the
// ciphertext at its offset.
func (p *Packet) Nonce() [NonceLen]byte {
	var n [NonceLen]byte
	copy(n[:16], p.BootID[:])
	binary.BigEndian.PutUint32(n[16:], p.DumpSeq)
	return n
}

// Extensions calls fn with the type and value of each extension in area,
// an extension area, in order, as docs/wire-format.md section 3.5 parses
// it: padding (type 0) is skipped, and parsing stops at an extension with
// no room for its length byte or whose value runs past the area, or when
// fn returns false. value aliases area.
func Extensions(area []byte, fn func(typ uint8, value []byte) bool) {
	for pos := 0; pos < len(area); {
		typ := area[pos]
		if typ == 0 {
			pos++
			continue
		}
		if pos+1 >= len(area) {
			return
		}
		end := pos + 2 + int(area[pos+1])
		if end > len(area) {
			return
		}
		if !fn(typ, area[pos+2:end:end]) {
			return
		}
		pos = end
	}
}

// DecodeFromBytes decodes and validates one packet, the whole UDP payload
// b, in the order docs/wire-format.md section 4 gives. It does not allocate;
// on error p is left partly filled and must not be used.
func (p *Packet) DecodeFromBytes(b []byte) error {
	if len(b) < FixedHeaderLen {
		return ErrShort
	}
	if b[0] != Magic[0] || b[1] != Magic[1] || b[2] != Magic[2] || b[3] != Magic[3] {
		return ErrMagic
	}
	if b[offVersion] != Version {
		return ErrVersion
	}
	be := binary.BigEndian
	hl := int(be.Uint16(b[offHeaderLen:]))
	nh, nr, nl, nt := int(b[offHostLen]), int(b[offReleaseLen]), int(b[offLabelLen]), int(b[offTextLen])
	if hl < FixedHeaderLen+nh+nr+nl+nt || hl > len(b) {
		return ErrHeaderLen
	}
	if nh > MaxHostLen || nr > MaxReleaseLen || nl > MaxLabelLen || nt > MaxReasonTextLen {
		return ErrInconsistent
	}
	flags := Flags(be.Uint16(b[offFlags:]))
	pl := int(be.Uint16(b[offPayloadLen:]))
	want := hl + pl
	if flags&FlagAuth != 0 {
		want += TagLen
	}
	switch {
	case len(b) < want:
		return ErrShort
	case len(b) > want:
		return ErrInconsistent
	}
	p.Index = be.Uint32(b[offIndex:])
	p.Count = be.Uint32(b[offCount:])
	if p.Count == 0 || p.Index >= p.Count {
		return ErrIndex
	}
	p.Copy, p.Copies = b[offCopy], b[offCopies]
	if p.Copies == 0 || p.Copy >= p.Copies {
		return ErrInconsistent
	}
	p.Offset = be.Uint32(b[offOffset:])
	p.TotalLen = be.Uint32(b[offTotalLen:])
	if uint64(p.Offset)+uint64(pl) > uint64(p.TotalLen) {
		return ErrRange
	}

	p.Version = Version
	p.Reason = Reason(b[offReason])
	p.HeaderLen = uint16(hl)
	p.Flags = flags
	copy(p.BootID[:], b[offBootID:offBootID+16])
	p.DumpSeq = be.Uint32(b[offDumpSeq:])
	p.TimeNS = be.Uint64(b[offTime:])

	s := FixedHeaderLen
	p.Host = b[s : s+nh : s+nh]
	s += nh
	p.Release = b[s : s+nr : s+nr]
	s += nr
	p.Label = b[s : s+nl : s+nl]
	s += nl
	p.ReasonText = b[s : s+nt : s+nt]
	s += nt
	p.Ext = b[s:hl:hl]
	p.Payload = b[hl : hl+pl : hl+pl]
	if flags&FlagAuth != 0 {
		p.Tag = b[hl+pl : want : want]
	} else {
		p.Tag = nil
	}
	return nil
}

// EncodedLen returns the length of the packet Encode would write.
func (p *Packet) EncodedLen() int {
	n := FixedHeaderLen + p.StringsLen() + len(p.Ext) + len(p.Payload)
	if p.Flags&FlagAuth != 0 {
		n += TagLen
	}
	return n
}

// Validate reports whether p can be encoded as a valid packet.
func (p *Packet) Validate() error {
	switch {
	case len(p.Host) > MaxHostLen, len(p.Release) > MaxReleaseLen,
		len(p.Label) > MaxLabelLen, len(p.ReasonText) > MaxReasonTextLen:
		return ErrInconsistent
	case len(p.Payload) > 0xffff || FixedHeaderLen+p.StringsLen()+len(p.Ext) > 0xffff:
		return ErrInconsistent
	case p.Flags&FlagAuth != 0 && len(p.Tag) != TagLen:
		return ErrInconsistent
	case p.Count == 0 || p.Index >= p.Count:
		return ErrIndex
	case p.Copies == 0 || p.Copy >= p.Copies:
		return ErrInconsistent
	case p.End() > uint64(p.TotalLen):
		return ErrRange
	}
	return nil
}

// AppendEncode validates p, appends its encoding to b and returns the
// extended slice. It sets p.Version and p.HeaderLen. The extension area is
// p.Ext, as it is.
func (p *Packet) AppendEncode(b []byte) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return b, err
	}
	p.Version = Version
	p.HeaderLen = uint16(FixedHeaderLen + p.StringsLen() + len(p.Ext))
	be := binary.BigEndian
	var h [FixedHeaderLen]byte
	copy(h[offMagic:], Magic[:])
	h[offVersion] = Version
	h[offReason] = byte(p.Reason)
	be.PutUint16(h[offHeaderLen:], p.HeaderLen)
	be.PutUint16(h[offFlags:], uint16(p.Flags))
	be.PutUint16(h[offPayloadLen:], uint16(len(p.Payload)))
	copy(h[offBootID:], p.BootID[:])
	be.PutUint32(h[offDumpSeq:], p.DumpSeq)
	be.PutUint32(h[offIndex:], p.Index)
	be.PutUint32(h[offCount:], p.Count)
	be.PutUint32(h[offOffset:], p.Offset)
	be.PutUint32(h[offTotalLen:], p.TotalLen)
	be.PutUint64(h[offTime:], p.TimeNS)
	h[offCopy] = p.Copy
	h[offCopies] = p.Copies
	h[offHostLen] = byte(len(p.Host))
	h[offReleaseLen] = byte(len(p.Release))
	h[offLabelLen] = byte(len(p.Label))
	h[offTextLen] = byte(len(p.ReasonText))
	b = append(b, h[:]...)
	b = append(b, p.Host...)
	b = append(b, p.Release...)
	b = append(b, p.Label...)
	b = append(b, p.ReasonText...)
	b = append(b, p.Ext...)
	b = append(b, p.Payload...)
	if p.Flags&FlagAuth != 0 {
		b = append(b, p.Tag...)
	}
	return b, nil
}

// MarshalBinary returns the encoding of p.
func (p *Packet) MarshalBinary() ([]byte, error) {
	return p.AppendEncode(make([]byte, 0, p.EncodedLen()))
}

// UnmarshalBinary decodes b into p. Unlike DecodeFromBytes, the decoded
// packet keeps its own copy of the bytes.
func (p *Packet) UnmarshalBinary(b []byte) error {
	return p.DecodeFromBytes(append([]byte(nil), b...))
}

// IP and UDP header sizes used to size payloads to an MTU.
const (
	IPv4HeaderLen = 20
	IPv6HeaderLen = 40
	UDPHeaderLen  = 8
)

// MaxUDPPayload is the most UDP payload a Linux netpoll sender puts in one
// datagram: netpoll's preallocated buffers, its fallback when an atomic
// allocation fails at crash time, hold no more.
const MaxUDPPayload = 1460

// MaxPayload returns the most payload bytes a packet with headerLen header
// bytes can carry on a link of the given MTU, as docs/wire-format.md
// section 5 computes it: no IP fragmentation and at most MaxUDPPayload
// bytes of UDP payload. It returns 0 when nothing fits.
func MaxPayload(mtu int, ipv6 bool, headerLen int, auth bool) int {
	udp := mtu - UDPHeaderLen
	if ipv6 {
		udp -= IPv6HeaderLen
	} else {
		udp -= IPv4HeaderLen
	}
	n := min(udp, MaxUDPPayload) - headerLen
	if auth {
		n -= TagLen
	}
	return max(0, n)
}
