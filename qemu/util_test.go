package qemu

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func pcapRecord(frame []byte) []byte {
	r := make([]byte, 16)
	binary.LittleEndian.PutUint32(r[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(r[12:], uint32(len(frame)))
	return append(r, frame...)
}

func TestUntagPcap(t *testing.T) {
	dir := t.TempDir()
	macs := bytes.Repeat([]byte{0xaa}, 12)
	payload := []byte{0x08, 0x00, 1, 2, 3, 4}
	tag := func(vid uint16) []byte {
		f := append(append([]byte(nil), macs...), 0x81, 0x00, byte(vid>>8), byte(vid))
		return append(f, payload...)
	}
	plain := append(append([]byte(nil), macs...), payload...)
	in := append(make([]byte, 24), pcapRecord(tag(5))...)
	in = append(in, pcapRecord(plain)...)
	in = append(in, pcapRecord(tag(7))...)
	in = append(in, pcapRecord(tag(0x2005))...) // priority 1, VLAN 5
	src, dst := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	if err := os.WriteFile(src, in, 0o644); err != nil {
		t.Fatal(err)
	}
	tagged, others, err := untagPcap(src, dst, 5)
	if err != nil || tagged != 2 || others != 1 {
		t.Fatalf("untagPcap = %d, %d, %v; want 2, 1, nil", tagged, others, err)
	}
	out, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	want := append(make([]byte, 24), pcapRecord(plain)...)
	want = append(want, pcapRecord(plain)...)
	if !bytes.Equal(out, want) {
		t.Errorf("untagged pcap\n%x\nwant\n%x", out, want)
	}
}
