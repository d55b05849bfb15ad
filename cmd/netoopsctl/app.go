package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/netoops/netoops/internal/kconfig"
	"github.com/urfave/cli/v3"
)

const rootDescription = `netoopsctl configures netoops, the kernel's kmsg dumper that sends the log of
a crashing kernel as UDP through netpoll. netpoll sends raw Ethernet frames
without routing or ARP, so the kernel needs the output device, the source
address and the next hop's MAC spelled out; netoopsctl finds them the way
'ip route get' and 'ip neigh get' do, writes them to
/proc/sys/kernel/netoops, and can follow the network to keep them right.

Typical use:
   netoopsctl set 192.0.2.10               # collector on UDP 6668
   netoopsctl set '[2001:db8::10]:514' --label rack7-db3 --reasons oops,panic,emerg
   netoopsctl test                         # send a test dump now
   netoopsctl show
   systemctl enable --now netoopsctl-follow@192.0.2.10

` + exitCodesHelp

// Flags shared by set and follow.
func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dev", Usage: "send through `DEVICE` instead of the route's output device (ip route get ... oif DEVICE)"},
		&cli.StringFlag{Name: "src", Usage: "use source `ADDRESS` (ip route get ... from ADDRESS); default: the route's preferred source"},
		&cli.Uint16Flag{Name: "port", Aliases: []string{"p"}, Value: kconfig.DefaultDestPort, Usage: "UDP destination `PORT` (also DEST:PORT)"},
		&cli.Uint16Flag{Name: "src-port", Value: kconfig.DefaultSourcePort, Usage: "UDP source `PORT`"},
		&cli.BoolFlag{Name: "broadcast", Usage: "do not resolve the next hop; send to Ethernet broadcast ff:ff:ff:ff:ff:ff (the collector must be on the link)"},
		&cli.StringFlag{Name: "label", Usage: "admin `LABEL` (asset tag) put in every packet, up to 64 printable ASCII bytes; \"\" clears it; unchanged if not given"},
		&cli.IntFlag{Name: "copies", HideDefault: true, Usage: "send each dump `N` times (1..16); unchanged if not given"},
		&cli.StringFlag{Name: "reasons", Usage: "dump on these `REASONS`, a comma or space separated list of oops, panic, emerg, shutdown; unchanged if not given"},
		&cli.BoolFlag{Name: "add", Usage: "put the target in the first free slot (target0..target3) instead of replacing target0 and clearing the others"},
		&cli.DurationFlag{Name: "timeout", Value: 3 * time.Second, Usage: "how long to wait for the next hop to answer ARP / neighbour solicitation"},
	}
}

