package reassembly

import (
	"testing"
	"unsafe"
)

// TestDumpSize keeps the per-dump state of a storm small: 100,000 dumps
// in flight hold one dump each until stored, and the catcher's peak memory
// in that storm (docs/performance.md) counts on 384 bytes, one of the Go
// allocator's size classes. A field added to dump belongs in a side record
// (tempFile) unless every dump needs it.
func TestDumpSize(t *testing.T) {
	if n := unsafe.Sizeof(dump{}); n > 384 {
		t.Errorf("dump is %d bytes, more than 384", n)
	}
}
