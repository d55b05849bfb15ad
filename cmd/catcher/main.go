// Command catcher receives netoops crash dumps, reassembles and stores
// them. See docs/catcher.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/netoops/netoops/internal/catcher/hook"
	"github.com/netoops/netoops/internal/catcher/index"
	"github.com/netoops/netoops/internal/catcher/metrics"
	"github.com/netoops/netoops/internal/catcher/priority"
	"github.com/netoops/netoops/internal/catcher/reassembly"
	"github.com/netoops/netoops/internal/catcher/source"
	"github.com/netoops/netoops/internal/catcher/steer"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/triage"
	"github.com/netoops/netoops/internal/catcher/web"
	"github.com/netoops/netoops/pkg/wire"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/urfave/cli/v3"
	"golang.org/x/net/bpf"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // runtime failure: cannot bind, capture, read, store directory
	exitUsage   = 2 // bad flags or arguments
	exitNoDump  = 3 // show: no such dump
)

// onListen, when set (by tests), is called with the bound UDP address.
var onListen func(net.Addr)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr))
}

type usageError struct{ error }

// codedError makes run exit with code.
type codedError struct {
	error
	code int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "catcher:", err)
	var ce codedError
	var ue usageError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitFailure
}

func pipelineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dir", Value: "./crashes", Usage: "store dumps under `DIR`"},
		&cli.DurationFlag{Name: "idle", Value: 10 * time.Second, Usage: "store a dump that received nothing for `DURATION` as partial"},
		&cli.DurationFlag{Name: "retain", DefaultText: "max(6×idle, 1m)", Usage: "keep a stored dump's state for `DURATION` to absorb late copies"},
		&cli.StringFlag{Name: "events", Value: "-", Usage: "append one JSON line per stored dump to `FILE` (- is stdout)"},
		&cli.StringFlag{Name: "exec", Usage: "run `CMD` (with /bin/sh -c) per stored dump, NETOOPS_* in its environment"},
		&cli.DurationFlag{Name: "exec-timeout", Value: 30 * time.Second, Usage: "kill an --exec command (its process group) after `DURATION`"},
		&cli.IntFlag{Name: "exec-max", Value: 4, Usage: "run at most `N` --exec commands at once"},
		&cli.StringFlag{Name: "metrics", Usage: "serve Prometheus metrics on http://`ADDR`/metrics"},
		&cli.IntFlag{Name: "max-dumps", Value: 65536, Usage: "at most `N` dumps in flight"},
		&cli.IntFlag{Name: "max-dump-bytes", Value: 16 << 20, Usage: "drop dumps whose total_len exceeds `BYTES`"},
		&cli.IntFlag{Name: "max-per-source", Value: 64, Usage: "at most `N` dumps being received per source address"},
		&cli.IntFlag{Name: "write-buffers", Value: 1024, Usage: "`N` 32 KiB write-coalescing buffers (over all workers)"},
		&cli.IntFlag{Name: "open-files", DefaultText: "--max-dumps, at most the open-file limit less 256", Usage: "keep `N` temporary files of dumps in flight open (over all workers)"},
		&cli.IntFlag{Name: "heap-limit", Value: 128 << 20, Usage: "soft limit of `BYTES` on the Go heap: the garbage collector runs more often near it rather than let the heap grow to twice what is live (--mem-buffers are outside it; 0: none, or GOMEMLIMIT's)"},
		&cli.IntFlag{Name: "mem-buffers", Value: 16 << 20, Usage: "`BYTES` of memory for whole dumps up to 1 MiB, which then need no temporary file (over all workers; 0: none)"},
		&cli.IntFlag{Name: "store-workers", Value: 16, Usage: "`N` goroutines writing finished dumps (parallel fsyncs share journal commits)"},
		&cli.IntFlag{Name: "workers", DefaultText: "GOMAXPROCS, at most 16", Usage: "`N` reassembly goroutines"},
		&cli.BoolFlag{Name: "pprof", Usage: "also serve net/http/pprof under /debug/pprof/ on --metrics"},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "daemon log `LEVEL`: debug, info, warn, error"},
		indexFlag(),
	}
}

