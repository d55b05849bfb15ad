package qemu

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCPIOUnpacks checks the image against an independent reader, cpio(1)
// or busybox cpio, when one is installed.
func TestCPIOUnpacks(t *testing.T) {
	tool, err := exec.LookPath("cpio")
	args := []string{"-i", "-d", "--quiet"}
	if err != nil {
		if tool, err = exec.LookPath("busybox"); err != nil {
			t.Skip("no cpio or busybox to check against")
		}
		args = []string{"cpio", "-i", "-d"}
	}
	c := NewCPIO()
	c.File("/init", 0o755, []byte("#!/bin/sh\necho hi\n"))
	c.File("etc/odd", 0o644, []byte("abc")) // needs padding
	c.File("empty", 0o644, []byte{})
	c.Symlink("bin/sh", "busybox")
	c.Dir("proc", 0o755)
	var img bytes.Buffer
	if err := c.Write(&img); err != nil {
		t.Fatal(err)
	}
	if img.Len()%4 != 0 {
		t.Errorf("image length %d is not a multiple of 4", img.Len())
	}
	dir := t.TempDir()
	cmd := exec.Command(tool, args...)
	cmd.Dir = dir
	cmd.Stdin = &img
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	for name, want := range map[string]string{"init": "#!/bin/sh\necho hi\n", "etc/odd": "abc", "empty": ""} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "init")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("init mode: %v %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "proc")); err != nil || !fi.IsDir() {
		t.Errorf("proc: %v %v", fi, err)
	}
}
