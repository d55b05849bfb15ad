// Package steer decides which of n receive sockets and shards a netoops
// packet belongs to, by its dump: the same function of the packet's boot
// id and dump seq runs in the kernel, as the classic BPF program of a
// SO_REUSEPORT group (Program), and in the catcher (Index), so that every
// packet of a dump is read by the reader that owns the dump's shard,
// whatever address and port it came from.
package steer

import (
	"encoding/binary"

	"golang.org/x/net/bpf"
)

// The fixed header's boot id (16 bytes) and dump seq (4 bytes) are at
// these offsets (docs/wire-format.md section 3.1); Index hashes the five
// big-endian 32-bit words from offBootID to offEnd.
const (
	offBootID = 12
	offEnd    = 32
)

// Hash is the steering hash of a dump: the exclusive or of its boot id's
// four big-endian words and its dump seq. Boot ids are random, so it is
// spread evenly; it only balances load, nothing relies on it being hard
// to collide.
func Hash(boot [16]byte, seq uint32) uint32 {
	return binary.BigEndian.Uint32(boot[0:]) ^ binary.BigEndian.Uint32(boot[4:]) ^
		binary.BigEndian.Uint32(boot[8:]) ^ binary.BigEndian.Uint32(boot[12:]) ^ seq
}

// Index returns the socket (and shard) of the UDP payload pkt among n:
// Hash of its boot id and seq modulo n, or 0 if pkt is too short to hold
// them (as the kernel's program does).
func Index(pkt []byte, n int) int {
	if n <= 1 || len(pkt) < offEnd {
		return 0
	}
	var h uint32
	for o := offBootID; o < offEnd; o += 4 {
		h ^= binary.BigEndian.Uint32(pkt[o:])
	}
	return int(h % uint32(n))
}

// Program returns the classic BPF program (SO_ATTACH_REUSEPORT_CBPF)
// that computes Index in the kernel: for a UDP reuseport group the
// program sees the datagram's payload, and the socket it returns is the
// group's socket of that index (the order they were bound in). A packet
// too short makes the program fail, which returns 0, as Index does.
func Program(n int) ([]bpf.RawInstruction, error) {
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offBootID, Size: 4},
		bpf.TAX{},
	}
	for o := uint32(offBootID + 4); o < offEnd; o += 4 {
		prog = append(prog,
			bpf.LoadAbsolute{Off: o, Size: 4},
			bpf.ALUOpX{Op: bpf.ALUOpXor},
			bpf.TAX{},
		)
	}
	prog = append(prog,
		bpf.TXA{},
		bpf.ALUOpConstant{Op: bpf.ALUOpMod, Val: uint32(max(n, 1))},
		bpf.RetA{},
	)
	return bpf.Assemble(prog)
}
