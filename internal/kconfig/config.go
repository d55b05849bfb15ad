package kconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// File names under the sysctl directory.
const (
	FileEnabled     = "enabled"
	FileReasons     = "reasons"
	FileCopies      = "copies"
	FileLabel       = "label"
	FileLogBufLen   = "log_buf_len"
	FileState       = "state"
	FileTest        = "test"
	FileBootID      = "boot_id"
	FileDumpsSent   = "dumps_sent"
	FilePacketsSent = "packets_sent"
	FileTxErrors    = "tx_errors"
	FileLastDumpUS  = "last_dump_us"
)

// TargetFile returns the file name of target slot i ("target0" ..).
func TargetFile(i int) string { return "target" + strconv.Itoa(i) }

// Reasons are the dump reasons in the kernel's canonical order.
var Reasons = []string{"oops", "panic", "emerg", "shutdown"}

// MaxLabel is the longest label the kernel accepts, in bytes.
const MaxLabel = 64

// MaxCopies is the largest copies value the kernel accepts.
const MaxCopies = 16

// The log_buf_len values the kernel accepts, in bytes.
const (
	MinLogBufLen = 4096
	MaxLogBufLen = 256 << 20
)

// LogBufLenFor is the log snapshot size netoopsctl asks for, given the size
// of the kernel's log buffer (syslog(2) SYSLOG_ACTION_SIZE_BUFFER): twice
// that, since the snapshot holds every record with its syslog prefix and
// time stamp, about 20 bytes more than the bare text the buffer keeps,
// clamped to what the kernel accepts.
func LogBufLenFor(kernelBuf int) int {
	return min(max(2*kernelBuf, MinLogBufLen), MaxLogBufLen)
}

// ValidateLogBufLen checks a log_buf_len value as the kernel does (0 stands
// for a kernel without the file and is never written).
func ValidateLogBufLen(n int) error {
	if n != 0 && (n < MinLogBufLen || n > MaxLogBufLen) {
		return fmt.Errorf("log_buf_len %d is not in %d..%d", n, MinLogBufLen, MaxLogBufLen)
	}
	return nil
}

// ParseReasons parses a comma- and/or space-separated list of reasons and
// returns it in canonical order without duplicates.
func ParseReasons(s string) ([]string, error) {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(words) == 0 {
		return nil, fmt.Errorf("at least one reason is needed (%s)", strings.Join(Reasons, ", "))
	}
	set := map[string]bool{}
	for _, w := range words {
		w = strings.ToLower(w)
		if !slices.Contains(Reasons, w) {
			return nil, fmt.Errorf("unknown reason %q (known: %s)", w, strings.Join(Reasons, ", "))
		}
		set[w] = true
	}
	var out []string
	for _, r := range Reasons {
		if set[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

// ValidateLabel checks a label as the kernel does.
func ValidateLabel(l string) error {
	if len(l) > MaxLabel {
		return fmt.Errorf("label is %d bytes, at most %d allowed", len(l), MaxLabel)
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; c != ' ' && (c < 0x21 || c > 0x7e) {
			return fmt.Errorf("label byte %d (%q) is not printable ASCII", i, c)
		}
	}
	return nil
}

// ValidateCopies checks a copies value as the kernel does.
func ValidateCopies(n int) error {
	if n < 1 || n > MaxCopies {
		return fmt.Errorf("copies %d is not in 1..%d", n, MaxCopies)
	}
	return nil
}

// Config is the writable part of the kernel configuration.
type Config struct {
	Enabled bool
	Reasons []string
	Copies  int
	Label   string
	// LogBufLen is the size of the kernel's log snapshot in bytes; 0 when
	// the kernel has no log_buf_len file (it is then never written).
	LogBufLen int
	Targets   [NumTargets]Target
}

// Status is the read-only part: state lines, boot id and counters.
type Status struct {
	State       []StateLine
	BootID      string
	DumpsSent   uint64
	PacketsSent uint64
	TxErrors    uint64
	LastDumpUS  uint64
}

// A StateLine is one line of the state file.
type StateLine struct {
	Slot  int    `json:"slot"`
	Dev   string `json:"dev"`
	State string `json:"state"` // active, parked, down
}

// Counters are the counters sampled by Snapshot.
type Counters struct {
	DumpsSent   uint64 `json:"dumps_sent"`
	PacketsSent uint64 `json:"packets_sent"`
	TxErrors    uint64 `json:"tx_errors"`
}

// FreeSlot returns the first empty target slot, or -1.
func (c *Config) FreeSlot() int {
	for i, t := range c.Targets {
		if t.IsZero() {
			return i
		}
	}
	return -1
}

// Validate checks c as the kernel would.
func (c *Config) Validate() error {
	if _, err := ParseReasons(strings.Join(c.Reasons, " ")); err != nil {
		return fmt.Errorf("reasons: %w", err)
	}
	if err := ValidateCopies(c.Copies); err != nil {
		return err
	}
	if err := ValidateLabel(c.Label); err != nil {
		return err
	}
	if err := ValidateLogBufLen(c.LogBufLen); err != nil {
		return err
	}
	for i, t := range c.Targets {
		if err := t.Validate(); err != nil {
			return fmt.Errorf("%s: %w", TargetFile(i), err)
		}
	}
	return nil
}

// Diff lists, in a human-readable way, the settings in which got differs
// from want (semantically). An empty result means equal.
func Diff(want, got *Config) []string {
	var d []string
	if want.Enabled != got.Enabled {
		d = append(d, fmt.Sprintf("enabled: want %s, kernel has %s", boolStr(want.Enabled), boolStr(got.Enabled)))
	}
	if !slices.Equal(canonReasons(want.Reasons), canonReasons(got.Reasons)) {
		d = append(d, fmt.Sprintf("reasons: want %q, kernel has %q", strings.Join(want.Reasons, " "), strings.Join(got.Reasons, " ")))
	}
	if want.Copies != got.Copies {
		d = append(d, fmt.Sprintf("copies: want %d, kernel has %d", want.Copies, got.Copies))
	}
	if want.Label != got.Label {
		d = append(d, fmt.Sprintf("label: want %q, kernel has %q", want.Label, got.Label))
	}
	if want.LogBufLen != 0 && want.LogBufLen != got.LogBufLen {
		d = append(d, fmt.Sprintf("log_buf_len: want %d, kernel has %d", want.LogBufLen, got.LogBufLen))
	}
	for i := range want.Targets {
		if !want.Targets[i].Equal(got.Targets[i]) {
			d = append(d, fmt.Sprintf("%s: want %q, kernel has %q", TargetFile(i), want.Targets[i], got.Targets[i]))
		}
	}
	return d
}

func canonReasons(r []string) []string {
	out, err := ParseReasons(strings.Join(r, " "))
	if err != nil {
		return r
	}
	return out
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
