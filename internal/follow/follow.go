// Package follow keeps a netoops target right while the network changes:
// it re-resolves the destination on rtnetlink events (debounced) and
// periodically, and rewrites the kernel's target line only when the
// resolved line differs from what the kernel has.
package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/netoops/netoops/internal/kconfig"
	"github.com/netoops/netoops/internal/route"
	"golang.org/x/sys/unix"
)

// ResolveFunc resolves the followed destination into a target line.
type ResolveFunc func(ctx context.Context) (kconfig.Target, *route.Result, error)

// Follower holds the follow loop's settings.
type Follower struct {
	Store   kconfig.Store
	Resolve ResolveFunc
	// Initial turns the current configuration and a resolved target into
	// the configuration to write on the first successful resolution (the
	// same as `netoopsctl set` does), and returns the slot the target
	// went into. Later rewrites touch only that slot.
	Initial func(cur *kconfig.Config, t kconfig.Target) (*kconfig.Config, int, error)

	Interval time.Duration // periodic re-resolve; default 60s
	Debounce time.Duration // quiet time after an event; default 500ms
	Retry    time.Duration // first re-resolve after a failure; default 5s, doubling up to Interval
	Log      *slog.Logger

	// OnWrite, if set, is called after each successful write (tests).
	OnWrite func(slot int, t kconfig.Target)

	slot    int
	started bool
	nextHop netip.Addr
	ifindex uint32
}

func (f *Follower) defaults() {
	if f.Interval <= 0 {
		f.Interval = 60 * time.Second
	}
	if f.Debounce <= 0 {
		f.Debounce = 500 * time.Millisecond
	}
	if f.Retry <= 0 {
		f.Retry = 5 * time.Second
	}
	if f.Log == nil {
		f.Log = slog.Default()
	}
}

// Run resolves and writes once, then follows events until ctx is done or
// events is closed. Resolution failures and values the kernel refuses are
// logged and retried, not returned: a follower must outlive a network that
// is briefly wrong. Errors retrying cannot fix are returned: Initial
// failing (e.g. no free slot) and permission denied.
func (f *Follower) Run(ctx context.Context, events <-chan route.Event) error {
	f.defaults()
	var retry <-chan time.Time
	delay := f.Retry
	// attempt re-resolves and schedules the next retry after a failure,
	// each one twice as late, up to Interval (a dead gateway is not probed
	// every few seconds forever); a success cancels it. Only an error
	// retrying cannot fix is returned.
	attempt := func(why string) error {
		good, err := f.update(ctx, why)
		if err != nil {
			return err
		}
		if good {
			retry, delay = nil, f.Retry
		} else {
			retry = time.After(delay)
			delay = min(2*delay, f.Interval)
		}
		return nil
	}
	if err := attempt("start"); err != nil {
		return err
	}
	tick := time.NewTicker(f.Interval)
	defer tick.Stop()
	var debounce <-chan time.Time
	pending := map[string]bool{}
	for {
		var why string
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if !f.relevant(ev) {
				continue
			}
			if ev.Overflow {
				f.Log.Warn("rtnetlink events were lost (ENOBUFS); re-resolving")
			}
			pending[ev.Kind()] = true
			if debounce == nil {
				debounce = time.After(f.Debounce)
			}
			continue
		case <-debounce:
			debounce = nil
			why = reasons(pending)
			clear(pending)
		case <-retry:
			why = "retry"
		case <-tick.C:
			why = "periodic"
		}
		if err := attempt(why); err != nil {
			return err
		}
	}
}

func reasons(m map[string]bool) string {
	var kinds []string
	for _, k := range []string{"route", "neighbour", "link", "address", "overflow", "other"} {
		if m[k] {
			kinds = append(kinds, k)
		}
	}
	return strings.Join(kinds, ",") + " event"
}

