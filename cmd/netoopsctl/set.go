package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netoops/netoops/internal/follow"
	"github.com/netoops/netoops/internal/kconfig"
	"github.com/netoops/netoops/internal/route"
	"github.com/urfave/cli/v3"
)

// parseDest parses DEST[:PORT]: 192.0.2.1, 192.0.2.1:514, 2001:db8::1,
// [2001:db8::1], [2001:db8::1]:514.
func parseDest(s string) (addr netip.Addr, port uint16, hasPort bool, err error) {
	if s == "" {
		return addr, 0, false, usagef("missing DEST (an IPv4 or IPv6 address, optionally :PORT)")
	}
	if strings.HasPrefix(s, "[") {
		if strings.HasSuffix(s, "]") {
			a, err := netip.ParseAddr(s[1 : len(s)-1])
			if err != nil {
				return addr, 0, false, usagef("DEST %q: %v", s, err)
			}
			return a, 0, false, nil
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return addr, 0, false, usagef("DEST %q: %v", s, err)
		}
		if ap.Port() == 0 {
			return addr, 0, false, usagef("DEST %q: port 0", s)
		}
		return ap.Addr(), ap.Port(), true, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a, 0, false, nil
	}
	host, p, ok := strings.Cut(s, ":")
	if ok && !strings.Contains(p, ":") {
		a, err1 := netip.ParseAddr(host)
		n, err2 := strconv.ParseUint(p, 10, 16)
		if err1 == nil && err2 == nil && n > 0 {
			return a, uint16(n), true, nil
		}
	}
	return addr, 0, false, usagef("DEST %q is not an IP address, IPv4:PORT or [IPv6]:PORT", s)
}

// targetSpec is what set and follow were asked for.
type targetSpec struct {
	req     route.Request
	sport   uint16
	dport   uint16
	add     bool
	label   *string
	copies  *int
	reasons []string
}

func parseTargetSpec(cmd *cli.Command) (*targetSpec, error) {
	if cmd.NArg() != 1 {
		return nil, usagef("%s takes exactly one DEST[:PORT] argument, got %d", cmd.Name, cmd.NArg())
	}
	dst, port, hasPort, err := parseDest(cmd.Args().First())
	if err != nil {
		return nil, err
	}
	sp := &targetSpec{
		req: route.Request{
			Dst:       dst.Unmap(),
			Dev:       cmd.String("dev"),
			Broadcast: cmd.Bool("broadcast"),
			Timeout:   cmd.Duration("timeout"),
		},
		sport: cmd.Uint16("src-port"),
		dport: cmd.Uint16("port"),
		add:   cmd.Bool("add"),
	}
	if z := dst.Zone(); z != "" {
		// fe80::1%eth0: the zone is the device.
		if sp.req.Dev != "" && sp.req.Dev != z {
			return nil, usagef("DEST's zone %%%s and --dev %s disagree", z, sp.req.Dev)
		}
		sp.req.Dev = z
		sp.req.Dst = dst.WithZone("")
	}
	if sp.req.Dev == "" && sp.req.Dst.Is6() && (sp.req.Dst.IsLinkLocalUnicast() || sp.req.Dst.IsLinkLocalMulticast()) {
		// fe80::/10 is on every link: without a device the kernel's
		// route lookup picks one, not necessarily the collector's.
		// (IPv4 169.254/16 is routed like any prefix and has no zone.)
		return nil, usagef("DEST %s is link-local: name its device with a zone (%s%%eth0) or --dev", sp.req.Dst, sp.req.Dst)
	}
	if hasPort {
		if cmd.IsSet("port") && cmd.Uint16("port") != port {
			return nil, usagef("DEST gives port %d but --port says %d", port, cmd.Uint16("port"))
		}
		sp.dport = port
	}
	if sp.dport == 0 || sp.sport == 0 {
		return nil, usagef("ports must be 1..65535")
	}
	if sp.req.Timeout <= 0 {
		return nil, usagef("--timeout must be positive")
	}
	if s := cmd.String("src"); s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, usagef("--src %q: %v", s, err)
		}
		if a.Unmap().Is4() != sp.req.Dst.Is4() {
			return nil, usagef("--src %s and DEST %s are of different families", a, dst)
		}
		sp.req.Src = a.Unmap()
	}
	if sp.req.Dev != "" && len(sp.req.Dev) > kconfig.IFNAMSIZ-1 {
		return nil, usagef("--dev %q is longer than %d bytes", sp.req.Dev, kconfig.IFNAMSIZ-1)
	}
	if cmd.IsSet("label") {
		l := strings.TrimSuffix(cmd.String("label"), "\n")
		if err := kconfig.ValidateLabel(l); err != nil {
			return nil, usagef("--label: %v", err)
		}
		sp.label = &l
	}
	if cmd.IsSet("copies") {
		n := cmd.Int("copies")
		if err := kconfig.ValidateCopies(n); err != nil {
			return nil, usagef("--copies: %v", err)
		}
		sp.copies = &n
	}
	if cmd.IsSet("reasons") {
		r, err := kconfig.ParseReasons(cmd.String("reasons"))
		if err != nil {
			return nil, usagef("--reasons: %v", err)
		}
		sp.reasons = r
	}
	return sp, nil
}

