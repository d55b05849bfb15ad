//go:build !linux

package reassembly

func allocMem(size int) []byte { return make([]byte, size) }

func freeMem([]byte) {}
