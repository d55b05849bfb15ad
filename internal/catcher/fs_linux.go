package catcher

import "golang.org/x/sys/unix"

// PunchHole frees the blocks of [off, off+n) and keeps the file size.
func (f OSFile) PunchHole(off, n int64) error {
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}
