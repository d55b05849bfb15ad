package qemu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// VMConfig describes one guest boot.
type VMConfig struct {
	QEMU    string // qemu-system-x86_64 binary; default from PATH
	Kernel  string // bzImage
	Initrd  string // uncompressed newc cpio
	Cmdline string // appended after the harness's own kernel parameters
	MemMB   int    // default 256
	NIC     string // QEMU NIC model, default virtio-net-pci
	// Netdev is extra options for "-netdev user,id=n0,...".
	Netdev string
	// Pcap, if set, records the guest NIC's traffic with a filter-dump object.
	Pcap string
	// Dir receives console.log (ttyS0, the kernel console) and guest.log
	// (ttyS1, the scenario script's own output).
	Dir string
	// Timeout bounds the whole run; the guest is killed when it expires.
	Timeout time.Duration
	// SMP is the number of vCPUs (default 1); CPU the -cpu model (default
	// QEMU's).
	SMP int
	CPU string
	// QMP opens a QMP socket (Dir/qmp.sock) for InjectNMI.
	QMP bool
	// UEFI, if set, boots through firmware instead of -kernel/-initrd:
	// Kernel, Initrd and Cmdline are then up to the boot loader on the ESP.
	UEFI *UEFI
}

// UEFI is a firmware boot: OVMF's Secure Boot build (q35 with SMM), a
// writable copy of its variables, and a directory QEMU presents as a FAT
// disk, the EFI system partition.
type UEFI struct {
	Code string // OVMF_CODE, read-only pflash
	Vars string // OVMF_VARS, written by the guest's firmware
	ESP  string // directory with EFI/BOOT/BOOTX64.EFI
}

// VM is a running guest.
type VM struct {
	Console  string // path of the serial console capture
	GuestLog string // path of the script output capture
	Started  time.Time

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	once sync.Once
	stop context.CancelFunc
	qmp  string
}

// DefaultCmdline is the harness's part of the kernel command line. panic=3
// reboots 3 s after a panic (time for QEMU to flush the NIC queue under
// load) and -no-reboot turns the reboot into QEMU
// exiting, so every crashing scenario ends by itself. printk.devkmsg=on
// lifts the rate limit on /dev/kmsg, which the scenarios write to.
// no_timer_check skips the boot-time check that the timer interrupt
// arrives through the IO-APIC: under TCG on a loaded host it times out
// and the guest panics before init ("IO-APIC + timer doesn't work!").
const DefaultCmdline = "console=ttyS0,115200 panic=3 rdinit=/init net.ifnames=0 nokaslr printk.devkmsg=on no_timer_check"

// FullCmdline is the kernel command line of the guest: the harness's part,
// then Cmdline.
func (c *VMConfig) FullCmdline() string {
	return strings.TrimSpace(DefaultCmdline + " " + c.Cmdline)
}

// Args returns the qemu command line for c.
func (c *VMConfig) Args() []string {
	mem := c.MemMB
	if mem == 0 {
		mem = 256
	}
	nic := c.NIC
	if nic == "" {
		nic = "virtio-net-pci"
	}
	netdev := "user,id=n0,ipv4=on,ipv6=on"
	if c.Netdev != "" {
		netdev += "," + c.Netdev
	}
	smp := max(c.SMP, 1)
	args := []string{
		"-accel", "tcg", "-nodefaults", "-no-user-config", "-display", "none",
		"-m", fmt.Sprint(mem), "-smp", fmt.Sprint(smp), "-no-reboot",
		"-serial", "file:" + filepath.Join(c.Dir, "console.log"),
		"-serial", "file:" + filepath.Join(c.Dir, "guest.log"),
	}
	if u := c.UEFI; u != nil {
		args = append(args, "-machine", "q35,smm=on",
			"-global", "driver=cfi.pflash01,property=secure,value=on",
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+u.Code,
			"-drive", "if=pflash,format=raw,unit=1,file="+u.Vars,
			"-drive", "if=none,id=esp,format=raw,readonly=on,file=fat:"+u.ESP,
			"-device", "virtio-blk-pci,drive=esp")
	} else {
		args = append(args, "-kernel", c.Kernel, "-initrd", c.Initrd,
			"-append", c.FullCmdline())
	}
	args = append(args,
		"-netdev", netdev,
		"-device", nic+",netdev=n0,mac=52:54:00:12:34:56",
	)
	if c.Pcap != "" {
		args = append(args, "-object", "filter-dump,id=f0,netdev=n0,file="+c.Pcap)
	}
	if c.CPU != "" {
		args = append(args, "-cpu", c.CPU)
	}
	if c.QMP {
		args = append(args, "-qmp", "unix:"+filepath.Join(c.Dir, "qmp.sock")+",server=on,wait=off")
	}
	return args
}

