// Command netoopsctl configures netoops, the kernel's crash-log-over-UDP
// dumper: it resolves a destination into the kernel's target line (device,
// source, next-hop MAC), writes it to /proc/sys/kernel/netoops, shows and
// tests the configuration, and can follow the network to keep it right.
//
// See docs/netoopsctl.md.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/netoops/netoops/internal/kconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, defaultEnv())
	stop()
	os.Exit(code)
}

// env is what netoopsctl talks to; tests replace parts of it.
type env struct {
	stdout, stderr io.Writer
	// openStore opens the sysctl directory.
	openStore func(root string) (kconfig.Store, error)
	// openNet opens the network side (rtnetlink) in namespace ns ("" for
	// the current one).
	openNet func(ns string) (network, error)
	// Files show inspects for warnings.
	kexecCrashLoaded string
	cmdline          string
	// Where netoops's module shows (sysfs) and is installed (per release),
	// and the running kernel's release: for 'show' and for what to do when
	// netoops is missing.
	sysModule  string
	modulesDir string
	release    func() string
	// kernelLogSize returns the size of the kernel's log buffer.
	kernelLogSize func() (int, error)
	// log writes to stderr at the level --verbose asks for; set before a
	// command runs.
	log *slog.Logger
}

func defaultEnv() *env {
	e := &env{
		stdout:           os.Stdout,
		stderr:           os.Stderr,
		openStore:        func(root string) (kconfig.Store, error) { return kconfig.NewDirStore(root) },
		kexecCrashLoaded: "/sys/kernel/kexec_crash_loaded",
		cmdline:          "/proc/cmdline",
		sysModule:        kconfig.DefaultSysModule,
		modulesDir:       kconfig.DefaultModulesDir,
		release:          kernelRelease,
		kernelLogSize:    syslogBufferSize,
	}
	e.openNet = func(ns string) (network, error) { return openNetlink(ns, e.log) }
	return e
}

// run runs netoopsctl and returns its exit code.
func run(ctx context.Context, args []string, e *env) int {
	app := newApp(e)
	err := app.Run(ctx, args)
	if err != nil {
		fmt.Fprintf(e.stderr, "netoopsctl: %v\n", err)
	}
	return exitCode(err)
}