// intLimits are the ranges of the numeric flags. 0 means "none" only
// where the range starts at 0 (--mem-buffers); a flag with a computed
// default (--open-files, --workers) takes it when not given.
var intLimits = []struct {
	name     string
	min, max int
}{
	{"exec-max", 1, 1024},
	{"max-dumps", 1, 1 << 24},
	{"max-dump-bytes", 1, 1<<32 - 1},
	{"max-per-source", 1, 1 << 24},
	{"write-buffers", 1, 1 << 20},
	{"open-files", 1, 1 << 30},
	{"mem-buffers", 0, 1 << 40},
	{"heap-limit", 0, 1 << 40},
	{"store-workers", 1, 1024},
	{"workers", 1, 256},
	{"sockets", 1, 256},
	{"rcvbuf", 4096, 1<<30 - 1}, // the kernel doubles it into an int
	{"port", 1, 65535},
}

// checkFlags refuses values out of their flags' ranges, naming the flag.
func checkFlags(cmd *cli.Command) error {
	for _, l := range intLimits {
		if !hasFlag(cmd, l.name) || !cmd.IsSet(l.name) && (l.name == "open-files" || l.name == "workers" || l.name == "sockets") {
			continue
		}
		if v := cmd.Int(l.name); v < l.min || v > l.max {
			return usageError{fmt.Errorf("--%s %d: out of range: %d to %d", l.name, v, l.min, l.max)}
		}
	}
	if hasFlag(cmd, "log-level") {
		var level slog.Level
		if level.UnmarshalText([]byte(cmd.String("log-level"))) != nil {
			return usageError{fmt.Errorf("--log-level %q: debug, info, warn or error", cmd.String("log-level"))}
		}
	}
	for _, name := range []string{"idle", "retain", "exec-timeout"} {
		if !hasFlag(cmd, name) || name == "retain" && !cmd.IsSet(name) {
			continue
		}
		if v := cmd.Duration(name); v <= 0 {
			return usageError{fmt.Errorf("--%s %v: must be more than 0", name, v)}
		}
	}
	return nil
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func newApp(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:           "catcher",
		Usage:          "receive, reassemble and store netoops crash dumps",
		Writer:         stdout,
		ErrWriter:      stderr,
		OnUsageError:   usageErr,
		ExitErrHandler: func(context.Context, *cli.Command, error) {}, // run picks the exit code
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageError{fmt.Errorf("unknown command %q: one of listen, capture, read, ls, show, web (catcher --help)", cmd.Args().First())}
			}
			return usageError{errors.New("no command: one of listen, capture, read, ls, show, web (catcher --help)")}
		},
		Commands: []*cli.Command{
			{
				Name:  "listen",
				Usage: "receive dumps on a UDP socket",
				Flags: append(pipelineFlags(),
					&cli.StringFlag{Name: "listen", Value: fmt.Sprintf(":%d", wire.DefaultPort), Usage: "UDP `ADDR:PORT` (\":6668\" is every IPv4 and IPv6 address)"},
					&cli.IntFlag{Name: "rcvbuf", Value: 1<<30 - 1, Usage: "socket receive buffer of `BYTES`, per socket (the kernel reports twice that)"},
					&cli.IntFlag{Name: "sockets", DefaultText: "--workers", Usage: "`N` receive sockets (a SO_REUSEPORT group), each read by its own goroutine"},
					httpFlag(),
				),
				OnUsageError: usageErr,
				Action: func(ctx context.Context, cmd *cli.Command) error {
					if err := checkFlags(cmd); err != nil {
						return err
					}
					return pipeline(ctx, cmd, stdout, stderr, func(ctx context.Context, p *pipe) error {
						return listenUDP(ctx, cmd, p)
					})
				},
			},
			{
				Name:  "capture",
				Usage: "capture dumps from an interface with AF_PACKET (needs CAP_NET_RAW)",
				Flags: append(pipelineFlags(),
					&cli.StringFlag{Name: "iface", Required: true, Usage: "interface `IF` (lo works)"},
					&cli.IntFlag{Name: "port", Value: wire.DefaultPort, Usage: "UDP destination `PORT`"},
					httpFlag(),
				),
				OnUsageError: usageErr,
				Action: func(ctx context.Context, cmd *cli.Command) error {
					if err := checkFlags(cmd); err != nil {
						return err
					}
					port, err := portArg(cmd.Int("port"))
					if err != nil {
						return err
					}
					return pipeline(ctx, cmd, stdout, stderr, func(ctx context.Context, p *pipe) error {
						return source.Capture(ctx, cmd.String("iface"), port, p.f, p.m.NotNetoops, func() {
							p.log.Info("capturing", "iface", cmd.String("iface"), "port", port)
						})
					})
				},
			},
			{
				Name:      "read",
				Usage:     "process a pcap or pcapng file, then store what is in flight as partial",
				ArgsUsage: "FILE.pcap|FILE.pcapng",
				Flags: append(pipelineFlags(),
					&cli.IntFlag{Name: "port", Value: wire.DefaultPort, Usage: "UDP destination `PORT`"},
				),
				OnUsageError: usageErr,
				Action: func(ctx context.Context, cmd *cli.Command) error {
					if cmd.Args().Len() != 1 {
						return usageError{errors.New("read: want one FILE argument")}
					}
					if err := checkFlags(cmd); err != nil {
						return err
					}
					port, err := portArg(cmd.Int("port"))
					if err != nil {
						return err
					}
					file, err := os.Open(cmd.Args().First())
					if err != nil {
						return err
					}
					defer file.Close()
					return pipeline(ctx, cmd, stdout, stderr, func(ctx context.Context, p *pipe) error {
						n, err := source.ReadPcap(ctx, file, port, p.f, p.m.NotNetoops)
						p.log.Info("file read", "file", cmd.Args().First(), "frames", n)
						if errors.Is(err, context.Canceled) {
							return nil
						}
						return err
					})
				},
			},
			{
				Name:         "ls",
				Usage:        "list stored dumps, newest first, or (--group) their crash signatures",
				Flags:        lsFlags(),
				OnUsageError: usageErr,
				Action: func(ctx context.Context, cmd *cli.Command) error {
					return lsAction(ctx, cmd, stdout, stderr)
				},
			},
			webCommand(stdout, stderr),
			{
				Name:      "show",
				Usage:     "print a stored dump: ID as catcher ls prints it, or HOSTDIR for its newest",
				ArgsUsage: "HOSTDIR[/NAME]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "dir", Value: "./crashes", Usage: "store `DIR`"},
					&cli.StringFlag{Name: "color", Value: "auto", Usage: "highlight panic/oops/BUG lines: `WHEN` (auto, always, never)"},
				},
				OnUsageError: usageErr,
				Action: func(ctx context.Context, cmd *cli.Command) error {
					color := false
					switch cmd.String("color") {
					case "always":
						color = true
					case "never":
					case "auto":
						if f, ok := stdout.(*os.File); ok {
							color = isTerminal(f)
						}
					default:
						return usageError{fmt.Errorf("--color %q: auto, always or never", cmd.String("color"))}
					}
					if cmd.Args().Len() != 1 {
						return usageError{errors.New("show: want one HOSTDIR[/NAME], an id as catcher ls prints it")}
					}
					d, err := catalog.Find(cmd.String("dir"), cmd.Args().First())
					switch {
					case errors.Is(err, catalog.ErrNotFound):
						return codedError{err, exitNoDump}
					case errors.Is(err, catalog.ErrBadID):
						return usageError{err}
					case err != nil:
						return err
					}
					return catalog.Show(stdout, d, color)
				},
			},
			manCommand(stdout),
		},
	}
}

