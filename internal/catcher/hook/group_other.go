//go:build !unix

package hook

import "os/exec"

// ownGroup: no process groups here; cancellation kills the shell only.
func ownGroup(c *exec.Cmd) {}
