package index

import (
	"testing"

	"github.com/netoops/netoops/internal/catcher/index/synthetic"
)

var synthEpoch = synthetic.Epoch

// writeSynthetic writes n synthetic sidecars under dir.
func writeSynthetic(tb testing.TB, dir string, n int, seed uint64) {
	if err := synthetic.Write(dir, n, seed); err != nil {
		tb.Fatal(err)
	}
}
