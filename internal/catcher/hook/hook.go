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

// Runner runs a shell command for every stored dump, with the event's
// fields in its environment, at most Max at a time, each for at most
// Timeout. Events queue (up to 1024); beyond that they are skipped and
// counted, so a crash storm cannot pile up processes.
type Runner struct {
	Cmd     string
	Timeout time.Duration
	Max     int
	Log     *slog.Logger
	Runs    *prometheus.CounterVec // by result: ok, error, timeout, skipped

	q  chan event.Event
	wg sync.WaitGroup
}

// Start starts the runners.
func (x *Runner) Start() {
	x.q = make(chan event.Event, 1024)
	for i := 0; i < max(x.Max, 1); i++ {
		x.wg.Add(1)
		go func() {
			defer x.wg.Done()
			for ev := range x.q {
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
		x.Runs.WithLabelValues("skipped").Inc()
		x.Log.Warn("exec queue full; command skipped", "log", ev.Log)
	}
}

// Close waits for the queued commands.
func (x *Runner) Close() {
	close(x.q)
	x.wg.Wait()
}

func (x *Runner) run(ev event.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), x.Timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "/bin/sh", "-c", x.Cmd)
	c.Env = append(os.Environ(), ev.Env()...)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	c.WaitDelay = time.Second
	err := c.Run()
	switch {
	case ctx.Err() != nil:
		x.Runs.WithLabelValues("timeout").Inc()
		x.Log.Warn("exec timed out", "cmd", x.Cmd, "log", ev.Log, "timeout", x.Timeout)
	case err != nil:
		x.Runs.WithLabelValues("error").Inc()
		x.Log.Warn("exec failed", "cmd", x.Cmd, "log", ev.Log, "err", err)
	default:
		x.Runs.WithLabelValues("ok").Inc()
	}
}