func usageErr(ctx context.Context, cmd *cli.Command, err error, isSubcommand bool) error {
	return usageError{err}
}

func portArg(p int) (uint16, error) {
	if p < 1 || p > 65535 {
		return 0, usageError{fmt.Errorf("port %d out of range", p)}
	}
	return uint16(p), nil
}

// pipe is what a source of the pipeline gets: the engine (started, the
// previous run's spool recovered), a Feeder, the metrics, the log and the
// priority gate its receivers report their backlogs to.
type pipe struct {
	e    *reassembly.Engine
	f    *reassembly.Feeder
	m    *metrics.Metrics
	log  *slog.Logger
	gate *priority.Gate
}

// listenUDP is the listen command's source: --sockets sockets in a
// SO_REUSEPORT group steered by dump (package steer), each read by its
// own goroutine into its own shard.
func listenUDP(ctx context.Context, cmd *cli.Command, p *pipe) error {
	n := p.e.Config().Shards
	if cmd.IsSet("sockets") {
		n = cmd.Int("sockets")
	}
	var prog []bpf.RawInstruction
	if n > 1 {
		var err error
		if prog, err = steer.Program(n); err != nil {
			return err
		}
	}
	conns, progErr, err := source.ListenUDPGroup(ctx, cmd.String("listen"), cmd.Int("rcvbuf"), n, prog)
	if err != nil {
		return err
	}
	if progErr != nil {
		p.log.Warn("cannot steer packets to sockets by dump; the kernel's hash by address is used and packets are passed between workers", "err", progErr)
	}
	// The kernel reports twice the buffer granted (the rest is for its
	// bookkeeping).
	kernel := source.RecvBufSize(conns[0])
	p.log.Info("listening", "addr", conns[0].LocalAddr().String(), "sockets", len(conns), "rcvbuf", kernel/2, "rcvbuf_kernel", kernel)
	if want := cmd.Int("rcvbuf"); kernel != 0 && kernel/2 < want {
		p.log.Warn("socket receive buffer smaller than --rcvbuf: raise net.core.rmem_max (see docs/catcher.md)", "want", want, "got", kernel/2)
	}
	if onListen != nil {
		onListen(conns[0].LocalAddr())
	}
	go func() {
		<-ctx.Done()
		for _, c := range conns {
			c.Close()
		}
	}()
	errs := make(chan error, len(conns))
	for i, c := range conns {
		r := p.e.NewReader(i)
		flag := p.gate.Receiver()
		bl := &source.Backlog{High: source.BacklogHigh(c), Set: flag.Set}
		go func() {
			err := source.ReadBatches(c, r.Batch, bl)
			flag.Set(false)
			errs <- err
		}()
	}
	var first error
	for range conns {
		if err := <-errs; err != nil && first == nil {
			first = err
			for _, c := range conns { // one reader failed: stop the others
				c.Close()
			}
		}
	}
	return first
}

