//go:build !linux

package reassembly

// openFileLimit is a conservative open-file limit where it is not asked.
func openFileLimit() int { return 1024 }
