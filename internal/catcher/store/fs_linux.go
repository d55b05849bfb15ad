package store

import (
	"golang.org/x/sys/unix"
)

type fder interface{ Fd() uintptr }

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

// CopyAt copies n bytes at offset off of src to offset at of f with
// copy_file_range.
func (f OSFile) CopyAt(src File, off, at, n int64) error {
	sf, ok := src.(fder)
	if !ok {
		return errNoCopy
	}
	for n > 0 {
		c, err := unix.CopyFileRange(int(sf.Fd()), &off, int(f.Fd()), &at, int(min(n, syscallChunk)), 0)
		if err != nil {
			if err == unix.EXDEV || err == unix.ENOSYS || err == unix.EOPNOTSUPP || err == unix.EINVAL {
				return errNoCopy
			}
			return err
		}
		if c == 0 {
			return errNoCopy
		}
		n -= int64(c)
	}
	return nil
}
