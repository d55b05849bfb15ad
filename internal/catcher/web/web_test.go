package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/index"
	"github.com/netoops/netoops/internal/catcher/index/synthetic"
	"github.com/netoops/netoops/internal/catcher/ranges"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/triage"
)

// Hostile is what a sender controls: host names, labels, log lines.
const (
	HostileHost  = `"><img src=x onerror=alert(1)>`
	HostileLabel = `<script>window.pwned=1</script>`
	HostileLine  = `<4>[    1.000000] <script>window.pwned=1;alert("log")</script> "><img src=x onerror=window.pwned=2>`
)

// MakeStore writes a small store under dir for the web tests (also the
// browser test): real LKDTM logs from the crashreport corpus on two
// hosts, one partial with a gap, and a hostile host whose log carries
// hostile lines before its panic.
func MakeStore(tb testing.TB, dir string) {
	corpus := "../../crashreport/testdata/corpus/"
	when := time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC)
	s := &store.Store{Dir: dir, FS: store.OSFS{}, Analyze: triage.Annotate}
	if err := s.Init(); err != nil {
		tb.Fatal(err)
	}
	for i, c := range []struct {
		host, file string
		gap        bool
	}{
		{"web-1.example.net", "real-6.12-oops-then-panic-2", false},
		{"web-2.example.net", "real-6.12-oops-then-panic-2", false},
		{"web-2.example.net", "real-6.12-lkdtm-warning", false},
		{"db-7", "real-6.12-sysrq-panic", true},
		{HostileHost, "real-6.12-sysrq-panic", false},
		{"web-1.example.net", "real-6.12-test-dump", false},
	} {
		log, err := os.ReadFile(corpus + c.file + ".log")
		if err != nil {
			tb.Fatal(err)
		}
		if c.host == HostileHost {
			log = append([]byte(HostileLine+"\n"), log...)
		}
		t := when.Add(time.Duration(i) * 37 * time.Minute)
		m := &store.Meta{Host: c.host, HostDir: store.SanitizeName(c.host), Label: HostileLabel,
			BootID: strings.Repeat("0123456789abcdef", 2)[:30] + "0" + string(rune('0'+i)), DumpSeq: 1,
			Release: "6.12.117", Reason: "panic", ReasonText: "sysrq triggered crash", DumpTime: &t,
			FirstPacket: t, LastPacket: t, StoredAt: t, Source: "192.0.2.1:6667", TotalLen: uint32(len(log)),
			ReceivedLen: uint64(len(log)), Missing: []ranges.Range{}, Complete: true}
		if c.gap {
			m.Complete, m.MissingBytes = false, 1000
			m.Missing = []ranges.Range{{Start: 1000, End: 2000}}
			m.ReceivedLen -= 1000
		}
		if _, _, _, _, err := s.StoreDump(m, t, store.LogSource{Mem: log}, make([]byte, 64<<10), "", ""); err != nil {
			tb.Fatal(err)
		}
	}
}

