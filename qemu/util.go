package qemu

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
)

func itoa(i int) string { return strconv.Itoa(i) }

// countPcapDumpPackets counts the netoops packets (UDP payloads starting
// with "NOPS") in a classic pcap file of Ethernet frames.
func countPcapDumpPackets(name string) int {
	b, err := os.ReadFile(name)
	if err != nil || len(b) < 24 {
		return -1
	}
	n := 0
	for off := 24; off+16 <= len(b); {
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		if off+16+incl > len(b) {
			break
		}
		f := b[off+16 : off+16+incl]
		off += 16 + incl
		if len(f) < 14 {
			continue
		}
		var udp []byte
		switch {
		case f[12] == 0x08 && f[13] == 0x00 && len(f) >= 34 && f[23] == 17:
			udp = f[14+int(f[14]&0x0f)*4:]
		case f[12] == 0x86 && f[13] == 0xdd && len(f) >= 54 && f[20] == 17:
			udp = f[54:]
		}
		if len(udp) >= 12 && string(udp[8:12]) == "NOPS" {
			n++
		}
	}
	return n
}

// untagPcap copies the classic pcap file in to out with the 802.1Q tag of
// every frame tagged with VLAN vid removed, and every other frame left out,
// so that a reader without VLAN support sees what that VLAN carried. It
// returns how many frames carried vid and how many other tagged frames
// there were.
func untagPcap(in, out string, vid int) (tagged, others int, err error) {
	b, err := os.ReadFile(in)
	if err != nil {
		return 0, 0, err
	}
	if len(b) < 24 {
		return 0, 0, fmt.Errorf("%s: not a pcap file", in)
	}
	w := append([]byte(nil), b[:24]...)
	for off := 24; off+16 <= len(b); {
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		if off+16+incl > len(b) {
			break
		}
		rec, f := b[off:off+16], b[off+16:off+16+incl]
		off += 16 + incl
		if len(f) < 18 || f[12] != 0x81 || f[13] != 0x00 {
			continue
		}
		if int(binary.BigEndian.Uint16(f[14:])&0x0fff) != vid {
			others++
			continue
		}
		tagged++
		hdr := append([]byte(nil), rec...)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(incl-4))
		binary.LittleEndian.PutUint32(hdr[12:], binary.LittleEndian.Uint32(rec[12:])-4)
		w = append(w, hdr...)
		w = append(w, f[:12]...)
		w = append(w, f[16:]...)
	}
	return tagged, others, os.WriteFile(out, w, 0o644)
}
