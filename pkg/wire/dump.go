package wire

import "math"

// Dump is a whole log snapshot as a sender transmits it. It is the sending
// side of the format in Go: test tools and load generators use it to emit
// exactly what the kernel emits.
type Dump struct {
	Reason     Reason
	Flags      Flags // FlagAuth is not supported by Encode
	BootID     [16]byte
	DumpSeq    uint32
	TimeNS     uint64
	Copies     uint8 // rounds; 0 means 1
	Host       []byte
	Release    []byte
	Label      []byte
	ReasonText []byte
	Log        []byte
}

// HeaderLen returns the header length of the dump's packets.
func (d *Dump) HeaderLen() int {
	return FixedHeaderLen + min(len(d.Host), MaxHostLen) + min(len(d.Release), MaxReleaseLen) +
		min(len(d.Label), MaxLabelLen) + min(len(d.ReasonText), MaxReasonTextLen)
}

// cut returns the first n bytes of s, or s if it is shorter: a sender
// cuts a string over its limit at a byte (docs/wire-format.md section 3.4).
func cut(s []byte, n int) []byte { return s[:min(len(s), n)] }

// Pieces returns how many packets one round of the dump takes with at most
// payloadMax payload bytes per packet.
func (d *Dump) Pieces(payloadMax int) int {
	if len(d.Log) == 0 {
		return 1
	}
	return (len(d.Log) + payloadMax - 1) / payloadMax
}

// Encode produces the dump's packets in the order docs/wire-format.md
// section 6 gives: pieces cut from the start of the log, sent tail first,
// the whole sequence repeated Copies times. Strings longer than their
// limits are cut to them, as section 3.4 says a sender does. fn receives each packet in a
// buffer that is reused for the next one; it must not keep it. Encode stops
// at the first error fn returns.
func (d *Dump) Encode(payloadMax int, fn func(pkt []byte) error) error {
	if payloadMax <= 0 || d.Flags&FlagAuth != 0 {
		return ErrInconsistent
	}
	if uint64(len(d.Log)) > math.MaxUint32 {
		return ErrRange
	}
	copies := max(d.Copies, 1)
	count := d.Pieces(payloadMax)
	p := Packet{
		Reason: d.Reason, Flags: d.Flags, BootID: d.BootID, DumpSeq: d.DumpSeq,
		Count: uint32(count), TotalLen: uint32(len(d.Log)), TimeNS: d.TimeNS,
		Copies: copies, Host: cut(d.Host, MaxHostLen), Release: cut(d.Release, MaxReleaseLen),
		Label: cut(d.Label, MaxLabelLen), ReasonText: cut(d.ReasonText, MaxReasonTextLen),
	}
	buf := make([]byte, 0, d.HeaderLen()+payloadMax)
	for c := range copies {
		p.Copy = c
		for i := count - 1; i >= 0; i-- {
			start := i * payloadMax
			end := min(start+payloadMax, len(d.Log))
			p.Index, p.Offset, p.Payload = uint32(i), uint32(start), d.Log[start:end]
			var err error
			if buf, err = p.AppendEncode(buf[:0]); err != nil {
				return err
			}
			if err := fn(buf); err != nil {
				return err
			}
		}
	}
	return nil
}
