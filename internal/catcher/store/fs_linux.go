package store

import (
	"errors"

	"golang.org/x/sys/unix"
)

type fder interface{ Fd() uintptr }

var errNoCopy = errors.New("copy_file_range not possible")

// CopyRangeFrom copies n bytes at offset off of src to f's current
// position with copy_file_range, without going through user space.
func (f OSFile) CopyRangeFrom(src File, off, n int64) (int64, error) {
	sf, ok := src.(fder)
	if !ok {
		return 0, errNoCopy
	}
	var done int64
	for done < n {
		c, err := unix.CopyFileRange(int(sf.Fd()), &off, int(f.Fd()), nil, int(min(n-done, syscallChunk)), 0)
		if err != nil {
			return done, err
		}
		if c == 0 {
			return done, errNoCopy
		}
		done += int64(c)
	}
	return done, nil
}
