package qemu

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// CPIO builds an initramfs image in the "newc" format the kernel unpacks
// (uncompressed; every kernel with BLK_DEV_INITRD reads it). Parent
// directories are created implicitly; entries are written sorted by path so
// that an image is reproducible.
type CPIO struct {
	entries map[string]cpioEntry
}

type cpioEntry struct {
	mode uint32 // type and permission bits, as in stat(2)
	data []byte // file contents or symlink target
	src  string // file contents from this host path, if data is nil
}

const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeChar    = 0o020000
)

// NewCPIO returns an empty image.
func NewCPIO() *CPIO { return &CPIO{entries: map[string]cpioEntry{}} }

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func (c *CPIO) parents(p string) {
	for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
		if _, ok := c.entries[d]; !ok {
			c.entries[d] = cpioEntry{mode: modeDir | 0o755}
		}
	}
}

// Dir adds a directory.
func (c *CPIO) Dir(p string, perm uint32) {
	p = clean(p)
	c.parents(p)
	c.entries[p] = cpioEntry{mode: modeDir | perm}
}

// File adds a regular file with the given contents.
func (c *CPIO) File(p string, perm uint32, data []byte) {
	p = clean(p)
	c.parents(p)
	c.entries[p] = cpioEntry{mode: modeFile | perm, data: data}
}

// HostFile adds a regular file copied from the host when the image is written.
func (c *CPIO) HostFile(p string, perm uint32, src string) {
	p = clean(p)
	c.parents(p)
	c.entries[p] = cpioEntry{mode: modeFile | perm, src: src}
}

// Symlink adds a symbolic link.
func (c *CPIO) Symlink(p, target string) {
	p = clean(p)
	c.parents(p)
	c.entries[p] = cpioEntry{mode: modeSymlink | 0o777, data: []byte(target)}
}

// Paths returns the paths in the image, sorted.
func (c *CPIO) Paths() []string {
	ps := make([]string, 0, len(c.entries))
	for p := range c.entries {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// WriteFile writes the image to a file.
func (c *CPIO) WriteFile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := c.Write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Write writes the image, ending with the TRAILER!!! entry.
func (c *CPIO) Write(w io.Writer) error {
	ino := uint32(1000)
	for _, p := range c.Paths() {
		e := c.entries[p]
		data := e.data
		if data == nil && e.src != "" {
			b, err := os.ReadFile(e.src)
			if err != nil {
				return err
			}
			data = b
		}
		ino++
		nlink := uint32(1)
		if e.mode&0o170000 == modeDir {
			nlink = 2
		}
		if err := writeCPIOEntry(w, p, ino, e.mode, nlink, data); err != nil {
			return err
		}
	}
	return writeCPIOEntry(w, "TRAILER!!!", 0, 0, 1, nil)
}

func writeCPIOEntry(w io.Writer, name string, ino, mode, nlink uint32, data []byte) error {
	// newc: 110-byte ASCII header, name with NUL, padded to 4, data padded to 4.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	for len(buf)%4 != 0 {
		buf = append(buf, 0)
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if pad := (4 - len(data)%4) % 4; pad > 0 {
		if _, err := w.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	return nil
}
