//go:build e2e && stock

package qemu

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The stock-kernel run (scripts/stock-e2e.sh, make stock-e2e) boots one of
// Debian's own kernels with netoops as the module DKMS built for it; the
// scenarios of the built-in suite run unchanged on it (NETOOPS_E2E_KERNEL,
// NETOOPS_E2E_MODULES), and the tests below check the module itself.
//
//	NETOOPS_E2E_RELEASE         the kernel's release (uname -r)
//	NETOOPS_E2E_MODULE_VERSION  the version the module must report
//	NETOOPS_E2E_FOREIGN_MODULE  netoops.ko built for another kernel
//	NETOOPS_E2E_MODVERSIONS     1 if the kernel checks symbol versions
func stockEnv(t *testing.T) (release, version, foreign string, modversions bool) {
	t.Helper()
	release, version, foreign = os.Getenv("NETOOPS_E2E_RELEASE"), os.Getenv("NETOOPS_E2E_MODULE_VERSION"), os.Getenv("NETOOPS_E2E_FOREIGN_MODULE")
	if release == "" || version == "" || foreign == "" {
		t.Fatal("NETOOPS_E2E_RELEASE, NETOOPS_E2E_MODULE_VERSION and NETOOPS_E2E_FOREIGN_MODULE must be set (scripts/stock-e2e.sh)")
	}
	return release, version, foreign, os.Getenv("NETOOPS_E2E_MODVERSIONS") == "1"
}

// Kernel taint bits (Documentation/admin-guide/tainted-kernels.rst).
const (
	taintForcedModule   = 1 << 1  // F: a module loaded with --force
	taintOutOfTree      = 1 << 12 // O
	taintUnsignedModule = 1 << 13 // E
)

// badCRC returns a copy of a module with the CRC of its first versioned
// symbol changed (the __versions section: struct modversion_info, a 64-bit
// CRC then the NUL-padded name, 64 bytes), and that symbol's name.
func badCRC(ko []byte) ([]byte, string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, "", err
	}
	sec := f.Section("__versions")
	if sec == nil || sec.Size < 64 || sec.Type == elf.SHT_NOBITS {
		return nil, "", fmt.Errorf("no __versions section: not built for a MODVERSIONS kernel")
	}
	out := append([]byte(nil), ko...)
	e := out[sec.Offset : sec.Offset+64]
	binary.LittleEndian.PutUint64(e, binary.LittleEndian.Uint64(e)^0x5a5a5a5a)
	name, _, _ := bytes.Cut(e[8:], []byte{0})
	return out, string(name), nil
}

// loaderRefusal is what the kernel's module loader logs when it refuses a
// module built for another kernel: the struct module size (6.4+), a symbol
// version (MODVERSIONS) or the version magic.
var loaderRefusal = regexp.MustCompile(`(section size must match the kernel's built struct module size|disagrees about version of symbol|version magic '[^']*' should be ')`)