// StartVM boots a guest. The guest runs until it powers off, reboots,
// panics (and reboots), or the timeout kills it.
func StartVM(ctx context.Context, c VMConfig) (*VM, error) {
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	bin := c.QEMU
	if bin == "" {
		bin = "qemu-system-x86_64"
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	vm := &VM{
		Console:  filepath.Join(c.Dir, "console.log"),
		GuestLog: filepath.Join(c.Dir, "guest.log"),
		done:     make(chan struct{}),
		stop:     cancel,
	}
	os.Remove(vm.Console)
	os.Remove(vm.GuestLog)
	if c.QMP {
		vm.qmp = filepath.Join(c.Dir, "qmp.sock")
		os.Remove(vm.qmp)
	}
	var stderr bytes.Buffer
	vm.cmd = exec.CommandContext(ctx, bin, c.Args()...)
	vm.cmd.Stderr = &stderr
	vm.cmd.Stdout = &stderr
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	vm.cmd.WaitDelay = 5 * time.Second
	os.WriteFile(filepath.Join(c.Dir, "qemu.cmd"), []byte(shellQuote(append([]string{bin}, c.Args()...))+"\n"), 0o644)
	vm.Started = time.Now()
	if err := vm.cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	go func() {
		err := vm.cmd.Wait()
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("guest still running after %v, killed", c.Timeout)
		} else if err != nil {
			err = fmt.Errorf("qemu: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		vm.err = err
		cancel()
		close(vm.done)
	}()
	return vm, nil
}

// Wait waits for QEMU to exit and returns why it failed, if it did.
func (vm *VM) Wait() error {
	<-vm.done
	return vm.err
}

// Done is closed when QEMU has exited.
func (vm *VM) Done() <-chan struct{} { return vm.done }

// Kill stops the guest now.
func (vm *VM) Kill() {
	vm.stop()
	<-vm.done
}

// ReadConsole returns the kernel console captured so far, without the
// carriage returns the tty adds.
func (vm *VM) ReadConsole() string {
	b, _ := os.ReadFile(vm.Console)
	return string(bytes.ReplaceAll(b, []byte("\r"), nil))
}

// ErrExited is returned by WaitConsole when the guest exited first.
var ErrExited = errors.New("guest exited")

// WaitConsole polls the console until it contains s and returns when it
// was first seen. It gives up when the guest exits (after a last look), the
// context ends, or timeout passes.
func (vm *VM) WaitConsole(ctx context.Context, s string, timeout time.Duration) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(vm.ReadConsole(), s) {
			return time.Now(), nil
		}
		select {
		case <-vm.done:
			if strings.Contains(vm.ReadConsole(), s) {
				return time.Now(), nil
			}
			return time.Time{}, fmt.Errorf("waiting for %q: %w", s, ErrExited)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("%q not on the console after %v", s, timeout)
		case <-tick.C:
		}
	}
}

func shellQuote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@", r))
		}) < 0 {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}

// InjectNMI sends an NMI to the guest's CPUs through QMP (inject-nmi).
func (vm *VM) InjectNMI(ctx context.Context) error {
	return vm.QMP(ctx, `{"execute":"inject-nmi"}`)
}

// SetLink turns the carrier of the guest NIC's host side (netdev n0) on or
// off through QMP (set_link): the guest's device stays up without carrier.
func (vm *VM) SetLink(ctx context.Context, up bool) error {
	return vm.QMP(ctx, fmt.Sprintf(`{"execute":"set_link","arguments":{"name":"n0","up":%v}}`, up))
}

// QMP runs one QMP command (a JSON object) and waits for its answer.
func (vm *VM) QMP(ctx context.Context, command string) error {
	if vm.qmp == "" {
		return errors.New("the guest has no QMP socket (VMConfig.QMP)")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", vm.qmp)
	if err != nil {
		return fmt.Errorf("QMP: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	// The greeting, then one answer per command.
	if _, err := r.ReadString('\n'); err != nil {
		return fmt.Errorf("QMP greeting: %w", err)
	}
	for _, cmd := range []string{`{"execute":"qmp_capabilities"}`, command} {
		if _, err := io.WriteString(c, cmd+"\n"); err != nil {
			return fmt.Errorf("QMP %s: %w", cmd, err)
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("QMP %s: %w", cmd, err)
			}
			if strings.Contains(line, `"error"`) {
				return fmt.Errorf("QMP %s: %s", cmd, strings.TrimSpace(line))
			}
			if strings.Contains(line, `"return"`) {
				break
			}
		}
	}
	return nil
}
