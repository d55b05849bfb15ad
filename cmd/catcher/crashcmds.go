package main

// The crash triage commands and flags: ls's filters and --group, the
// index (--index), the pages (--http, catcher web).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/index"
	"github.com/netoops/netoops/internal/catcher/web"
	"github.com/urfave/cli/v3"
)

// defaultWebAddr is where catcher web serves by default.
const defaultWebAddr = "127.0.0.1:9669"

func indexFlag() cli.Flag {
	return &cli.StringFlag{Name: "index", DefaultText: "DIR/.index/catalog.sqlite", Usage: "keep the index of the stored dumps in `FILE` (off: none)"}
}

func httpFlag() cli.Flag {
	return &cli.StringFlag{Name: "http", Usage: "serve the crash pages, /metrics and /healthz on http://`ADDR` (a port alone is 127.0.0.1:PORT)"}
}

// indexPath is --index's file, "" for off.
func indexPath(cmd *cli.Command) string {
	p := cmd.String("index")
	switch p {
	case "off":
		return ""
	case "":
		return index.DefaultPath(cmd.String("dir"))
	}
	return p
}

// httpAddr completes a bare port to a loopback address.
func httpAddr(a string) string {
	if _, err := strconv.Atoi(a); err == nil {
		return "127.0.0.1:" + a
	}
	return a
}

var sigFlagRE = regexp.MustCompile(`^([0-9a-f]{16}|none)$`)

func lsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dir", Value: "./crashes", Usage: "store `DIR`"},
		indexFlag(),
		&cli.BoolFlag{Name: "group", Usage: "one line per crash signature: dumps, hosts, releases, first and last seen, newest first"},
		&cli.StringFlag{Name: "signature", Usage: "only dumps of crash signature `SIG` (16 hex digits; none: dumps without a crash report)"},
		&cli.StringFlag{Name: "host", Usage: "only dumps of `HOST` (host name or host directory)"},
		&cli.StringFlag{Name: "release", Usage: "only dumps of kernel release `RELEASE`"},
		&cli.StringFlag{Name: "since", Usage: "only dumps from `TIME` on: RFC 3339, a date (2006-01-02, UTC) or a duration ago (90m, 24h, 7d)"},
		&cli.IntFlag{Name: "limit", Usage: "print at most `N` lines (default all)"},
	}
}

// lsFilter reads ls's filter flags; a bad value is a usage error naming
// its flag.
func lsFilter(cmd *cli.Command, now time.Time) (catalog.Filter, error) {
	var f catalog.Filter
	if s := cmd.String("signature"); cmd.IsSet("signature") {
		if !sigFlagRE.MatchString(s) {
			return f, usageError{fmt.Errorf("--signature %q: 16 lower-case hex digits as catcher ls --group prints them, or none", s)}
		}
		if s == "none" {
			f.NoReport = true
		} else {
			f.Signature = s
		}
	}
	if cmd.IsSet("host") {
		if f.Host = cmd.String("host"); f.Host == "" {
			return f, usageError{errors.New("--host \"\": give a host name or host directory")}
		}
	}
	if cmd.IsSet("release") {
		if f.Release = cmd.String("release"); f.Release == "" {
			return f, usageError{errors.New("--release \"\": give a kernel release")}
		}
	}
	if cmd.IsSet("since") {
		t, err := web.ParseSince(cmd.String("since"), now)
		if err != nil {
			return f, usageError{fmt.Errorf("--%w", err)}
		}
		f.Since = t
	}
	if n := cmd.Int("limit"); n < 0 {
		return f, usageError{fmt.Errorf("--limit %d: 0 (all) or more", n)}
	}
	return f, nil
}

// openQuerier opens and syncs the index of the store in dir; if it
// cannot (a read-only store, --index off), it scans the sidecars.
func openQuerier(ctx context.Context, cmd *cli.Command, stderr io.Writer) (catalog.Querier, func(), error) {
	dir := cmd.String("dir")
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, err
	}
	if p := indexPath(cmd); p != "" {
		x, err := index.Open(p, dir)
		if err == nil {
			if _, err = x.Sync(ctx); err == nil {
				return x, func() { x.Close() }, nil
			}
			x.Close()
		}
		fmt.Fprintf(stderr, "catcher: no index (%v): reading every sidecar\n", err)
	}
	m, err := catalog.Scan(dir)
	return m, func() {}, err
}

func lsAction(ctx context.Context, cmd *cli.Command, stdout, stderr io.Writer) error {
	if cmd.Args().Present() {
		return usageError{fmt.Errorf("ls takes no arguments, got %q", cmd.Args().First())}
	}
	f, err := lsFilter(cmd, time.Now())
	if err != nil {
		return err
	}
	q, done, err := openQuerier(ctx, cmd, stderr)
	if err != nil {
		return err
	}
	defer done()
	page := catalog.Page{Limit: cmd.Int("limit")}
	if cmd.Bool("group") {
		gs, _, err := q.Groups(ctx, f, page)
		if err != nil {
			return err
		}
		writeGroups(stdout, gs)
		return nil
	}
	ds, _, err := q.Dumps(ctx, f, page)
	if err != nil {
		return err
	}
	writeEntries(stdout, ds)
	return nil
}

