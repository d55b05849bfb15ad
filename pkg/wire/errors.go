package wire

// DecodeError is the type of every validation error this package returns.
// The values are comparable constants, so returning one never allocates and
// callers can switch on them or use errors.Is.
type DecodeError uint8

// Validation errors, in the order docs/wire-format.md section 4 checks them.
const (
	// ErrShort: the packet is shorter than its header says.
	ErrShort DecodeError = iota + 1
	// ErrMagic: the packet does not start with "NOPS".
	ErrMagic
	// ErrVersion: the format version is not one this package reads.
	ErrVersion
	// ErrHeaderLen: header_len is shorter than the fixed header and its
	// strings, or longer than the packet.
	ErrHeaderLen
	// ErrInconsistent: fields contradict each other or exceed their limits
	// (string lengths, trailing bytes, copy >= copies).
	ErrInconsistent
	// ErrIndex: count is zero or index >= count.
	ErrIndex
	// ErrRange: offset + payload length is past the dump's total length.
	ErrRange

	numDecodeErrors = iota + 1 // one past the last error
)

var decodeErrorText = [...]string{
	ErrShort:        "short packet",
	ErrMagic:        "bad magic",
	ErrVersion:      "unknown version",
	ErrHeaderLen:    "header length out of range",
	ErrInconsistent: "inconsistent fields",
	ErrIndex:        "index out of range",
	ErrRange:        "offset past total",
}

func (e DecodeError) Error() string {
	if e > 0 && int(e) < len(decodeErrorText) {
		return "netoops wire: " + decodeErrorText[e]
	}
	return "netoops wire: invalid packet"
}

// Name returns a short, stable, metric-friendly name for the error.
func (e DecodeError) Name() string {
	names := [...]string{"invalid", "short", "bad_magic", "unknown_version",
		"header_len", "inconsistent", "index", "range"}
	if int(e) < len(names) {
		return names[e]
	}
	return names[0]
}

// DecodeErrors lists every DecodeError, for callers that count them.
func DecodeErrors() []DecodeError {
	errs := make([]DecodeError, 0, numDecodeErrors-1)
	for e := DecodeError(1); e < numDecodeErrors; e++ {
		errs = append(errs, e)
	}
	return errs
}
