// Package web serves the read-only crash triage pages: crash groups, a
// group's dumps, a host's crashes across boots, one dump with its log,
// and a crashes-per-hour chart. Pages are rendered on the server
// (html/template, SVG charts drawn here); there is no script, and the
// Content-Security-Policy forbids any. Everything from the network
// (host names, labels, log text, titles) goes through html/template's
// escaping or html.EscapeString. Lookups go through catalog.Querier (the
// index); a dump's own page reads its sidecar and streams its log.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the pages of the store in Dir.
type Server struct {
	Dir string           // the store directory
	Q   catalog.Querier  // the index
	Now func() time.Time // default time.Now
	Log *slog.Logger
	// Synced, if set, says when the index was last brought up to date
	// with the store (shown on the pages).
	Synced func() time.Time

	tmpl    *template.Template
	started time.Time
}

// pageSize is how many rows a list page shows.
const pageSize = 100

// Handler returns the pages' handler.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	s.started = time.Now()
	s.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.groups)
	mux.HandleFunc("GET /chart", s.chart)
	mux.HandleFunc("GET /group/{sig}", s.group)
	mux.HandleFunc("GET /host/{dir}", s.host)
	mux.HandleFunc("GET /dump/{dir}/{name}", s.dump)
	mux.HandleFunc("GET /dump/{dir}/{name}/raw", s.raw)
	static, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		fsrv.ServeHTTP(w, r)
	})
	return secure(mux)
}

// csp forbids every script (inline or not), plugins and framing; styles
// and images come only from this server.
const csp = "default-src 'none'; script-src 'none'; object-src 'none'; frame-src 'none'; frame-ancestors 'none'; " +
	"base-uri 'none'; form-action 'self'; style-src 'self'; img-src 'self'"

// secure sets the security headers of every response.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// params are the filters and page of a list page's query string.
type params struct {
	Filter catalog.Filter
	Page   int // from 0
	Hours  int // chart window
	// as given, for the form and the links
	Host, Release, Since string
}

var sigRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// parseParams reads host, release, since (RFC 3339, a date, or a
// duration ago: 90m, 24h, 7d), page and hours.
func (s *Server) parseParams(r *http.Request) (params, error) {
	q := r.URL.Query()
	p := params{Host: q.Get("host"), Release: q.Get("release"), Since: q.Get("since"), Hours: 48}
	p.Filter.Host, p.Filter.Release = p.Host, p.Release
	if p.Since != "" {
		t, err := ParseSince(p.Since, s.Now())
		if err != nil {
			return p, err
		}
		p.Filter.Since = t
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<20 {
			return p, fmt.Errorf("page %q: a number from 1", v)
		}
		p.Page = n - 1
	}
	if v := q.Get("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 24*90 {
			return p, fmt.Errorf("hours %q: 1 to 2160", v)
		}
		p.Hours = n
	}
	return p, nil
}

// ParseSince reads a time as --since and ?since= take it: RFC 3339, a
// date (YYYY-MM-DD, UTC), or a duration before now (90m, 24h, 7d).
func ParseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 && n <= 100000 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("since %q: want an RFC 3339 time, a date (2006-01-02) or a duration ago (90m, 24h, 7d)", v)
}

// query returns the query string of p with page n (from 0).
func (p params) query(page int) string {
	v := url.Values{}
	for k, x := range map[string]string{"host": p.Host, "release": p.Release, "since": p.Since} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if page > 0 {
		v.Set("page", strconv.Itoa(page+1))
	}
	if s := v.Encode(); s != "" {
		return "?" + s
	}
	return ""
}

// pager is the navigation of a list page.
type pager struct {
	Total, From, To int
	Prev, Next      string // links, "" if none
}

func newPager(p params, total, rows int) pager {
	pg := pager{Total: total, From: p.Page*pageSize + 1, To: p.Page*pageSize + rows}
	if rows == 0 {
		pg.From = 0
	}
	if p.Page > 0 {
		pg.Prev = p.query(p.Page - 1)
		if pg.Prev == "" {
			pg.Prev = "?"
		}
	}
	if pg.To < total {
		pg.Next = p.query(p.Page + 1)
	}
	return pg
}

// base is what every page's template gets.
type Base struct {
	Title  string
	Action string // where the filter form goes: "" (this page) or "/"
	Synced time.Time
	Now    time.Time
	P      params
}

// baseTo is base for a page the filters do not apply to: the form
// filters the groups.
func (s *Server) baseTo(action, title string) Base {
	b := s.base(title, params{})
	b.Action = action
	return b
}

func (s *Server) base(title string, p params) Base {
	b := Base{Title: title, Now: s.Now().UTC(), P: p}
	if s.Synced != nil {
		b.Synced = s.Synced().UTC()
	}
	return b
}

// render executes a page template; list pages are never cached without
// asking (the store changes as dumps arrive).
func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if err := s.tmpl.ExecuteTemplate(w, name, data); err != nil {
		s.Log.Warn("web: cannot render page", "page", name, "err", err)
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, errBadRequest):
		code = http.StatusBadRequest
	case errors.Is(err, catalog.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, catalog.ErrBadID):
		code = http.StatusBadRequest
	case errors.Is(err, context.Canceled):
		return
	}
	if code == http.StatusInternalServerError {
		s.Log.Warn("web: request failed", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	s.render(w, "error.html", struct {
		Base
		Code int
		Err  string
	}{s.baseTo("/", http.StatusText(code)), code, err.Error()})
}

var errBadRequest = errors.New("bad request")

func badRequest(err error) error { return fmt.Errorf("%w: %v", errBadRequest, err) }

// sigParam reads a group's path element: 16 hex digits, or "none" for
// the dumps without a crash report.
func sigParam(v string) (catalog.Filter, error) {
	if v == "none" {
		return catalog.Filter{NoReport: true}, nil
	}
	if !sigRE.MatchString(v) {
		return catalog.Filter{}, badRequest(fmt.Errorf("signature %q: 16 hex digits, or none", v))
	}
	return catalog.Filter{Signature: v}, nil
}

// sigPath is a group's path element.
func sigPath(sig string) string {
	if sig == "" {
		return "none"
	}
	return sig
}

// hostName is the host name of a host directory, for display.
func hostName(dir, fallback string) string {
	if h, ok := store.HostOfDir(dir); ok {
		return h
	}
	return fallback
}
