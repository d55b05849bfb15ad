package web

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/store"
)

// load reads the sidecar of the dump in the request's path.
func (s *Server) load(r *http.Request) (*catalog.Stored, os.FileInfo, error) {
	d, err := catalog.Load(s.Dir, r.PathValue("dir")+"/"+r.PathValue("name"))
	if err != nil {
		return nil, nil, err
	}
	fi, err := os.Stat(d.MetaPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", catalog.ErrNotFound, err)
	}
	return d, fi, nil
}

// etag names a version of a dump's page: the sidecar is replaced (with
// the log) whenever the dump is stored again; the server's start time
// stands for the version of the page's rendering.
func (s *Server) etag(fi os.FileInfo) string {
	return `"` + strconv.FormatInt(s.started.UnixNano(), 36) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "-" + strconv.FormatInt(fi.Size(), 36) + `"`
}

type reportView struct {
	store.Report
	Anchor string
}

func (s *Server) dump(w http.ResponseWriter, r *http.Request) {
	d, fi, err := s.load(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tag := s.etag(fi)
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f, err := os.Open(d.LogPath)
	var size int64
	if err == nil {
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
	}
	reports := make([]reportView, len(d.Reports))
	for i, rep := range d.Reports {
		reports[i] = reportView{Report: rep, Anchor: fmt.Sprintf("report-%d", i+1)}
	}
	dir, name := r.PathValue("dir"), r.PathValue("name")
	title := d.Title
	if title == "" {
		title = "no crash report found"
	}
	when := d.FirstPacket
	if d.DumpTime != nil {
		when = *d.DumpTime
	}
	data := struct {
		Base
		D        *catalog.Stored
		Dir      string
		Name     string
		HostName string
		When     time.Time
		Reports  []reportView
		SigPath  string
		LogSize  int64
		LogErr   string
	}{s.baseTo("/", title), d, dir, name, hostName(dir, d.Host), when, reports, sigPath(d.Signature), size, ""}
	if err != nil {
		data.LogErr = err.Error()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.tmpl.ExecuteTemplate(w, "dump_top.html", data); err != nil {
		s.Log.Warn("web: cannot render page", "page", "dump", "err", err)
		return
	}
	if f != nil && data.LogErr == "" {
		bw := bufio.NewWriterSize(w, 32<<10)
		if err := writeLog(bw, f, d.Reports); err != nil {
			s.Log.Warn("web: cannot read log", "log", d.LogPath, "err", err)
		}
		bw.Flush()
	}
	if err := s.tmpl.ExecuteTemplate(w, "dump_bottom.html", data); err != nil {
		s.Log.Warn("web: cannot render page", "page", "dump", "err", err)
	}
}

// hot are lines worth a look even outside a recognised report.
var hot = regexp.MustCompile(`Kernel panic|\bpanic\b|\bOops\b|\bBUG\b|\bWARNING\b`)

var gapLine = regexp.MustCompile(`^\[netoops: \d+ bytes missing at offset \d+\]$`)

// writeLog streams the log as HTML, a line at a time (never the whole
// log in memory): the part before the first report folded in a
// <details>, each report's lines marked, its header line and other
// panic/Oops/BUG/WARNING lines highlighted, gap markers marked, every
// byte escaped.
func writeLog(w *bufio.Writer, f io.Reader, reports []store.Report) error {
	br := bufio.NewReaderSize(f, 64<<10)
	var off int64
	foldEnd := int64(0)
	if len(reports) > 0 {
		foldEnd = reports[0].Start
	}
	open := false // inside the <details>
	if foldEnd > 0 {
		fmt.Fprintf(w, `<details class="boot"><summary>Boot and earlier messages (%d bytes before the first crash report): show</summary><pre class="log">`, foldEnd)
		open = true
	} else {
		w.WriteString(`<pre class="log">`)
	}
	ri := 0 // the report the next lines may be in
	lineNo := 0
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line[:0], chunk...)
		for err == bufio.ErrBufferFull {
			// A very long line: keep reading it (bounded by the
			// log's size, which the store bounds).
			chunk, err = br.ReadSlice('\n')
			line = append(line, chunk...)
		}
		if len(line) == 0 && err != nil {
			break
		}
		start := off
		off += int64(len(line))
		lineNo++
		if open && start >= foldEnd {
			w.WriteString(`</pre></details><pre class="log">`)
			open = false
		}
		for ri < len(reports) && start >= reports[ri].End {
			ri++
		}
		text := bytes.TrimRight(line, "\r\n")
		class := ""
		anchor := ""
		if ri < len(reports) && start >= reports[ri].Start && start < reports[ri].End {
			class = "r"
			if start == reports[ri].Start {
				anchor = fmt.Sprintf(` id="report-%d"`, ri+1)
			}
			if start >= reports[ri].HeaderStart && start < reports[ri].HeaderEnd {
				class = "r hot"
			}
		}
		if class != "r hot" && hot.Match(text) {
			if class == "" {
				class = "hot"
			} else {
				class = "r hot"
			}
		}
		if gapLine.Match(text) {
			class = "gap"
		}
		fmt.Fprintf(w, `<span id="L%d"`, lineNo)
		if class != "" {
			fmt.Fprintf(w, ` class="%s"`, class)
		}
		w.WriteString(">")
		if anchor != "" {
			fmt.Fprintf(w, `<a%s></a>`, anchor)
		}
		writeEscaped(w, text)
		w.WriteString("</span>") // block spans: a newline here would be an empty line
		if err != nil {
			break
		}
	}
	if open {
		w.WriteString(`</pre></details>`)
	} else {
		w.WriteString(`</pre>`)
	}
	return nil
}

// writeEscaped writes text escaped for HTML, control characters (but
// tab) shown as U+FFFD.
func writeEscaped(w *bufio.Writer, text []byte) {
	clean := true
	for _, c := range text {
		if c < 0x20 && c != '\t' || c == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		b := make([]byte, 0, len(text))
		for _, c := range text {
			if c < 0x20 && c != '\t' || c == 0x7f {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, c)
			}
		}
		text = b
	}
	w.WriteString(html.EscapeString(string(text)))
}

// raw serves the log file as it is stored, as a download.
func (s *Server) raw(w http.ResponseWriter, r *http.Request) {
	d, _, err := s.load(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := os.Open(d.LogPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w: the log %s is gone", catalog.ErrNotFound, d.Log)
		}
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": r.PathValue("name") + ".log"}))
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", st.ModTime(), f)
}