func newTestServer(t *testing.T) (*httptest.Server, string) {
	dir := t.TempDir()
	MakeStore(t, dir)
	q, err := catalog.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Server{Dir: dir, Q: q, Now: func() time.Time {
		return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	}}).Handler())
	t.Cleanup(srv.Close)
	return srv, dir
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestPages(t *testing.T) {
	srv, dir := newTestServer(t)
	resp, body := get(t, srv.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'none'") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("groups: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION", "WARNING in lkdtm_WARNING",
		"kernel panic: sysrq triggered crash", "no crash report found", `<svg class="chart"`, `<svg class="spark"`} {
		if !strings.Contains(body, want) {
			t.Errorf("groups page lacks %q", want)
		}
	}
	q, _ := catalog.Scan(dir)
	gs, _, _ := q.Groups(context.Background(), catalog.Filter{}, catalog.Page{})
	var exc catalog.Group
	for _, g := range gs {
		if g.Title == "BUG: kernel NULL pointer dereference in lkdtm_EXCEPTION" {
			exc = g
		}
	}
	if exc.Dumps != 2 || exc.Hosts != 2 {
		t.Fatalf("group %+v", exc)
	}
	_, body = get(t, srv.URL+"/group/"+exc.Signature)
	if strings.Count(body, `class="open"`) != 2 || !strings.Contains(body, "web-1.example.net") {
		t.Fatalf("group page:\n%s", body)
	}
	ds, _, _ := q.Dumps(context.Background(), catalog.Filter{Signature: exc.Signature}, catalog.Page{})
	resp, body = get(t, srv.URL+"/dump/"+url.PathEscape(ds[0].Dir)+"/"+ds[0].Name)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" ||
		!strings.Contains(body, `class="r hot"><a id="report-1"></a>&lt;1&gt;[    4.326888] BUG: kernel NULL pointer dereference, address: 0000000000000000`) ||
		!strings.Contains(body, `<details class="boot">`) || !strings.Contains(body, `class="r hot"><a id="report-2"></a>&lt;0&gt;[    5.390633] Kernel panic - not syncing: sysrq triggered crash`) {
		t.Fatalf("dump page:\n%s", body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/dump/"+url.PathEscape(ds[0].Dir)+"/"+ds[0].Name, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %v %v", r2, err)
	}
	resp, body = get(t, srv.URL+"/dump/"+url.PathEscape(ds[0].Dir)+"/"+ds[0].Name+"/raw")
	want, _ := os.ReadFile(filepath.Join(dir, ds[0].Dir, ds[0].Log))
	if resp.StatusCode != 200 || body != string(want) || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("raw: %d %v", resp.StatusCode, resp.Header)
	}
	_, body = get(t, srv.URL+"/host/web-2.example.net")
	if strings.Count(body, "<h2>Boot") != 2 || !strings.Contains(body, "WARNING in lkdtm_WARNING") {
		t.Fatalf("host page:\n%s", body)
	}
	// The partial dump shows its missing range and gap marker.
	ds, _, _ = q.Dumps(context.Background(), catalog.Filter{Host: "db-7"}, catalog.Page{})
	_, body = get(t, srv.URL+"/dump/db-7/"+ds[0].Name)
	if !strings.Contains(body, "bytes 1000–2000 (1000 bytes)") || !strings.Contains(body, `class="gap">[netoops: 1000 bytes missing at offset 1000]`) {
		t.Fatalf("partial dump page:\n%s", body)
	}
	_, body = get(t, srv.URL+"/chart?hours=24")
	if !strings.Contains(body, "<rect") {
		t.Fatal("chart without bars")
	}
	resp, _ = get(t, srv.URL+"/static/style.css")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("style: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestHostileEscaped: what senders control is escaped on every page.
func TestHostileEscaped(t *testing.T) {
	srv, dir := newTestServer(t)
	q, _ := catalog.Scan(dir)
	ds, _, _ := q.Dumps(context.Background(), catalog.Filter{Host: HostileHost}, catalog.Page{})
	if len(ds) != 1 {
		t.Fatalf("%d hostile dumps", len(ds))
	}
	pages := []string{"/", "/group/" + ds[0].Signature, "/host/" + url.PathEscape(ds[0].Dir),
		"/dump/" + url.PathEscape(ds[0].Dir) + "/" + ds[0].Name, "/chart"}
	for _, p := range pages {
		resp, body := get(t, srv.URL+p)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d\n%s", p, resp.StatusCode, body)
		}
		for _, bad := range []string{"<script", "<img"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", p, bad)
			}
		}
	}
	_, body := get(t, srv.URL+pages[3])
	for _, want := range []string{"&#34;&gt;&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;window.pwned=1&lt;/script&gt;",
		"&lt;script&gt;window.pwned=1;alert(&#34;log&#34;)&lt;/script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("dump page lacks escaped %q", want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	srv, _ := newTestServer(t)
	for p, code := range map[string]int{
		"/group/xyz": 400, "/group/0123456789abcdef": 404, "/host/nobody": 404, "/dump/nobody/x": 404,
		"/dump/..%2Fetc/passwd": 400, "/?since=yesterday": 400, "/?page=0": 400, "/chart?hours=99999": 400,
		"/dump/db-7/..": 404, "/nothing": 404,
	} {
		resp, body := get(t, srv.URL+p)
		if resp.StatusCode != code {
			t.Errorf("%s: %d, want %d\n%s", p, resp.StatusCode, code, body)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no CSP", p)
		}
	}
}

// TestGroupsChartIsTheChart: the groups page draws its chart from the
// buckets of its groups' timelines when the chart's window is inside
// theirs; it is the chart /chart draws for the same filter and hours,
// legend and titles included, over an index of synthetic dumps.
func TestGroupsChartIsTheChart(t *testing.T) {
	dir := t.TempDir()
	if err := synthetic.Write(dir, 3000, 5); err != nil {
		t.Fatal(err)
	}
	x, err := index.Open(index.DefaultPath(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := synthetic.Epoch.Add(7*24*time.Hour + 17*time.Minute)
	h := (&Server{Dir: dir, Q: x, Now: func() time.Time { return now }}).Handler()
	figure := func(path string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		body := rec.Body.String()
		i, j := strings.Index(body, `<figure class="hours">`), strings.Index(body, `</figure>`)
		if rec.Code != 200 || i < 0 || j < i {
			t.Fatalf("%s: %d, no chart", path, rec.Code)
		}
		return body[i:j]
	}
	for _, q := range []string{"", "?hours=24", "?hours=336", "?hours=400", "?since=24h", "?since=3d&hours=12",
		"?release=7.2.1-amd64&since=1h", "?host=web-00001.example.net"} {
		g, c := figure("/"+q), figure("/chart"+q)
		if g != c {
			t.Errorf("%s: the groups page's chart differs from /chart's", q)
		}
		if !strings.Contains(g, "<rect") {
			t.Errorf("%s: an empty chart", q)
		}
	}
}
