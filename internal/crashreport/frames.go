package crashreport

import "bytes"

// frame is one call-trace entry, its name already normalised.
type frame struct {
	raw      []byte // as printed, in the log
	name     string // normalised, set when the report is built
	reliable bool
	rip      bool // an interrupted context's "RIP:" line inside the trace
	section  section
}

// section is the stack a frame was printed in: x86 traces mark stacks
// with <IRQ>...</IRQ>, <NMI>, <SOFTIRQ>, <#DF> and the like.
type section uint8

const (
	secTask section = iota // the task's stack, or unmarked
	secIRQ                 // an interrupt's or softirq's stack
	secExc                 // an exception's stack: NMI, #DF, #MC, #DB, ...
)

// sectionOf names the stack a "<NAME>" marker opens.
func sectionOf(name []byte) section {
	switch string(name) {
	case "TASK", "EOI", "EOE":
		return secTask
	case "IRQ", "SOFTIRQ":
		return secIRQ
	}
	return secExc
}

// parseFrame parses a call-trace line: " func+0x12/0x40", " ? func+0x1/0x2
// [mod]", " [<ffffffff81234567>] func+0x12/0x40" (old kernels), with the
// module or build id after it ignored. The name is returned raw.
func parseFrame(t []byte) (name []byte, reliable, ok bool) {
	t = trimSpaces(t)
	if bytes.HasPrefix(t, []byte("[<")) {
		i := bytes.IndexByte(t, ']')
		if i < 0 {
			return nil, false, false
		}
		t = trimSpaces(t[i+1:])
	}
	reliable = true
	if len(t) >= 2 && t[0] == '?' && t[1] == ' ' {
		reliable = false
		t = t[2:]
	}
	name, ok = symbolOffset(t)
	return name, reliable, ok
}

// maxSymbol is the longest function name taken (KSYM_NAME_LEN is 512,
// real names are far shorter; a longer one is not a frame).
const maxSymbol = 128

// symbolOffset parses "name+0xOFF/0xSIZE" at the start of t.
func symbolOffset(t []byte) ([]byte, bool) {
	i := 0
	for i < len(t) && i < maxSymbol && isSymbolByte(t[i]) {
		i++
	}
	if i == 0 || i >= len(t) || t[i] != '+' || t[0] >= '0' && t[0] <= '9' {
		return nil, false
	}
	name := t[:i]
	rest := t[i+1:]
	n := hexNumberLen(rest)
	if n == 0 || n >= len(rest) || rest[n] != '/' {
		return nil, false
	}
	if hexNumberLen(rest[n+1:]) == 0 {
		return nil, false
	}
	return name, true
}

// hexNumberLen is the length of a leading "0x" and hex digits, or 0.
func hexNumberLen(b []byte) int {
	if len(b) < 3 || b[0] != '0' || b[1] != 'x' {
		return 0
	}
	i := 2
	for i < len(b) && isHex(b[i]) {
		i++
	}
	if i == 2 {
		return 0
	}
	return i
}

// isUnknownFrame reports a trace entry that is a bare address (no
// symbol): " 0xffffffffc0123456" or " ? 0xffffffffc0123456".
func isUnknownFrame(t []byte) bool {
	t = trimSpaces(t)
	if len(t) >= 2 && t[0] == '?' && t[1] == ' ' {
		t = t[2:]
	}
	n := hexNumberLen(t)
	return n > 0 && (n == len(t) || t[n] == ' ')
}

func isSymbolByte(c byte) bool {
	return c == '_' || c == '.' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func trimSpaces(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// syscallPrefixes are the per-architecture and per-release wrappers of a
// system call's body; all name the same function, sys_NAME.
var syscallPrefixes = []string{
	"__x64_sys_", "__ia32_sys_", "__x32_compat_sys_", "__ia32_compat_sys_",
	"__x64_compat_sys_", "__arm64_sys_", "__arm64_compat_sys_", "__riscv_sys_",
	"__s390x_sys_", "__s390_sys_", "__se_sys_", "__do_sys_", "__se_compat_sys_",
	"__do_compat_sys_",
}

// normalizeName turns a symbol into the function it names: compiler
// clones and parts (".cold", ".isra.0", ".constprop.0", ".part.0",
// ".llvm.123") are the function itself, and a system call's wrappers are
// sys_NAME (compat_sys_NAME).
func normalizeName(b []byte) string {
	for len(b) > 0 && b[0] == '.' {
		b = b[1:] // ppc64 ELFv1 ".func"
	}
	if i := bytes.IndexByte(b, '.'); i >= 0 {
		b = b[:i]
	}
	for _, p := range syscallPrefixes {
		if len(b) > len(p) && string(b[:len(p)]) == p {
			rest := string(b[len(p):])
			if bytes.Contains([]byte(p), []byte("compat")) {
				return "compat_sys_" + rest
			}
			return "sys_" + rest
		}
	}
	return string(b)
}

// parseRIP parses the program counter of a register dump: "RIP:
// 0010:func+0x6/0xe" (x86-64), "EIP: func+0x6/0xe" (x86-32), "pc :
// func+0x18/0x30" (arm64), and the pre-4.x "RIP: 0010:[<ffffffff8123>]
// [<ffffffff8123>] func+0x1/0x2". user is true for a user-mode RIP (any
// code segment but the kernel's); name is empty when the address has no
// symbol (a jump to NULL).
func parseRIP(t []byte) (name []byte, user, ok bool) {
	switch {
	case bytes.HasPrefix(t, []byte("RIP: ")):
		t = t[5:]
		if len(t) >= 5 && t[4] == ':' {
			if string(t[:4]) != "0010" {
				return nil, true, true
			}
			t = t[5:]
		}
	case bytes.HasPrefix(t, []byte("EIP: ")):
		t = t[5:]
		if len(t) >= 5 && t[4] == ':' {
			if string(t[:4]) != "0060" {
				return nil, true, true
			}
			t = t[5:]
		}
	case bytes.HasPrefix(t, []byte("pc : ")):
		t = t[5:]
	default:
		return nil, false, false
	}
	for bytes.HasPrefix(t, []byte("[<")) {
		i := bytes.IndexByte(t, ']')
		if i < 0 {
			return nil, false, true
		}
		t = trimSpaces(t[i+1:])
	}
	name, _ = symbolOffset(t)
	return name, false, true
}
