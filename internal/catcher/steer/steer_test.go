package steer

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/netoops/netoops/pkg/wire"
)

// TestProgramMatchesIndex runs the kernel's program in x/net/bpf's
// virtual machine on random packets and short ones: it must pick the
// socket Index picks, and Hash of the decoded fields must agree.
func TestProgramMatchesIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 4, 7, 16} {
		raw, err := Program(n)
		if err != nil {
			t.Fatal(err)
		}
		ins := make([]bpf.Instruction, len(raw))
		for i, ri := range raw {
			ins[i] = ri.Disassemble()
		}
		vm, err := bpf.NewVM(ins)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]int{}
		for i := 0; i < 2000; i++ {
			var p wire.Packet
			for j := range p.BootID {
				p.BootID[j] = byte(r.Uint32())
			}
			p.DumpSeq = r.Uint32() % 8
			p.Host, p.Payload, p.TotalLen, p.Count, p.Copies = []byte("h"), []byte("x"), 1, 1, 1
			pkt, err := p.AppendEncode(nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := vm.Run(pkt)
			if err != nil {
				t.Fatal(err)
			}
			want := Index(pkt, n)
			if got != want || int(Hash(p.BootID, p.DumpSeq)%uint32(n)) != want {
				t.Fatalf("n=%d: program %d, Index %d, Hash %d", n, got, want, Hash(p.BootID, p.DumpSeq)%uint32(n))
			}
			seen[want]++
		}
		if len(seen) != n {
			t.Fatalf("n=%d: only sockets %v used", n, seen)
		}
		for _, short := range [][]byte{nil, make([]byte, 31)} {
			if got, _ := vm.Run(short); got != 0 || Index(short, n) != 0 {
				t.Fatalf("short packet: program %d, Index %d", got, Index(short, n))
			}
		}
	}
}