// relevant filters neighbour events: only those of the current next hop
// (known from the last resolution, successful or not) matter, and of those
// only a usable entry or a deleted one. The INCOMPLETE and FAILED events
// that resolution itself causes would otherwise trigger another resolution,
// and so on forever while a gateway is down; retries have their own
// backoff. Every other event counts.
func (f *Follower) relevant(ev route.Event) bool {
	if ev.Overflow || ev.Neigh == nil {
		return true
	}
	if !f.nextHop.IsValid() || ev.Neigh.Addr != f.nextHop || (f.ifindex != 0 && ev.Neigh.Ifindex != f.ifindex) {
		return false
	}
	return ev.Type == unix.RTM_DELNEIGH || ev.Neigh.Usable()
}

// update resolves and writes if needed. It reports whether the kernel now
// has a resolved target (false: retry later), and an error when retrying
// cannot help.
func (f *Follower) update(ctx context.Context, why string) (bool, error) {
	t, res, err := f.Resolve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return true, nil
		}
		var ne *route.NeighbourError
		if errors.As(err, &ne) {
			// Watch the next hop that did not answer.
			f.nextHop, f.ifindex = ne.NextHop, ne.Ifindex
		} else {
			f.nextHop, f.ifindex = netip.Addr{}, 0
		}
		f.Log.Warn("cannot resolve; the kernel keeps its current target", "trigger", why, "err", err)
		return false, nil
	}
	if res != nil {
		f.nextHop, f.ifindex = res.NextHop, res.Link.Index
	}
	cur, err := kconfig.Load(f.Store)
	if err != nil {
		if kconfig.IsPermission(err) {
			return false, err
		}
		f.Log.Error("reading the kernel configuration", "err", err)
		return false, nil
	}
	var want *kconfig.Config
	slot := f.slot
	if !f.started {
		want, slot, err = f.Initial(cur, t)
		if err != nil {
			return false, err
		}
	} else {
		if cur.Targets[slot].Equal(t) {
			f.Log.Debug("target unchanged", "trigger", why, "slot", slot, "target", t.String())
			return true, nil
		}
		c := *cur
		c.Targets[slot] = t
		want = &c
	}
	old := cur.Targets[slot]
	written, err := kconfig.ApplyAndVerify(f.Store, cur, want)
	if err != nil {
		var we *kconfig.WriteError
		if kconfig.IsPermission(err) {
			return false, err
		}
		if errors.As(err, &we) {
			f.Log.Error("the kernel refused the new target; it keeps the old one", "trigger", why, "err", err)
		} else {
			f.Log.Error("writing the configuration", "trigger", why, "err", err)
		}
		return false, nil
	}
	f.slot, f.started = slot, true
	if len(written) == 0 {
		f.Log.Info("target already in place", "slot", slot, "target", t.String())
		return true, nil
	}
	f.Log.Info("target written", "trigger", why, "file", kconfig.TargetFile(slot),
		"old", old.String(), "new", t.String(), "changes", describe(old, t), "files", fmt.Sprint(written))
	if f.OnWrite != nil {
		f.OnWrite(slot, t)
	}
	return true, nil
}

// describe says what changed between two target lines.
func describe(old, t kconfig.Target) string {
	if old.IsZero() {
		return "new target"
	}
	var s []string
	if old.Dev != t.Dev {
		s = append(s, fmt.Sprintf("device %s -> %s", old.Dev, t.Dev))
	}
	if old.Src != t.Src {
		s = append(s, fmt.Sprintf("source %s -> %s", old.Src, t.Src))
	}
	if old.Dst != t.Dst {
		s = append(s, fmt.Sprintf("destination %s -> %s", old.Dst, t.Dst))
	}
	if old.MAC.String() != t.MAC.String() {
		s = append(s, fmt.Sprintf("next-hop MAC %s -> %s", old.MAC, t.MAC))
	}
	if old.SPort != t.SPort || old.DPort != t.DPort {
		s = append(s, fmt.Sprintf("ports %d/%d -> %d/%d", old.SPort, old.DPort, t.SPort, t.DPort))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
