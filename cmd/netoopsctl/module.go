package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/netoops/netoops/internal/kconfig"
	"golang.org/x/sys/unix"
)

// kernelRelease is uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// notPresentHint adds to a missing sysctl directory what the user can do:
// load the module installed for this kernel, or install it (netoops-dkms)
// when the kernel has no netoops at all, as a distribution's kernel has not.
func notPresentHint(err error, e *env) error {
	if !errors.Is(err, kconfig.ErrNotPresent) {
		return err
	}
	rel := e.release()
	if b, rerr := os.ReadFile(filepath.Join(e.sysModule, "initstate")); rerr == nil {
		return fmt.Errorf("%w: the netoops module is loaded (%s) but has no sysctl directory; see the kernel log ('dmesg | grep netoops')", err, strings.TrimSpace(string(b)))
	}
	if p, _ := kconfig.InstalledModule(e.modulesDir, rel); p != "" {
		return fmt.Errorf("%w: a netoops module is installed for this kernel (%s) but not loaded: run 'modprobe netoops'", err, p)
	}
	return fmt.Errorf("%w: kernel %s has no netoops built in and no netoops module installed; on a distribution kernel install the netoops-dkms package and this kernel's headers (apt install netoops-dkms linux-headers-%s), then run 'modprobe netoops'", err, rel, rel)
}

// driverLine is show's description of how netoops is in the kernel.
func driverLine(d kconfig.Driver) string {
	if d.Kind != "module" {
		if d.Version != "" {
			return "built in, version " + d.Version
		}
		return "built in"
	}
	s := "module"
	if d.Version != "" {
		s += ", version " + d.Version
	} else {
		s += " (no version: the kernel's own driver built as a module)"
	}
	var extra []string
	if d.SrcVersion != "" {
		extra = append(extra, "srcversion "+d.SrcVersion)
	}
	if d.Taint != "" {
		extra = append(extra, "taint "+d.Taint)
	}
	if d.State != "" && d.State != "live" {
		extra = append(extra, "state "+d.State)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}
