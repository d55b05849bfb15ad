package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/netoops/netoops/internal/kconfig"
	"github.com/netoops/netoops/internal/route"
	"github.com/urfave/cli/v3"
)

type showTarget struct {
	Slot  int    `json:"slot"`
	Line  string `json:"line"`
	Dev   string `json:"dev"`
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	MAC   string `json:"mac"`
	SPort uint16 `json:"sport"`
	DPort uint16 `json:"dport"`
	State string `json:"state"`
}

type showOutput struct {
	Driver     kconfig.Driver `json:"driver"`
	Enabled    bool           `json:"enabled"`
	Reasons    []string       `json:"reasons"`
	Copies     int            `json:"copies"`
	Label      string         `json:"label"`
	BootID     string         `json:"boot_id"`
	Counters   showCounters   `json:"counters"`
	Targets    []showTarget   `json:"targets"`
	Warnings   []string       `json:"warnings"`
	SysctlRoot string         `json:"sysctl_root"`
}

type showCounters struct {
	DumpsSent   uint64 `json:"dumps_sent"`
	PacketsSent uint64 `json:"packets_sent"`
	TxErrors    uint64 `json:"tx_errors"`
	LastDumpUS  uint64 `json:"last_dump_us"`
}

func cmdShow(ctx context.Context, cmd *cli.Command, e *env) error {
	s, cfg, err := loadConfig(cmd, e)
	if err != nil {
		return err
	}
	st, err := kconfig.LoadStatus(s)
	if err != nil {
		return err
	}
	out := showOutput{
		Driver:  kconfig.ReadDriver(e.sysModule),
		Enabled: cfg.Enabled, Reasons: cfg.Reasons, Copies: cfg.Copies, Label: cfg.Label,
		BootID: st.BootID, SysctlRoot: cmd.String("sysctl-root"),
		Counters: showCounters{st.DumpsSent, st.PacketsSent, st.TxErrors, st.LastDumpUS},
		Targets:  []showTarget{}, Warnings: []string{},
	}
	states := map[int]string{}
	for _, l := range st.State {
		states[l.Slot] = l.State
	}
	for i, t := range cfg.Targets {
		if t.IsZero() {
			continue
		}
		state := states[i]
		if state == "" {
			state = "unknown"
		}
		out.Targets = append(out.Targets, showTarget{
			Slot: i, Line: t.String(), Dev: t.Dev, Src: t.Src.String(), Dst: t.Dst.String(),
			MAC: t.MAC.String(), SPort: t.SPort, DPort: t.DPort, State: state,
		})
	}
	if w := warnings(ctx, cmd, e, cfg, out.Targets); len(w) > 0 {
		out.Warnings = w
	}

	if cmd.Bool("json") {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	onoff := "on (enabled=1)"
	if !cfg.Enabled {
		onoff = "OFF (enabled=0)"
	}
	label := cfg.Label
	if label == "" {
		label = "(none)"
	}
	fmt.Fprintf(w, "netoops:\t%s\n", onoff)
	fmt.Fprintf(w, "driver:\t%s\n", driverLine(out.Driver))
	fmt.Fprintf(w, "reasons:\t%s\n", strings.Join(cfg.Reasons, " "))
	fmt.Fprintf(w, "copies:\t%d\n", cfg.Copies)
	fmt.Fprintf(w, "label:\t%s\n", label)
	fmt.Fprintf(w, "boot id:\t%s\n", st.BootID)
	fmt.Fprintf(w, "counters:\tdumps_sent %d, packets_sent %d, tx_errors %d, last dump %d µs\n",
		st.DumpsSent, st.PacketsSent, st.TxErrors, st.LastDumpUS)
	w.Flush()
	fmt.Fprintln(e.stdout)
	if len(out.Targets) == 0 {
		fmt.Fprintln(e.stdout, "no targets (use 'netoopsctl set DEST')")
	} else {
		w = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "SLOT\tDEV\tSTATE\tSOURCE\tDESTINATION\tMAC")
		for _, t := range out.Targets {
			fmt.Fprintf(w, "target%d\t%s\t%s\t%s\t%s\t%s\n", t.Slot, t.Dev, t.State,
				hostPort(t.Src, t.SPort), hostPort(t.Dst, t.DPort), t.MAC)
		}
		w.Flush()
	}
	if len(out.Warnings) > 0 {
		fmt.Fprintln(e.stdout)
		for _, wn := range out.Warnings {
			fmt.Fprintf(e.stdout, "warning: %s\n", wn)
		}
	}
	return nil
}

func hostPort(a string, p uint16) string {
	if strings.Contains(a, ":") {
		return fmt.Sprintf("[%s]:%d", a, p)
	}
	return fmt.Sprintf("%s:%d", a, p)
}

