// Package kconfig reads and writes netoops's kernel configuration, the files
// under /proc/sys/kernel/netoops/ described in docs/sysctl.md.
//
// The package knows the ABI's syntax (target lines, reasons, copies, label)
// and compares configurations semantically, the way the kernel canonicalises
// them. The files themselves are reached through a Store, so that tests and
// the QEMU suite can point it at an ordinary directory.
package kconfig

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Default UDP ports of a target line (docs/sysctl.md; pkg/wire has the same
// values as wire.DefaultSourcePort and wire.DefaultPort).
const (
	DefaultSourcePort = 6667
	DefaultDestPort   = 6668
)

// NumTargets is the number of target slots, target0 .. target3.
const NumTargets = 4

// IFNAMSIZ is the kernel's interface name buffer size, NUL included.
const IFNAMSIZ = 16

// BroadcastMAC is the Ethernet broadcast address a target may use instead of
// a next hop's MAC.
var BroadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// A Target is one target line. The zero Target is an empty (unset) slot.
type Target struct {
	Dev   string
	Src   netip.Addr
	Dst   netip.Addr
	MAC   net.HardwareAddr
	SPort uint16
	DPort uint16
}

// IsZero reports whether t is an empty slot.
func (t Target) IsZero() bool {
	return t.Dev == "" && !t.Src.IsValid() && !t.Dst.IsValid() && len(t.MAC) == 0 && t.SPort == 0 && t.DPort == 0
}

// String returns t in the kernel's canonical order, without a newline, or ""
// for an empty slot.
func (t Target) String() string {
	if t.IsZero() {
		return ""
	}
	sport, dport := t.SPort, t.DPort
	if sport == 0 {
		sport = DefaultSourcePort
	}
	if dport == 0 {
		dport = DefaultDestPort
	}
	return fmt.Sprintf("dev=%s src=%s dst=%s mac=%s sport=%d dport=%d",
		t.Dev, t.Src, t.Dst, t.MAC, sport, dport)
}

// Equal reports whether t and u are the same target once canonicalised
// (default ports filled in, IPv4-mapped addresses unmapped).
func (t Target) Equal(u Target) bool {
	return t.String() == u.String()
}

// Validate checks t the way the kernel does (except for the device's
// existence).
func (t Target) Validate() error {
	if t.IsZero() {
		return nil
	}
	switch {
	case t.Dev == "":
		return fmt.Errorf("target has no device")
	case len(t.Dev) > IFNAMSIZ-1:
		return fmt.Errorf("device name %q is longer than %d bytes", t.Dev, IFNAMSIZ-1)
	case !validDevName(t.Dev):
		return fmt.Errorf("device name %q is not a valid interface name", t.Dev)
	case !t.Src.IsValid():
		return fmt.Errorf("target has no source address")
	case !t.Dst.IsValid():
		return fmt.Errorf("target has no destination address")
	case t.Src.IsUnspecified():
		return fmt.Errorf("source %s is the unspecified address", t.Src)
	case t.Dst.IsUnspecified():
		return fmt.Errorf("destination %s is the unspecified address", t.Dst)
	case t.Src.Zone() != "" || t.Dst.Zone() != "":
		return fmt.Errorf("addresses in a target line take no zone")
	case t.Src.Unmap().Is4() != t.Dst.Unmap().Is4():
		return fmt.Errorf("source %s and destination %s are of different families", t.Src, t.Dst)
	case len(t.MAC) != 6:
		return fmt.Errorf("MAC %q is not a 6-byte Ethernet address", t.MAC)
	case t.MAC[0]&1 == 1 && !bytes.Equal(t.MAC, BroadcastMAC):
		return fmt.Errorf("MAC %s is a multicast address (only unicast or ff:ff:ff:ff:ff:ff)", t.MAC)
	case bytes.Equal(t.MAC, make([]byte, 6)):
		return fmt.Errorf("MAC %s is all-zero", t.MAC)
	}
	return nil
}

// validDevName is the kernel's dev_valid_name() (length checked apart), and
// refuses '=' as well, which a key=value word cannot carry unambiguously:
// no ".", "..", '/', ':', NUL, or byte the kernel's isspace() takes for
// white space.
func validDevName(name string) bool {
	if name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '/', ':', '=', 0, ' ', '\t', '\n', '\v', '\f', '\r', 0xa0:
			return false
		}
	}
	return true
}

// Normalize returns t with IPv4-mapped addresses unmapped and default ports
// filled in.
func (t Target) Normalize() Target {
	if t.IsZero() {
		return t
	}
	t.Src = t.Src.Unmap()
	t.Dst = t.Dst.Unmap()
	if t.SPort == 0 {
		t.SPort = DefaultSourcePort
	}
	if t.DPort == 0 {
		t.DPort = DefaultDestPort
	}
	return t
}

// ParseTarget parses a target line as the kernel does. An empty line (or
// only a newline) is the empty slot.
func ParseTarget(line string) (Target, error) {
	line = strings.TrimSuffix(line, "\n")
	if strings.ContainsAny(line, "\n") {
		return Target{}, fmt.Errorf("target line has more than one line")
	}
	var t Target
	if strings.TrimSpace(line) == "" {
		return t, nil
	}
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' }) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return Target{}, fmt.Errorf("word %q is not key=value", w)
		}
		if seen[k] {
			return Target{}, fmt.Errorf("key %q given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "dev":
			t.Dev = v
		case "src":
			t.Src, err = netip.ParseAddr(v)
		case "dst":
			t.Dst, err = netip.ParseAddr(v)
		case "mac":
			t.MAC, err = net.ParseMAC(v)
		case "sport":
			t.SPort, err = parsePort(v)
		case "dport":
			t.DPort, err = parsePort(v)
		default:
			return Target{}, fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return Target{}, fmt.Errorf("%s: %w", k, err)
		}
	}
	for _, k := range []string{"dev", "src", "dst", "mac"} {
		if !seen[k] {
			return Target{}, fmt.Errorf("missing required key %q", k)
		}
	}
	if err := t.Validate(); err != nil {
		return Target{}, err
	}
	return t.Normalize(), nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q is not in 1..65535", s)
	}
	return uint16(n), nil
}
