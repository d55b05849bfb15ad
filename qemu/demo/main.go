// Command demo is `make demo`'s last step: it starts a catcher on the
// host, boots out/kernel/bzImage in QEMU with netoopsctl in the initramfs,
// points netoops at the catcher with `netoopsctl set 10.0.2.2:PORT`,
// crashes the guest, and shows where the dump was stored and how it ends.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netoops/netoops/qemu"
)

func main() {
	var (
		kernel  = flag.String("kernel", "out/kernel/bzImage", "kernel `bzImage`")
		busybox = flag.String("busybox", "/bin/busybox", "static `busybox` for the guest")
		ctl     = flag.String("netoopsctl", "out/bin/netoopsctl", "static `netoopsctl` for the guest")
		catcher = flag.String("catcher", "out/bin/catcher", "`catcher` binary")
		out     = flag.String("out", "out/demo", "work `directory`")
		tail    = flag.Int("tail", 30, "show the stored dump's last `N` lines")
	)
	flag.Parse()
	if err := run(*kernel, *busybox, *ctl, *catcher, *out, *tail); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

const script = `
step() { echo "demo: $*" > /dev/kmsg; }
step "guest is up; pointing netoops at the catcher: netoopsctl set 10.0.2.2:$DEMO_PORT"
netoopsctl set 10.0.2.2:$DEMO_PORT || { step "netoopsctl set failed"; reboot -f; }
netoopsctl show > /dev/console 2>&1
step "crashing the kernel: echo c > /proc/sysrq-trigger"
sleep 1
echo c > /proc/sysrq-trigger
`

func run(kernel, busybox, ctl, catcherBin, out string, tail int) error {
	out, _ = filepath.Abs(out)
	os.RemoveAll(filepath.Join(out, "guest"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	port, err := qemu.FreeUDPPort("127.0.0.1")
	if err != nil {
		return err
	}
	// The store persists across runs; the events file is this run's.
	c, err := qemu.StartCatcher(ctx, catcherBin, out, "crashes",
		[]string{"listen", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--idle", "2s"}, port)
	if err != nil {
		return err
	}
	defer c.Stop()
	fmt.Printf("==> catcher listening on 127.0.0.1:%d (the guest's 10.0.2.2:%d), storing under %s\n", port, port, c.Dir)

	sink, err := qemu.NewSink("")
	if err != nil {
		return err
	}
	defer sink.Close()
	g := qemu.Guest{Busybox: busybox, Netoopsctl: ctl, Script: script,
		Env: map[string]string{"DEMO_PORT": fmt.Sprint(port), "E2E_SINK": fmt.Sprint(sink.Port())}}
	dir := filepath.Join(out, "guest")
	os.MkdirAll(dir, 0o755)
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := g.Build(initrd); err != nil {
		return err
	}
	fmt.Printf("==> booting %s in QEMU (TCG, user networking); serial console follows\n\n", kernel)
	vm, err := qemu.StartVM(ctx, qemu.VMConfig{Kernel: kernel, Initrd: initrd, Dir: dir, Timeout: 2 * time.Minute, Cmdline: "loglevel=5", NIC: "e1000"})
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	followed := make(chan struct{})
	go func() { follow(vm.Console, os.Stdout, stop); close(followed) }()

	var exited time.Time
	evs, werr := c.WaitEvents(ctx, 2*time.Minute, func(evs []qemu.Event) bool {
		if len(evs) > 0 {
			return true
		}
		select {
		case <-vm.Done():
			if exited.IsZero() {
				exited = time.Now()
			}
			return time.Since(exited) > 5*time.Second
		default:
			return false
		}
	})
	vm.Wait()
	close(stop)
	<-followed
	if werr == nil && len(evs) == 0 {
		werr = fmt.Errorf("the guest is gone and nothing arrived")
	}
	if werr != nil {
		out, _ := os.ReadFile(vm.GuestLog)
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		fmt.Printf("\n==> the guest's script output (%s), last lines:\n", vm.GuestLog)
		for _, l := range lines[max(0, len(lines)-15):] {
			fmt.Println("    " + l)
		}
		if strings.Contains(string(out), "futexwakeup") {
			fmt.Println("\n==> netoopsctl (Go) cannot start in this kernel: qemu/kernel.config needs CONFIG_FUTEX=y, CONFIG_EPOLL=y and CONFIG_EVENTFD=y (see qemu/README.md)")
		}
		return fmt.Errorf("no dump stored: %v (guest console: %s)", werr, vm.Console)
	}
	e := evs[0]
	log, err := e.ReadLog()
	if err != nil {
		return err
	}
	fmt.Printf("\n==> the guest is gone; the catcher stored its dump:\n")
	fmt.Printf("    host %s, kernel %s, boot %s, dump %d, reason %s (%s)\n", e.Host, e.Release, e.BootID, e.DumpSeq, e.Reason, e.ReasonText)
	fmt.Printf("    %d bytes, complete=%v, %d packets (%d duplicates)\n", e.TotalLen, e.Complete, e.Packets, e.Duplicates)
	fmt.Printf("    log:  %s\n    meta: %s\n", e.Log, e.Meta)
	fmt.Printf("\n==> last %d lines of the stored log:\n\n", tail)
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	for _, l := range lines[max(0, len(lines)-tail):] {
		fmt.Println("    " + l)
	}
	if !bytes.Contains(log, []byte("Kernel panic - not syncing")) {
		return fmt.Errorf("the stored dump has no panic line")
	}
	fmt.Printf("\n==> list the store with: %s ls --dir %s\n", catcherBin, c.Dir)
	// Keep the guest's files small: the initramfs is rebuilt every run.
	os.Remove(initrd)
	return nil
}

// follow copies the growing file to w until stop is closed, then copies
// what is left.
func follow(path string, w io.Writer, stop <-chan struct{}) {
	var off int64
	copyNew := func() {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return
		}
		b, _ := io.ReadAll(f)
		off += int64(len(b))
		w.Write(bytes.ReplaceAll(b, []byte("\r"), nil))
	}
	for {
		select {
		case <-stop:
			copyNew()
			return
		case <-time.After(50 * time.Millisecond):
			copyNew()
		}
	}
}