// printable escapes what a terminal would act on (control characters,
// invalid UTF-8) in text from the network.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// writeEntries prints one line per dump, as catalog.WriteList does, with
// the crash's signature and title after.
func writeEntries(w io.Writer, ds []catalog.Entry) {
	for _, d := range ds {
		state := "complete"
		if !d.Complete {
			state = fmt.Sprintf("partial(-%dB)", d.MissingBytes)
		}
		sig := d.Signature
		if sig == "" {
			sig = "none"
		}
		fmt.Fprintf(w, "%s  %-15s %-8s %9d  %-40s label=%q %q  %s %s\n",
			d.When.UTC().Format(time.RFC3339), state, d.Reason, d.TotalLen, d.ID(), d.Label, d.ReasonText,
			sig, printable(d.Title))
	}
}

// writeGroups prints a header and one line per group.
func writeGroups(w io.Writer, gs []catalog.Group) {
	fmt.Fprintf(w, "%-16s %6s %6s  %-20s  %-20s  %-24s  %s\n", "SIGNATURE", "DUMPS", "HOSTS", "FIRST", "LAST", "RELEASES", "TITLE")
	for _, g := range gs {
		sig, title := g.Signature, printable(g.Title)
		if sig == "" {
			sig, title = "none", "(no crash report found)"
		}
		rel := make([]string, len(g.Releases))
		for i, r := range g.Releases {
			rel[i] = printable(r)
		}
		fmt.Fprintf(w, "%-16s %6d %6d  %-20s  %-20s  %-24s  %s\n", sig, g.Dumps, g.Hosts,
			g.First.UTC().Format(time.RFC3339), g.Last.UTC().Format(time.RFC3339), strings.Join(rel, ","), title)
	}
}

// serveHTTP serves the pages of the store in dir from q (and, if reg is
// set, /metrics) on addr until ctx ends.
func serveHTTP(ctx context.Context, addr string, srv *web.Server, extra func(*http.ServeMux), log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", httpAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	if extra != nil {
		extra(mux)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go hs.Serve(ln)
	log.Info("serving the crash pages", "url", "http://"+ln.Addr().String()+"/")
	if onHTTP != nil {
		onHTTP(ln.Addr())
	}
	return func() { hs.Close() }, nil
}

// onHTTP, when set (by tests), is called with the bound HTTP address.
var onHTTP func(net.Addr)

func webCommand(stdout, stderr io.Writer) *cli.Command {
	return &cli.Command{
		Name:  "web",
		Usage: "serve the crash pages of a store (read-only; e.g. on shared disk)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "./crashes", Usage: "store `DIR`"},
			&cli.StringFlag{Name: "http", Value: defaultWebAddr, Usage: "serve on http://`ADDR` (a port alone is 127.0.0.1:PORT)"},
			indexFlag(),
			&cli.DurationFlag{Name: "refresh", Value: 10 * time.Second, Usage: "bring the index up to date with the store every `DURATION`"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log `LEVEL`: debug, info, warn, error"},
		},
		OnUsageError: usageErr,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageError{fmt.Errorf("web takes no arguments, got %q", cmd.Args().First())}
			}
			var level slog.Level
			if level.UnmarshalText([]byte(cmd.String("log-level"))) != nil {
				return usageError{fmt.Errorf("--log-level %q: debug, info, warn or error", cmd.String("log-level"))}
			}
			if d := cmd.Duration("refresh"); d <= 0 {
				return usageError{fmt.Errorf("--refresh %v: must be more than 0", d)}
			}
			if cmd.String("http") == "" {
				return usageError{errors.New("--http \"\": give ADDR:PORT")}
			}
			if indexPath(cmd) == "" {
				return usageError{errors.New("--index off: catcher web keeps an index (give --index FILE on a writable disk)")}
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			dir := cmd.String("dir")
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return fmt.Errorf("--dir %s: not a store directory (%v)", dir, err)
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			var synced atomic.Int64
			x, err := index.Open(indexPath(cmd), dir)
			if err != nil {
				log.Error("no index (give --index a writable FILE): every page reads every sidecar", "err", err)
				srv := &web.Server{Dir: dir, Q: catalog.Scanner{Dir: dir}, Log: log}
				closeHTTP, err := serveHTTP(ctx, cmd.String("http"), srv, nil, log)
				if err != nil {
					return err
				}
				defer closeHTTP()
				<-ctx.Done()
				return nil
			}
			defer x.Close()
			sync := func() {
				t0 := time.Now()
				st, err := x.Sync(ctx)
				if err != nil {
					if ctx.Err() == nil {
						log.Error("cannot bring the index up to date", "err", err)
					}
					return
				}
				synced.Store(t0.UnixNano())
				log.Debug("index synced", "host_dirs", st.HostDirs, "listed", st.Listed, "read", st.Read, "removed", st.Removed, "took", time.Since(t0))
			}
			sync()
			srv := &web.Server{Dir: dir, Q: x, Log: log, Synced: func() time.Time { return time.Unix(0, synced.Load()) }}
			closeHTTP, err := serveHTTP(ctx, cmd.String("http"), srv, nil, log)
			if err != nil {
				return err
			}
			defer closeHTTP()
			tick := time.NewTicker(cmd.Duration("refresh"))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
					sync()
				}
			}
		},
	}
}
