//go:build unix

package hook

import (
	"os/exec"
	"syscall"
)

// ownGroup makes c the leader of a process group of its own, and its
// cancellation kill that whole group.
func ownGroup(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
}
