// Package qemu is netoops' end-to-end harness: it packs an initramfs around
// busybox and netoopsctl, boots out/kernel/bzImage in qemu-system-x86_64
// (TCG, user networking, serial console to a file), runs a scenario script
// in the guest, and checks what a catcher on the host stored against what
// the guest logged.
//
// The scenarios are Go tests behind the e2e build tag:
//
//	make e2e          # builds the kernel and tools first
//	go test -tags e2e -count=1 -v ./qemu
//
// The helpers in this package (cpio writer, lossy relay, VM runner) carry
// no build tag so that vet and the unit tests cover them.
package qemu
