package catcher

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// Execer runs a shell command for every stored dump, with the event's
// fields in its environment, at most Max at a time, each for at most
// Timeout. Events queue (up to 1024); beyond that they are skipped and
// counted, so a crash storm cannot pile up processes.
type Execer struct {
	Cmd     string
	Timeout time.Duration
	Max     int
	Log     *slog.Logger
	Metrics *Metrics

	q  chan Event
	wg sync.WaitGroup
}

// Start starts the runners.
func (x *Execer) Start() {
	x.q = make(chan Event, 1024)
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
func (x *Execer) Submit(ev Event) {
	select {
	case x.q <- ev:
	default:
		x.Metrics.ExecRuns.WithLabelValues("skipped").Inc()
		x.Log.Warn("exec queue full; command skipped", "log", ev.Log)
	}
}

// Close waits for the queued commands.
func (x *Execer) Close() {
	close(x.q)
	x.wg.Wait()
}

// Env returns the NETOOPS_* environment of ev.
func (ev Event) Env() []string {
	dt := ""
	if ev.DumpTime != nil {
		dt = ev.DumpTime.Format(time.RFC3339Nano)
	}
	return []string{
		"NETOOPS_LOG=" + ev.Log, "NETOOPS_META=" + ev.Meta, "NETOOPS_HOST=" + ev.Host,
		"NETOOPS_HOST_DIR=" + ev.HostDir, "NETOOPS_LABEL=" + ev.Label, "NETOOPS_BOOT_ID=" + ev.BootID,
		"NETOOPS_DUMP_SEQ=" + strconv.FormatUint(uint64(ev.DumpSeq), 10), "NETOOPS_RELEASE=" + ev.Release,
		"NETOOPS_REASON=" + ev.Reason, "NETOOPS_REASON_TEXT=" + ev.ReasonText, "NETOOPS_DUMP_TIME=" + dt,
		"NETOOPS_COMPLETE=" + strconv.FormatBool(ev.Complete), "NETOOPS_TOTAL_LEN=" + strconv.FormatUint(uint64(ev.TotalLen), 10),
		"NETOOPS_MISSING_BYTES=" + strconv.FormatUint(ev.MissingBytes, 10), "NETOOPS_SOURCE=" + ev.Source,
		"NETOOPS_TRUNCATED=" + strconv.FormatBool(ev.Truncated),
	}
}

func (x *Execer) run(ev Event) {
	ctx, cancel := context.WithTimeout(context.Background(), x.Timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "/bin/sh", "-c", x.Cmd)
	c.Env = append(os.Environ(), sanitizeEnv(ev.Env())...)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	c.WaitDelay = time.Second
	err := c.Run()
	switch {
	case ctx.Err() != nil:
		x.Metrics.ExecRuns.WithLabelValues("timeout").Inc()
		x.Log.Warn("exec timed out", "cmd", x.Cmd, "log", ev.Log, "timeout", x.Timeout)
	case err != nil:
		x.Metrics.ExecRuns.WithLabelValues("error").Inc()
		x.Log.Warn("exec failed", "cmd", x.Cmd, "log", ev.Log, "err", err)
	default:
		x.Metrics.ExecRuns.WithLabelValues("ok").Inc()
	}
}

// sanitizeEnv drops NUL bytes, which cannot be in the environment.
func sanitizeEnv(env []string) []string {
	for i, v := range env {
		b := []byte(v)
		n := 0
		for _, c := range b {
			if c != 0 {
				b[n] = c
				n++
			}
		}
		env[i] = string(b[:n])
	}
	return env
}
