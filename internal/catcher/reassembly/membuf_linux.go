package reassembly

import "syscall"

// allocMem returns a memory buffer of size bytes outside the Go heap (an
// anonymous mapping): the buffers are up to --mem-buffers bytes held for
// a long time, and in the heap the garbage collector would let the heap
// grow by as much again before collecting (GOGC), doubling what they
// cost in a storm. It falls back to the heap if the mapping fails.
func allocMem(size int) []byte {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]byte, size)
	}
	return b
}

// freeMem gives back a buffer of allocMem; nothing may use it after.
func freeMem(b []byte) {
	if err := syscall.Munmap(b[:cap(b)]); err != nil {
		_ = err // from the heap (the fallback): the collector frees it
	}
}