// pipeline sets up the engine, events, exec and metrics from the shared
// flags, replays the spool a killed run left, runs src until it returns or
// SIGINT/SIGTERM, then stores every in-flight dump as partial.
func pipeline(ctx context.Context, cmd *cli.Command, stdout, stderr io.Writer, src func(context.Context, *pipe) error) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmd.String("log-level"))); err != nil {
		return usageError{fmt.Errorf("--log-level %q: debug, info, warn or error", cmd.String("log-level"))}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// A soft limit: a storm of 100,000 dumps in flight is some 110 MiB of
	// state, which the collector's default (GOGC 100) lets grow to twice
	// that before collecting. GOMEMLIMIT, if set, wins over the default.
	if hl := cmd.Int("heap-limit"); hl > 0 && (cmd.IsSet("heap-limit") || os.Getenv("GOMEMLIMIT") == "") {
		debug.SetMemoryLimit(int64(hl))
	}
	memBytes := int64(cmd.Int("mem-buffers"))
	if memBytes == 0 {
		memBytes = -1 // none (the engine's zero value is its default)
	}
	mdb := cmd.Int("max-dump-bytes") // checked by checkFlags

	var evOut io.Writer = stdout
	if p := cmd.String("events"); p != "-" && p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		evOut = f
	}
	events := event.NewWriter(evOut)
	var ixu *index.Updater
	var ix *index.DB
	var q catalog.Querier = catalog.Scanner{Dir: cmd.String("dir")}
	if p := indexPath(cmd); p != "" {
		// The index serves listing and the pages; storing dumps must
		// go on without it.
		if x, err := index.Open(p, cmd.String("dir")); err != nil {
			log.Error("no index: the pages and ls will read every sidecar", "err", err)
		} else {
			defer x.Close()
			ix, q = x, x
		}
	}
	var execer *hook.Runner
	var mt *metrics.Metrics
	gate := &priority.Gate{}

	cfg := reassembly.Config{
		Dir: cmd.String("dir"), Idle: cmd.Duration("idle"), Retain: cmd.Duration("retain"),
		MaxDumps: cmd.Int("max-dumps"), MaxDumpBytes: uint32(mdb), MaxPerSource: cmd.Int("max-per-source"),
		WriteBuffers: cmd.Int("write-buffers"), OpenFiles: cmd.Int("open-files"), MemBytes: memBytes, StoreWorkers: cmd.Int("store-workers"), Shards: cmd.Int("workers"), Logger: log,
		Analyze: triage.Annotate, Gate: gate,
		OnStored: func(m *store.Meta, logPath, metaPath string) {
			ev := event.New(m, logPath, metaPath)
			log.Info("dump stored", "host", ev.Host, "boot_id", ev.BootID, "dump_seq", ev.DumpSeq,
				"complete", ev.Complete, "missing_bytes", ev.MissingBytes, "log", ev.Log)
			if err := events.Write(ev); err != nil {
				log.Error("cannot write event", "err", err)
			}
			mt.Events.Inc()
			if execer != nil {
				execer.Submit(ev)
			}
			if ixu != nil {
				rec, err := index.RecordOf(m, metaPath)
				if err != nil {
					log.Error("cannot record the dump in the index; the next sync will", "meta", metaPath, "err", err)
					return
				}
				ixu.Submit(rec)
			}
		},
	}
	e, err := reassembly.NewEngine(cfg)
	if err != nil {
		return err
	}
	mt = e.Metrics()
	mt.RegisterRuntime()
	if want := cmd.Int("open-files"); cmd.IsSet("open-files") && e.Config().OpenFiles < want {
		log.Warn("--open-files lowered to the open-file limit less 256 (raise ulimit -n, or LimitNOFILE in systemd)", "want", want, "got", e.Config().OpenFiles)
	}
	if ix != nil {
		ixu = &index.Updater{Index: ix, Log: log, Wait: gate.Wait}
		ixu.Start()
		defer ixu.Close() // after the engine's Close (deferred calls run last first)
	}
	if a := cmd.String("http"); hasFlag(cmd, "http") && a != "" {
		srv := &web.Server{Dir: cmd.String("dir"), Q: q, Log: log}
		closeHTTP, err := serveHTTP(ctx, a, srv, func(mux *http.ServeMux) {
			mux.Handle("/metrics", promhttp.HandlerFor(mt.Registry, promhttp.HandlerOpts{}))
		}, log)
		if err != nil {
			return err
		}
		defer closeHTTP()
	}
	if c := cmd.String("exec"); c != "" {
		execer = &hook.Runner{Cmd: c, Timeout: cmd.Duration("exec-timeout"), Max: cmd.Int("exec-max"), Log: log, Runs: mt.ExecRuns}
		execer.Start()
	}
	if a := cmd.String("metrics"); a != "" {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(mt.Registry, promhttp.HandlerOpts{}))
		if cmd.Bool("pprof") {
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		}
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		log.Info("serving metrics", "addr", ln.Addr().String())
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	e.Start()
	if _, err := e.Recover(); err != nil {
		e.Close()
		return err
	}
	f := e.NewFeeder()
	srcErr := src(ctx, &pipe{e: e, f: f, m: mt, log: log, gate: gate})
	f.Flush()
	log.Info("stopping: storing dumps in flight")
	e.Close()
	if execer != nil {
		execer.Close()
	}
	return srcErr
}
