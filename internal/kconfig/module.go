package kconfig

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultSysModule is the running kernel's sysfs directory of netoops.
const DefaultSysModule = "/sys/module/netoops"

// DefaultModulesDir is where kernel modules are installed, per release.
const DefaultModulesDir = "/lib/modules"

// Driver is how netoops is part of the running kernel.
type Driver struct {
	// Kind is "module" for a loaded module, "built-in" for a driver built
	// into the kernel (CONFIG_NETOOPS=y).
	Kind string `json:"kind"`
	// Version is the module's MODULE_VERSION: set by the out-of-tree
	// (DKMS) build only, so empty for the kernel's own driver.
	Version string `json:"version,omitempty"`
	// SrcVersion is the checksum of the module's source (modinfo).
	SrcVersion string `json:"srcversion,omitempty"`
	// Taint is the module's own taint flags (O: out of tree, E: unsigned).
	Taint string `json:"taint,omitempty"`
	// State is the module's initstate: live, coming or going.
	State string `json:"state,omitempty"`
}

// ReadDriver tells how netoops is in the running kernel, given that its
// sysctl directory exists. A loadable module always has sysModule/initstate;
// a built-in driver has no sysfs directory at all unless it has parameters
// or a version, and never an initstate.
func ReadDriver(sysModule string) Driver {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(sysModule, name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	d := Driver{Kind: "built-in", Version: read("version")}
	if st := read("initstate"); st != "" {
		d.Kind, d.State = "module", st
		d.SrcVersion, d.Taint = read("srcversion"), read("taint")
	}
	return d
}

// InstalledModule returns the path (relative to the release's directory)
// of a netoops module installed for kernel release, as modules.dep lists it
// (what modprobe loads), or "" if there is none.
func InstalledModule(modulesDir, release string) (string, error) {
	f, err := os.Open(filepath.Join(modulesDir, release, "modules.dep"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p, _, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch path.Base(p) {
		case "netoops.ko", "netoops.ko.xz", "netoops.ko.zst", "netoops.ko.gz":
			return p, nil
		}
	}
	return "", sc.Err()
}
