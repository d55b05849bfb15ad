package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotPresentHints: without the sysctl directory netoopsctl says what
// to do, by what the system has: a module installed for the running kernel
// (load it), a loaded module without sysctls (look at the log), or nothing
// (install netoops-dkms and this kernel's headers).
func TestNotPresentHints(t *testing.T) {
	h := newHarness(t)
	nope := filepath.Join(h.tmp, "nope")
	for _, args := range [][]string{{"set", "192.0.2.2"}, {"show"}, {"test"}, {"off"}} {
		out := h.run(exitNotPresent, append([]string{"--sysctl-root", nope}, args...)...)
		for _, want := range []string{"netoops is not in this kernel", "kernel 6.1.0-50-amd64 has no netoops built in",
			"apt install netoops-dkms linux-headers-6.1.0-50-amd64", "modprobe netoops"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", args[0], want, out)
			}
		}
	}

	rel := filepath.Join(h.tmp, "lib/modules/6.1.0-50-amd64")
	os.MkdirAll(rel, 0o755)
	os.WriteFile(filepath.Join(rel, "modules.dep"), []byte("kernel/drivers/net/dummy.ko: \nupdates/dkms/netoops.ko: \n"), 0o644)
	out := h.run(exitNotPresent, "--sysctl-root", nope, "show")
	if !strings.Contains(out, "a netoops module is installed for this kernel (updates/dkms/netoops.ko) but not loaded: run 'modprobe netoops'") {
		t.Errorf("installed module: output:\n%s", out)
	}
	if strings.Contains(out, "netoops-dkms") {
		t.Errorf("installed module: still tells to install netoops-dkms:\n%s", out)
	}

	sys := filepath.Join(h.tmp, "sys/module/netoops")
	os.MkdirAll(sys, 0o755)
	os.WriteFile(filepath.Join(sys, "initstate"), []byte("coming\n"), 0o444)
	out = h.run(exitNotPresent, "--sysctl-root", nope, "show")
	if !strings.Contains(out, "the netoops module is loaded (coming) but has no sysctl directory") {
		t.Errorf("loaded module: output:\n%s", out)
	}
}

// TestShowDriver: show tells a built-in driver from a module, and gives
// the module's version, srcversion and taint.
func TestShowDriver(t *testing.T) {
	h := newHarness(t)
	out := h.run(0, "show")
	if !strings.Contains(out, "driver:    built in\n") {
		t.Errorf("no /sys/module/netoops: output:\n%s", out)
	}

	sys := filepath.Join(h.tmp, "sys/module/netoops")
	os.MkdirAll(sys, 0o755)
	for name, v := range map[string]string{"initstate": "live\n", "version": "0.3.0+12.gabc1234\n", "srcversion": "0F1E2D3C4B5A69788796A5B\n", "taint": "OE\n"} {
		os.WriteFile(filepath.Join(sys, name), []byte(v), 0o444)
	}
	out = h.run(0, "show")
	if !strings.Contains(out, "driver:    module, version 0.3.0+12.gabc1234 (srcversion 0F1E2D3C4B5A69788796A5B, taint OE)\n") {
		t.Errorf("module: output:\n%s", out)
	}
	out = h.run(0, "show", "--json")
	var got showOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if got.Driver.Kind != "module" || got.Driver.Version != "0.3.0+12.gabc1234" || got.Driver.Taint != "OE" || got.Driver.State != "live" {
		t.Errorf("json driver: %+v", got.Driver)
	}

	os.Remove(filepath.Join(sys, "version"))
	out = h.run(0, "show")
	if !strings.Contains(out, "module (no version: the kernel's own driver built as a module)") {
		t.Errorf("module without version: output:\n%s", out)
	}
}