// TestStockModule: netoops.ko as DKMS built it loads on the stock kernel
// through the kernel's own checks (insmod, no --force: struct module size,
// vermagic, and symbol versions where the kernel has MODVERSIONS), taints
// the kernel as an out-of-tree module only (O, and E: the guest boots
// without Secure Boot, so the DKMS key is not trusted), reports its
// version, refuses a build for another kernel and, with MODVERSIONS, a
// copy of itself with one symbol's CRC changed; it sends a test dump,
// unloads with a target set and loads again, and the panic after that is
// dumped byte for byte.
func TestStockModule(t *testing.T) {
	release, version, foreign, modversions := stockEnv(t)
	fb, err := os.ReadFile(foreign)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"foreign/netoops.ko": fb}
	var crcSym string
	if modversions {
		own, err := os.ReadFile(env.modules[len(env.modules)-1])
		if err != nil {
			t.Fatal(err)
		}
		var bad []byte
		if bad, crcSym, err = badCRC(own); err != nil {
			t.Fatalf("%s: %v", env.modules[len(env.modules)-1], err)
		}
		files["badcrc/netoops.ko"] = bad
	}
	s := begin(t, "stock-module")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(`
M=/sys/module/netoops
[ "$(uname -r)" = "$E2E_RELEASE" ] || fail "running $(uname -r), want $E2E_RELEASE"
[ "$(cat $M/initstate)" = live ] || fail "netoops is not live: $(cat $M/initstate)"
cat $M/taint > /tmp/taint; upload taint /tmp/taint
cat $M/version > /tmp/version; upload version /tmp/version
cat /proc/sys/kernel/tainted > /tmp/tainted; upload tainted /tmp/tainted
netoopsctl show > /tmp/show 2>&1; upload show /tmp/show
run netoopsctl set 10.0.2.2:$E2E_PORT
known 10 stocktest
run netoopsctl test
mark "E2E-RMMOD"
run rmmod netoops
[ ! -e /proc/sys/kernel/netoops ] || fail "/proc/sys/kernel/netoops is still there after rmmod"
[ ! -e $M ] || fail "$M is still there after rmmod"
netoopsctl show > /tmp/absent 2>&1; echo "exit $?" >> /tmp/absent; upload absent /tmp/absent
mark "E2E-FOREIGN"
if insmod /foreign/netoops.ko; then fail "a netoops.ko built for another kernel loaded"; fi
dmesg | sed -n '/E2E-FOREIGN/,$p' > /tmp/foreign; upload foreign /tmp/foreign
if [ -f /badcrc/netoops.ko ]; then
	mark "E2E-BADCRC"
	if insmod /badcrc/netoops.ko; then fail "a netoops.ko with a wrong symbol CRC loaded"; fi
	dmesg | sed -n '/E2E-BADCRC/,$p' > /tmp/badcrc; upload badcrc /tmp/badcrc
fi
mark "E2E-RELOAD"
run insmod /lib/e2e/netoops.ko
run netoopsctl set 10.0.2.2:$E2E_PORT
known 20 stock
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0]), "E2E_RELEASE": release},
		files: files, timeout: 150 * time.Second})
	evs := s.events(cat, 2, 150*time.Second)
	s.waitExit(vm)
	console := vm.ReadConsole()

	if taint := strings.TrimSpace(string(s.upload("taint"))); taint != "OE" {
		t.Errorf("/sys/module/netoops/taint is %q, want OE (out of tree, signed by a key this boot does not trust)", taint)
	}
	if v := strings.TrimSpace(string(s.upload("version"))); v != version {
		t.Errorf("/sys/module/netoops/version is %q, want %q", v, version)
	}
	tainted, err := strconv.Atoi(strings.TrimSpace(string(s.upload("tainted"))))
	if err != nil {
		t.Fatalf("tainted: %v", err)
	}
	if tainted != taintOutOfTree|taintUnsignedModule {
		t.Errorf("kernel taint %d, want %d (O|E only; F would be a forced load)", tainted, taintOutOfTree|taintUnsignedModule)
	}
	show := string(s.upload("show"))
	if !strings.Contains(show, "driver:    module, version "+version+" (srcversion ") || !strings.Contains(show, "taint OE)") {
		t.Errorf("netoopsctl show does not describe the module:\n%s", show)
	}
	absent := string(s.upload("absent"))
	if !strings.Contains(absent, "netoops is not in this kernel") || !strings.Contains(absent, "netoops-dkms") || !strings.Contains(absent, "exit 4") {
		t.Errorf("netoopsctl show without the module:\n%s", absent)
	}
	if f := string(s.upload("foreign")); !loaderRefusal.MatchString(f) {
		t.Errorf("the kernel's log after loading another kernel's module does not say why it refused it:\n%s", f)
	}
	if modversions {
		if b := string(s.upload("badcrc")); !strings.Contains(b, "netoops: disagrees about version of symbol "+crcSym) {
			t.Errorf("the module with a wrong CRC for %s was not refused by the symbol version check:\n%s", crcSym, b)
		}
	}
	for _, bad := range []string{"WARNING:", "BUG:", "sysctl table check failed", "netoops: disagrees", "Unknown symbol"} {
		before, _, _ := strings.Cut(console, "E2E-FOREIGN")
		if strings.Contains(before, bad) {
			t.Errorf("the console has %q before the foreign module was tried", bad)
		}
	}

	if len(evs) != 2 {
		t.Fatalf("%d dumps stored, want the test dump and the panic", len(evs))
	}
	test := s.checkDump(evs[0], "test", nil, console, "stocktest", 10)
	panicLog := s.checkDump(evs[1], "panic", s.upload("before"), console, "stock", 20, "Kernel panic - not syncing: sysrq triggered crash")
	if evs[1].Release != release {
		t.Errorf("dump release %q, want %q", evs[1].Release, release)
	}
	checked := "no MODVERSIONS"
	if modversions {
		checked = "wrong CRC of " + crcSym + " refused"
	}
	s.note("%s: module %s taint OE, other kernel's module refused, %s, test dump %d bytes, reloaded, panic dump %d bytes",
		release, version, checked, len(test), len(panicLog))
}

// secureBootESP fills dir as an EFI system partition that boots c's kernel
// the way a Debian machine with Secure Boot does: shim (signed by
// Microsoft) as the removable-media loader, grub (signed by Debian) next
// to it with a grub.cfg holding the kernel, initrd and command line; the
// kernel is Debian's signed vmlinuz as it is.
func secureBootESP(dir, sb string, c *VMConfig) error {
	boot := filepath.Join(dir, "EFI", "BOOT")
	if err := os.MkdirAll(boot, 0o755); err != nil {
		return err
	}
	for src, dst := range map[string]string{
		filepath.Join(sb, "shimx64.efi"): filepath.Join(boot, "BOOTX64.EFI"),
		filepath.Join(sb, "grubx64.efi"): filepath.Join(boot, "grubx64.efi"),
		c.Kernel:                         filepath.Join(dir, "vmlinuz"),
		c.Initrd:                         filepath.Join(dir, "initrd.img"),
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	cfg := "set timeout=0\nlinux /vmlinuz " + c.FullCmdline() + "\ninitrd /initrd.img\nboot\n"
	return os.WriteFile(filepath.Join(boot, "grub.cfg"), []byte(cfg), 0o644)
}

// TestStockSecureBoot: the stock kernel booted with Secure Boot on (OVMF
// with Microsoft's keys, Debian's shim and grub, the kernel in lockdown),
// with the DKMS key enrolled in shim's MokList as "mokutil --import" and
// MokManager would: netoops.ko, signed by DKMS, loads and taints the kernel
// as out of tree only (O: its signature was verified), while an unsigned
// module (our LKDTM build) is refused; a panic is then dumped byte for
// byte.
func TestStockSecureBoot(t *testing.T) {
	release, version, _, _ := stockEnv(t)
	sb, vars := os.Getenv("NETOOPS_E2E_SB_DIR"), os.Getenv("NETOOPS_E2E_SB_VARS")
	if sb == "" || vars == "" {
		t.Fatal("NETOOPS_E2E_SB_DIR and NETOOPS_E2E_SB_VARS must be set (scripts/stock-e2e.sh)")
	}
	s := begin(t, "stock-secureboot")
	cat, ports := s.catcher("catcher", nil, "127.0.0.1")
	vm := s.boot(`
mount -t securityfs securityfs /sys/kernel/security
cat /sys/kernel/security/lockdown > /tmp/lockdown; upload lockdown /tmp/lockdown
[ "$(cat /sys/module/netoops/initstate)" = live ] || fail "netoops is not live"
[ ! -e /sys/module/lkdtm ] || fail "the unsigned lkdtm.ko loaded under lockdown"
cat /sys/module/netoops/taint > /tmp/taint; upload taint /tmp/taint
cat /proc/sys/kernel/tainted > /tmp/tainted; upload tainted /tmp/tainted
dmesg > /tmp/dmesg; upload dmesg /tmp/dmesg
run netoopsctl set 10.0.2.2:$E2E_PORT
known 20 sb
snapshot before
mark "E2E-CRASH"
echo c > /proc/sysrq-trigger
sleep 60
fail "no panic"
`, guestOpts{env: map[string]string{"E2E_PORT": itoa(ports[0])}, timeout: 240 * time.Second,
		vm: func(c *VMConfig) error {
			// grub stops without a TSC ("no TSC found"): keep it, and
			// keep the kernel's clock off it (see NETOOPS_E2E_QEMU_CPU
			// in scripts/stock-e2e.sh).
			c.CPU = ""
			c.Cmdline += " tsc=unstable"
			esp := filepath.Join(c.Dir, "esp")
			os.RemoveAll(esp)
			if err := secureBootESP(esp, sb, c); err != nil {
				return err
			}
			v, err := os.ReadFile(vars)
			if err != nil {
				return err
			}
			own := filepath.Join(c.Dir, "OVMF_VARS.fd")
			if err := os.WriteFile(own, v, 0o644); err != nil {
				return err
			}
			c.UEFI = &UEFI{Code: filepath.Join(sb, "OVMF_CODE_4M.secboot.fd"), Vars: own, ESP: esp}
			c.MemMB = 512
			return nil
		}})
	evs := s.events(cat, 1, 240*time.Second)
	s.waitExit(vm)
	console := vm.ReadConsole()
	dmesg := string(s.upload("dmesg"))

	if !strings.Contains(dmesg, "Secure boot enabled") {
		t.Errorf("the kernel does not say Secure Boot is enabled:\n%s", grepLines(dmesg, "ecure boot|secureboot|Lockdown"))
	}
	if l := strings.TrimSpace(string(s.upload("lockdown"))); !strings.Contains(l, "[integrity]") && !strings.Contains(l, "[confidentiality]") {
		t.Errorf("the kernel is not locked down: lockdown is %q", l)
	}
	if !regexp.MustCompile(`Loaded X\.509 cert 'DKMS module signing key`).MatchString(dmesg) {
		t.Errorf("the kernel did not load the enrolled DKMS key:\n%s", grepLines(dmesg, "X.509|MOK|integrity|keyring"))
	}
	// /init's insmod of the unsigned LKDTM build: EKEYREJECTED.
	if gl, _ := os.ReadFile(vm.GuestLog); !strings.Contains(string(gl), "can't insert '/lib/e2e/lkdtm.ko': Key was rejected by service") {
		t.Errorf("the unsigned lkdtm.ko was not refused for its missing signature:\n%s", grepLines(string(gl), "insmod|lkdtm"))
	}
	if taint := strings.TrimSpace(string(s.upload("taint"))); taint != "O" {
		t.Errorf("/sys/module/netoops/taint is %q, want O: its signature must verify against the enrolled key", taint)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(string(s.upload("tainted")))); n != taintOutOfTree {
		t.Errorf("kernel taint %d, want %d (O only)", n, taintOutOfTree)
	}
	log := s.checkDump(evs[0], "panic", s.upload("before"), console, "sb", 20, "Kernel panic - not syncing: sysrq triggered crash")
	s.note("%s with Secure Boot: lockdown, DKMS key from MokList, netoops %s taint O, unsigned module refused; %d-byte panic dump", release, version, len(log))
}

// grepLines returns the lines of s matching the regular expression re.
func grepLines(s, re string) string {
	r := regexp.MustCompile(re)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if r.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
