package main

import (
	"errors"
	"fmt"

	"github.com/netoops/netoops/internal/kconfig"
	"github.com/netoops/netoops/internal/route"
)

// Exit codes. Keep docs/netoopsctl.md and exitCodesHelp in step.
const (
	exitOK          = 0
	exitUsage       = 1 // bad usage, or an error not listed below
	exitNoRoute     = 2
	exitNeighbour   = 3
	exitNotPresent  = 4
	exitPermission  = 5
	exitRefused     = 6
	exitTestNothing = 7
	exitDevice      = 8
)

const exitCodesHelp = `EXIT STATUS:
   0  success
   1  usage error, or another error not listed here
   2  no route to the destination (or no source address for it)
   3  the next hop's MAC could not be resolved (neighbour FAILED or --timeout)
   4  netoops is not in this kernel (no /proc/sys/kernel/netoops: not built
      in, or its module is not loaded; the message says what to install or
      load)
   5  permission denied (writing needs root / CAP_NET_ADMIN, from the
      initial network namespace)
   6  the kernel refused the configuration (EINVAL, ENODEV, or netpoll's
      error for a target such as EBUSY), or it read back differently; the
      previous configuration stays in force
   7  test: the test dump sent nothing (no active target, or packets_sent did
      not rise)
   8  the destination is reached through a device netpoll cannot use
      (loopback, a local address, a device without an Ethernet address), or
      --dev names no such device`

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// testNothingError is a test dump that sent no packet.
type testNothingError struct{ msg string }

func (e *testNothingError) Error() string { return e.msg }

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ue *usageError
		nr *route.NoRouteError
		ne *route.NeighbourError
		de *route.DeviceError
		tn *testNothingError
		we *kconfig.WriteError
		me *kconfig.MismatchError
	)
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &tn):
		return exitTestNothing
	case errors.Is(err, kconfig.ErrNotPresent):
		return exitNotPresent
	case errors.As(err, &nr):
		return exitNoRoute
	case errors.As(err, &ne):
		return exitNeighbour
	case errors.As(err, &de):
		return exitDevice
	case kconfig.IsPermission(err):
		return exitPermission
	case errors.As(err, &we) && kconfig.IsRefused(err), errors.As(err, &me):
		return exitRefused
	}
	return exitUsage
}