func newApp(e *env) *cli.Command {
	var verbose bool
	app := &cli.Command{
		Name:                  "netoopsctl",
		Usage:                 "configure netoops, the kernel crash log sender",
		UsageText:             "netoopsctl [global options] command [command options] [arguments...]",
		Description:           rootDescription,
		EnableShellCompletion: true,
		Writer:                e.stdout,
		ErrWriter:             e.stderr,
		ExitErrHandler:        func(context.Context, *cli.Command, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "sysctl-root",
				Value:   kconfig.DefaultRoot,
				Usage:   "the netoops sysctl directory `DIR` (tests point it at a fake one)",
				Sources: cli.EnvVars("NETOOPS_SYSCTL_ROOT"),
			},
			&cli.StringFlag{
				Name:    "netns",
				Usage:   "resolve inside network namespace `NAME` (an 'ip netns' name or a path such as /proc/PID/ns/net); for tests with --sysctl-root, as the kernel looks devices up in the initial namespace",
				Sources: cli.EnvVars("NETOOPS_NETNS"),
			},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log debug messages", Destination: &verbose},
		},
		Before: func(ctx context.Context, cmd *cli.Command) (context.Context, error) {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			e.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			return ctx, nil
		},
		OnUsageError: func(ctx context.Context, cmd *cli.Command, err error, isSub bool) error {
			return &usageError{msg: err.Error()}
		},
		Commands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "resolve DEST and make it netoops's target",
				ArgsUsage: "DEST[:PORT]",
				Description: `Asks the kernel for the route to DEST (as 'ip route get DEST'), then for the
next hop's MAC (as 'ip neigh get'); if the neighbour entry is missing or not
usable, makes the kernel resolve it and waits up to --timeout. Then writes the
configuration: reasons, copies and label first (only those given), then
log_buf_len (twice the kernel's log buffer, from syslog(2)
SYSLOG_ACTION_SIZE_BUFFER, so that the kernel's snapshot holds the whole log
with its prefixes), then the target line, then clears the other targets
(unless --add), then enabled=1, and reads it back to check. If the kernel refuses a value, the files already
written are restored and the old configuration stays in force.

DEST is an IPv4 or IPv6 address, optionally with a port: 192.0.2.10:514,
[2001:db8::10]:514. An IPv6 zone names the device: fe80::10%eth0.`,
				Flags:        append(targetFlags(), &cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "resolve and print the target line, write nothing"}),
				Action:       func(ctx context.Context, cmd *cli.Command) error { return cmdSet(ctx, cmd, e) },
				OnUsageError: usageErr,
			},
			{
				Name:         "show",
				Usage:        "show the configuration, counters and warnings",
				Description:  "Prints whether netoops is built into the kernel or a module (with the module's version, srcversion and taint flags), targets and their state, reasons, copies, label, boot id and counters, and warns about settings that silently lose dumps (kdump without crash_kexec_post_notifiers, a target device enslaved to a bond or bridge, a device netpoll cannot use, a target in state down, a target that no longer matches the route or the next hop's MAC; looking sends nothing).",
				Flags:        []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"}},
				Action:       func(ctx context.Context, cmd *cli.Command) error { return cmdShow(ctx, cmd, e) },
				OnUsageError: usageErr,
			},
			{
				Name:         "off",
				Usage:        "stop sending dumps on a crash (enabled=0); targets are kept unless --clear",
				Flags:        []cli.Flag{&cli.BoolFlag{Name: "clear", Usage: "also clear target0..target3"}},
				Action:       func(ctx context.Context, cmd *cli.Command) error { return cmdOff(ctx, cmd, e) },
				OnUsageError: usageErr,
			},
			{
				Name:         "on",
				Usage:        "send dumps again (enabled=1) to the configured targets",
				Action:       func(ctx context.Context, cmd *cli.Command) error { return cmdOn(ctx, cmd, e) },
				OnUsageError: usageErr,
			},
			{
				Name:         "test",
				Usage:        "send a test dump now and check that packets went out",
				Description:  "Writes 1 to the test file: the kernel sends a dump (reason test) of the current log to every active target. Prints dumps_sent, packets_sent and tx_errors before and after; fails with exit status 7 if packets_sent did not rise within --wait.",
				Flags:        []cli.Flag{&cli.DurationFlag{Name: "wait", Value: time.Second, Usage: "how long to wait for packets_sent to rise"}},
				Action:       func(ctx context.Context, cmd *cli.Command) error { return cmdTest(ctx, cmd, e) },
				OnUsageError: usageErr,
			},
			{
				Name:      "follow",
				Usage:     "set DEST, then keep it right as routes, neighbours, links and addresses change",
				ArgsUsage: "DEST[:PORT]",
				Description: `Does what 'set' does, then stays running: it listens to rtnetlink route,
neighbour, link and address events, waits for them to settle (--debounce),
re-resolves DEST and rewrites the target line only when it changed (new
gateway, new gateway MAC, renamed interface, new source address, link back
up). It also re-resolves every --interval in case an event was missed, and
after lost events (ENOBUFS). When resolution fails the kernel keeps its
current target and netoopsctl retries. Logs each change to stderr.
Meant to run as a service: see scripts/systemd/netoopsctl-follow@.service.`,
				Flags: append(targetFlags(),
					&cli.DurationFlag{Name: "interval", Value: 60 * time.Second, Usage: "re-resolve at least this often"},
					&cli.DurationFlag{Name: "debounce", Value: 500 * time.Millisecond, Usage: "wait this long after an event for more before re-resolving"},
				),
				Action:       func(ctx context.Context, cmd *cli.Command) error { return cmdFollow(ctx, cmd, e) },
				OnUsageError: usageErr,
			},
			{
				Name:         "man",
				Usage:        "print the manual page (roff) generated from this command tree",
				Action:       func(ctx context.Context, cmd *cli.Command) error { return writeMan(e.stdout, cmd.Root()) },
				OnUsageError: usageErr,
			},
		},
	}
	return app
}

func usageErr(ctx context.Context, cmd *cli.Command, err error, isSub bool) error {
	return &usageError{msg: fmt.Sprintf("%s: %v (see 'netoopsctl %s --help')", cmd.Name, err, cmd.Name)}
}