func (sp *targetSpec) target(res *route.Result) kconfig.Target {
	return kconfig.Target{
		Dev: res.Link.Name, Src: res.Src, Dst: res.Dst, MAC: res.MAC,
		SPort: sp.sport, DPort: sp.dport,
	}.Normalize()
}

// desired returns the configuration set/follow write for target t, and the
// slot t goes into.
func (sp *targetSpec) desired(cur *kconfig.Config, t kconfig.Target) (*kconfig.Config, int, error) {
	want := *cur
	want.Enabled = true
	if sp.label != nil {
		want.Label = *sp.label
	}
	if sp.copies != nil {
		want.Copies = *sp.copies
	}
	if sp.reasons != nil {
		want.Reasons = sp.reasons
	}
	if !sp.add {
		want.Targets = [kconfig.NumTargets]kconfig.Target{t}
		return &want, 0, nil
	}
	// --add: the slot that already sends to this destination and port, or
	// the first free one.
	for i, old := range cur.Targets {
		if !old.IsZero() && old.Dst == t.Dst && old.DPort == t.DPort {
			want.Targets[i] = t
			return &want, i, nil
		}
	}
	slot := cur.FreeSlot()
	if slot < 0 {
		return nil, 0, usagef("all %d target slots are in use; free one with 'netoopsctl off --clear' or replace them without --add", kconfig.NumTargets)
	}
	want.Targets[slot] = t
	return &want, slot, nil
}

func openStore(cmd *cli.Command, e *env) (kconfig.Store, error) {
	s, err := e.openStore(cmd.String("sysctl-root"))
	return s, notPresentHint(err, e)
}

// checkNetnsTarget refuses to write targets resolved in another network
// namespace into the real kernel, which looks devices up in the initial one.
func checkNetnsTarget(cmd *cli.Command, s kconfig.Store) error {
	if ds, ok := s.(*kconfig.DirStore); ok && ds.Kernel() && cmd.String("netns") != "" {
		return usagef("--netns %s: the kernel looks target devices up in the initial network namespace, so a target resolved in another one would name the wrong device; use --netns only with --sysctl-root pointing at a test directory", cmd.String("netns"))
	}
	return nil
}

func resolve(ctx context.Context, cmd *cli.Command, e *env, sp *targetSpec) (*route.Result, error) {
	n, err := e.openNet(cmd.String("netns"))
	if err != nil {
		return nil, err
	}
	defer n.Close()
	return n.Resolve(ctx, sp.req)
}

func describeResult(w io.Writer, res *route.Result) {
	if res.Gateway.IsValid() {
		fmt.Fprintf(w, "  route: %s via %s dev %s src %s", res.Dst, res.Gateway, res.Link.Name, res.Src)
	} else {
		fmt.Fprintf(w, "  route: %s dev %s src %s (on-link)", res.Dst, res.Link.Name, res.Src)
	}
	switch res.Table {
	case 0:
	case 254:
		fmt.Fprint(w, " table main")
	default:
		fmt.Fprintf(w, " table %d", res.Table)
	}
	fmt.Fprintln(w)
	switch {
	case res.MAC.String() == kconfig.BroadcastMAC.String():
		fmt.Fprintf(w, "  mac:   %s (Ethernet broadcast)\n", res.MAC)
	case res.Probed:
		fmt.Fprintf(w, "  mac:   %s (%s resolved now, %s)\n", res.MAC, res.NextHop, route.StateString(res.NeighState))
	default:
		fmt.Fprintf(w, "  mac:   %s (%s is %s)\n", res.MAC, res.NextHop, route.StateString(res.NeighState))
	}
}