// warnings lists settings that silently lose dumps.
func warnings(ctx context.Context, cmd *cli.Command, e *env, cfg *kconfig.Config, targets []showTarget) []string {
	var w []string
	if !cfg.Enabled {
		w = append(w, "netoops is disabled (enabled=0): no dump is sent on a crash; 'netoopsctl on' enables it")
	}
	if len(targets) == 0 {
		w = append(w, "no target is configured: no dump is sent")
	}
	if b, err := os.ReadFile(e.kexecCrashLoaded); err == nil && strings.TrimSpace(string(b)) == "1" {
		cl, _ := os.ReadFile(e.cmdline)
		if !hasParam(string(cl), "crash_kexec_post_notifiers") {
			w = append(w, "a kdump kernel is loaded (kexec_crash_loaded=1) but the kernel command line lacks crash_kexec_post_notifiers: on panic the kdump kernel starts before netoops runs, so panics are not sent; add crash_kexec_post_notifiers to the kernel command line")
		}
	}
	if len(targets) == 0 {
		return w
	}
	n, err := e.openNet(cmd.String("netns"))
	if err != nil {
		return append(w, fmt.Sprintf("cannot check the target devices: %v", err))
	}
	defer n.Close()
	for _, t := range targets {
		name := fmt.Sprintf("target%d", t.Slot)
		if t.State == "down" {
			w = append(w, fmt.Sprintf("%s: state is down: %s joined a master (bond, bridge) or netpoll setup failed on it (see the kernel log; its driver may lack netpoll support)", name, t.Dev))
		}
		l, err := n.LinkByName(t.Dev)
		if err != nil {
			w = append(w, fmt.Sprintf("%s: device %s: %v (the target is parked until it appears)", name, t.Dev, err))
			continue
		}
		if l.Master != 0 {
			m := fmt.Sprintf("index %d", l.Master)
			if ml, err := n.LinkByIndex(l.Master); err == nil {
				m = ml.Name
				if ml.Kind != "" {
					m += " (" + ml.Kind + ")"
				}
			}
			w = append(w, fmt.Sprintf("%s: %s is enslaved to %s: netpoll on a bond or bridge port bypasses the master and its frames may be dropped; target the master device instead", name, t.Dev, m))
		}
		switch {
		case l.Loopback:
			w = append(w, fmt.Sprintf("%s: %s is a loopback device: netpoll cannot reach another host through it", name, t.Dev))
		case !l.Ethernet():
			w = append(w, fmt.Sprintf("%s: %s is not an Ethernet device (ARPHRD type %d%s): netpoll cannot send on it", name, t.Dev, l.Type, kindSuffix(l)))
		}
		w = append(w, drift(ctx, n, name, t)...)
		if !l.AdminUp {
			w = append(w, fmt.Sprintf("%s: %s is administratively down", name, t.Dev))
		} else if !l.OperUp {
			w = append(w, fmt.Sprintf("%s: %s has no carrier (operationally down)", name, t.Dev))
		}
	}
	return w
}

// drift compares a target with what the network looks like now, without
// sending anything: a route that moved to another device or a next hop with
// another MAC means dumps go nowhere.
func drift(ctx context.Context, n network, name string, t showTarget) []string {
	dst, _ := netip.ParseAddr(t.Dst)
	src, _ := netip.ParseAddr(t.Src)
	req := route.Request{Dst: dst, Src: src, NoProbe: true}
	if dst.IsLinkLocalUnicast() {
		// Only meaningful on its device.
		req.Dev = t.Dev
	}
	res, err := n.Resolve(ctx, req)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v; run 'netoopsctl set' again (or use 'netoopsctl follow')", name, err)}
	}
	var w []string
	if res.Link.Name != t.Dev {
		w = append(w, fmt.Sprintf("%s: the route to %s now leaves through %s, not %s; run 'netoopsctl set' again (or use 'netoopsctl follow')", name, t.Dst, res.Link.Name, t.Dev))
	} else if t.MAC != kconfig.BroadcastMAC.String() && len(res.MAC) == 6 && res.MAC.String() != t.MAC {
		w = append(w, fmt.Sprintf("%s: next hop %s now has MAC %s, the target sends to %s; run 'netoopsctl set' again (or use 'netoopsctl follow')", name, res.NextHop, res.MAC, t.MAC))
	}
	return w
}

func kindSuffix(l route.Link) string {
	if l.Kind == "" {
		return ""
	}
	return ", kind " + l.Kind
}

func hasParam(cmdline, p string) bool {
	for _, f := range strings.Fields(cmdline) {
		k, _, _ := strings.Cut(f, "=")
		if k == p {
			return true
		}
	}
	return false
}
