package reassembly

import "golang.org/x/sys/unix"

// openFileLimit is the process's open-file limit (RLIMIT_NOFILE, which the
// Go runtime raises to the hard limit at start).
func openFileLimit() int {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
}
