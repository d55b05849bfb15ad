package kconfig_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/netoops/netoops/internal/kconfig"
)

func TestReadDriver(t *testing.T) {
	dir := t.TempDir()
	if d := kconfig.ReadDriver(filepath.Join(dir, "none")); d != (kconfig.Driver{Kind: "built-in"}) {
		t.Errorf("no sysfs directory: %+v", d)
	}
	// A built-in driver with a version has a directory, but no initstate.
	os.WriteFile(filepath.Join(dir, "version"), []byte("1.2\n"), 0o444)
	if d := kconfig.ReadDriver(dir); d != (kconfig.Driver{Kind: "built-in", Version: "1.2"}) {
		t.Errorf("built in with a version: %+v", d)
	}
	os.WriteFile(filepath.Join(dir, "initstate"), []byte("live\n"), 0o444)
	os.WriteFile(filepath.Join(dir, "srcversion"), []byte("ABC\n"), 0o444)
	os.WriteFile(filepath.Join(dir, "taint"), []byte("O\n"), 0o444)
	want := kconfig.Driver{Kind: "module", Version: "1.2", SrcVersion: "ABC", Taint: "O", State: "live"}
	if d := kconfig.ReadDriver(dir); d != want {
		t.Errorf("module: %+v, want %+v", d, want)
	}
}

func TestInstalledModule(t *testing.T) {
	dir := t.TempDir()
	if p, err := kconfig.InstalledModule(dir, "6.12.0"); p != "" || err != nil {
		t.Errorf("no modules.dep: %q, %v", p, err)
	}
	os.MkdirAll(filepath.Join(dir, "6.12.0"), 0o755)
	dep := filepath.Join(dir, "6.12.0", "modules.dep")
	os.WriteFile(dep, []byte("kernel/net/netoops-like.ko: \nkernel/drivers/net/netconsole.ko.xz: kernel/fs/configfs/configfs.ko.xz\n"), 0o644)
	if p, err := kconfig.InstalledModule(dir, "6.12.0"); p != "" || err != nil {
		t.Errorf("no netoops: %q, %v", p, err)
	}
	os.WriteFile(dep, []byte("kernel/drivers/net/netconsole.ko.xz: kernel/fs/configfs/configfs.ko.xz\nupdates/dkms/netoops.ko.xz:\n"), 0o644)
	if p, err := kconfig.InstalledModule(dir, "6.12.0"); p != "updates/dkms/netoops.ko.xz" || err != nil {
		t.Errorf("dkms module: %q, %v", p, err)
	}
}
