package qemu

import (
	"encoding/binary"
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