func cmdSet(ctx context.Context, cmd *cli.Command, e *env) error {
	sp, err := parseTargetSpec(cmd)
	if err != nil {
		return err
	}
	dry := cmd.Bool("dry-run")
	var s kconfig.Store
	var cur *kconfig.Config
	if !dry {
		if s, err = openStore(cmd, e); err != nil {
			return err
		}
		if err := checkNetnsTarget(cmd, s); err != nil {
			return err
		}
		if cur, err = kconfig.Load(s); err != nil {
			return err
		}
	}
	res, err := resolve(ctx, cmd, e, sp)
	if err != nil {
		return err
	}
	t := sp.target(res)
	if dry {
		fmt.Fprintln(e.stdout, t)
		describeResult(e.stdout, res)
		return nil
	}
	// Resolution may have taken seconds: start from what the kernel has now.
	if cur, err = kconfig.Load(s); err != nil {
		return err
	}
	want, slot, err := sp.desired(cur, t)
	if err != nil {
		return err
	}
	// The kernel's log snapshot must hold the whole log buffer; it is
	// sized before the first target reserves it.
	if cur.LogBufLen != 0 {
		n, err := e.kernelLogSize()
		if err != nil {
			return fmt.Errorf("reading the size of the kernel log buffer (syslog(2) SYSLOG_ACTION_SIZE_BUFFER, which needs CAP_SYSLOG): %w", err)
		}
		want.LogBufLen = kconfig.LogBufLenFor(n)
	}
	written, err := kconfig.ApplyAndVerify(s, cur, want)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", kconfig.TargetFile(slot), t)
	describeResult(e.stdout, res)
	if len(written) == 0 {
		fmt.Fprintln(e.stdout, "netoops was already configured so; nothing written")
	} else {
		fmt.Fprintf(e.stdout, "written: %s\n", strings.Join(written, ", "))
	}
	return nil
}

// loadConfig checks that cmd got no arguments, opens the sysctl directory
// and reads the configuration in force.
func loadConfig(cmd *cli.Command, e *env) (kconfig.Store, *kconfig.Config, error) {
	if cmd.NArg() != 0 {
		return nil, nil, usagef("%s takes no arguments", cmd.Name)
	}
	s, err := openStore(cmd, e)
	if err != nil {
		return nil, nil, err
	}
	cur, err := kconfig.Load(s)
	if err != nil {
		return nil, nil, err
	}
	return s, cur, nil
}

func cmdOff(ctx context.Context, cmd *cli.Command, e *env) error {
	s, cur, err := loadConfig(cmd, e)
	if err != nil {
		return err
	}
	want := *cur
	want.Enabled = false
	if cmd.Bool("clear") {
		want.Targets = [kconfig.NumTargets]kconfig.Target{}
	}
	written, err := kconfig.ApplyAndVerify(s, cur, &want)
	if err != nil {
		return err
	}
	msg := "netoops is off (enabled=0): no dump is sent on a crash (test dumps still are); targets kept, 'netoopsctl on' resumes"
	if cmd.Bool("clear") {
		msg = "netoops is off (enabled=0) and its targets are cleared"
	}
	fmt.Fprintln(e.stdout, msg)
	if len(written) > 0 {
		fmt.Fprintf(e.stdout, "written: %s\n", strings.Join(written, ", "))
	}
	return nil
}

func cmdOn(ctx context.Context, cmd *cli.Command, e *env) error {
	s, cur, err := loadConfig(cmd, e)
	if err != nil {
		return err
	}
	configured := 0
	for _, t := range cur.Targets {
		if !t.IsZero() {
			configured++
		}
	}
	if configured == 0 {
		fmt.Fprintln(e.stderr, "netoopsctl: warning: no target is configured; use 'netoopsctl set DEST'")
	}
	want := *cur
	want.Enabled = true
	if _, err := kconfig.ApplyAndVerify(s, cur, &want); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "netoops is on (enabled=1)")
	return nil
}

