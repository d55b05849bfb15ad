// Package hook runs the --exec command for every stored dump, bounded in
// number, time and queue length.
package hook

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueLen is how many events wait for a free runner; beyond it they are
// skipped and counted, so a crash storm cannot pile up processes.
const QueueLen = 1024

// Runner runs a shell command for every stored dump, with the event's
// fields in its environment, at most Max at a time, each for at most
// Timeout: then the command and every process it started (its process
// group) are killed. Close is bounded too: see there.
type Runner struct {
	Cmd     string
	Timeout time.Duration
	Max     int
	Log     *slog.Logger
	Runs    *prometheus.CounterVec // by result: ok, error, timeout, skipped

	q      chan event.Event
	wg     sync.WaitGroup
	stop   context.Context // done when Close's time is up
	cancel context.CancelFunc
}

// Start starts the runners.
func (x *Runner) Start() {
	x.q = make(chan event.Event, QueueLen)
	x.stop, x.cancel = context.WithCancel(context.Background())
	for i := 0; i < max(x.Max, 1); i++ {
		x.wg.Add(1)
		go func() {
			defer x.wg.Done()
			for ev := range x.q {
				if x.stop.Err() != nil {
					x.skip(ev, "catcher stopping; command not run")
					continue
				}
				x.run(ev)
			}
		}()
	}
}

// Submit queues ev.
func (x *Runner) Submit(ev event.Event) {
	select {
	case x.q <- ev:
	default:
		x.skip(ev, "exec queue full; command skipped")
	}
}

func (x *Runner) skip(ev event.Event, msg string) {
	x.Runs.WithLabelValues("skipped").Inc()
	x.Log.Warn(msg, "log", ev.Log, "meta", ev.Meta)
}

// Close stops taking events and lets the queued commands run, Max at a
// time, for at most Timeout in all. Then the commands still running are
// killed (counted as timeouts) and those not started are skipped: each
// is logged with its dump's log and sidecar, and counted. So Close
// returns within about Timeout.
func (x *Runner) Close() {
	close(x.q)
	t := time.AfterFunc(x.Timeout, x.cancel)
	x.wg.Wait()
	t.Stop()
	x.cancel()
}

func (x *Runner) run(ev event.Event) {
	ctx, cancel := context.WithTimeout(x.stop, x.Timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "/bin/sh", "-c", x.Cmd)
	c.Env = append(os.Environ(), ev.Env()...)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	ownGroup(c) // so that the timeout kills what the shell started too
	c.WaitDelay = time.Second
	err := c.Run()
	switch {
	case ctx.Err() != nil:
		x.Runs.WithLabelValues("timeout").Inc()
		x.Log.Warn("exec killed: timed out", "cmd", x.Cmd, "log", ev.Log, "timeout", x.Timeout, "stopping", x.stop.Err() != nil)
	case err != nil:
		x.Runs.WithLabelValues("error").Inc()
		x.Log.Warn("exec failed", "cmd", x.Cmd, "log", ev.Log, "err", err)
	default:
		x.Runs.WithLabelValues("ok").Inc()
	}
}