func cmdTest(ctx context.Context, cmd *cli.Command, e *env) error {
	if cmd.NArg() != 0 {
		return usagef("test takes no arguments")
	}
	s, err := openStore(cmd, e)
	if err != nil {
		return err
	}
	before, err := kconfig.ReadCounters(s)
	if err != nil {
		return err
	}
	// EBUSY: a dump is being sent or the configuration is changing right
	// now (a follower rewriting it); try again for a moment.
	err = kconfig.TriggerTest(s)
	for tries := 0; errors.Is(err, syscall.EBUSY) && tries < 20; tries++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		err = kconfig.TriggerTest(s)
	}
	// EIO: the kernel dumped but no device took a packet; the counters
	// below tell how many were not sent.
	if err != nil && !errors.Is(err, syscall.EIO) {
		if errors.Is(err, syscall.ENODEV) {
			return &testNothingError{msg: "test dump sent nothing: no target is active (see 'netoopsctl show')"}
		}
		return err
	}
	// The kernel sends the dump before the write returns; poll briefly in
	// case a driver completes transmission later.
	var after kconfig.Counters
	deadline := time.Now().Add(cmd.Duration("wait"))
	for {
		if after, err = kconfig.ReadCounters(s); err != nil {
			return err
		}
		if after.PacketsSent > before.PacketsSent || !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	fmt.Fprintf(e.stdout, "%-13s %10s %10s %8s\n", "", "before", "after", "delta")
	row := func(name string, b, a uint64) {
		fmt.Fprintf(e.stdout, "%-13s %10d %10d %+8d\n", name, b, a, int64(a-b))
	}
	row("dumps_sent", before.DumpsSent, after.DumpsSent)
	row("packets_sent", before.PacketsSent, after.PacketsSent)
	row("tx_errors", before.TxErrors, after.TxErrors)
	if after.PacketsSent <= before.PacketsSent {
		return &testNothingError{msg: fmt.Sprintf("test dump sent nothing: packets_sent stayed at %d (tx_errors %+d); check 'netoopsctl show' and the kernel log", after.PacketsSent, int64(after.TxErrors-before.TxErrors))}
	}
	if after.TxErrors > before.TxErrors {
		fmt.Fprintf(e.stderr, "netoopsctl: warning: %d packets were not sent (a target's device was down or had no carrier; see 'netoopsctl show')\n", after.TxErrors-before.TxErrors)
	}
	fmt.Fprintln(e.stdout, "test dump sent; check the collector")
	return nil
}

func cmdFollow(ctx context.Context, cmd *cli.Command, e *env) error {
	sp, err := parseTargetSpec(cmd)
	if err != nil {
		return err
	}
	s, err := openStore(cmd, e)
	if err != nil {
		return err
	}
	if err := checkNetnsTarget(cmd, s); err != nil {
		return err
	}
	if _, err := kconfig.Load(s); err != nil {
		return err
	}
	n, err := e.openNet(cmd.String("netns"))
	if err != nil {
		return err
	}
	defer n.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe before the first resolution so no change slips between.
	events, errc, err := n.Watch(ctx)
	if err != nil {
		return err
	}
	log := e.log.With("dst", sp.req.Dst.String())
	f := &follow.Follower{
		Store: s,
		Resolve: func(ctx context.Context) (kconfig.Target, *route.Result, error) {
			res, err := n.Resolve(ctx, sp.req)
			if err != nil {
				return kconfig.Target{}, nil, err
			}
			return sp.target(res), res, nil
		},
		Initial:  sp.desired,
		Interval: cmd.Duration("interval"),
		Debounce: cmd.Duration("debounce"),
		Log:      log,
	}
	log.Info("following", "interval", f.Interval.String(), "debounce", f.Debounce.String())
	// Run returns on a fatal error, when ctx is done, or when the event
	// stream closes because reading it failed; in that last case errc
	// already holds the reason, which must not be lost (exit 0 would keep
	// systemd from restarting the follower).
	err = f.Run(ctx, events)
	cancel()
	werr := <-errc
	if err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("reading rtnetlink events: %w", werr)
	}
	return nil
}
