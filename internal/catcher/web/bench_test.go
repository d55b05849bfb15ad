package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/index"
	"github.com/netoops/netoops/internal/catcher/index/synthetic"
)

// BenchmarkPages is the server time of the pages over an index of
// 100,000 synthetic dumps (internal/catcher/index's TestSameAnswersAsScan
// checks the index's answers): the groups page with its chart and
// timelines (and its later pages), a group's pages of dumps, a host's
// dumps, the chart, and the groups and a group filtered by time (since
// 1h, 24h, 7d), release, host and their combinations. The clock is
// 17m03s after the newest hour of dumps, so a since= window starts
// inside an hour, as it does on a real clock.
func BenchmarkPages(b *testing.B) {
	dir, err := os.MkdirTemp("", "netoops-web-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := synthetic.Write(dir, 100_000, 42); err != nil {
		b.Fatal(err)
	}
	x, err := index.Open(index.DefaultPath(dir), dir)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	now := synthetic.Epoch.Add(7*24*time.Hour + 17*time.Minute + 3*time.Second)
	h := (&Server{Dir: dir, Q: x, Now: func() time.Time { return now }}).Handler()
	gs, _, _ := x.Groups(context.Background(), catalog.Filter{}, catalog.Page{Limit: 1})
	ds, _, _ := x.Dumps(context.Background(), catalog.Filter{}, catalog.Page{Limit: 1})
	// The biggest group: the most pages of dumps.
	all, _, _ := x.Groups(context.Background(), catalog.Filter{}, catalog.Page{})
	big := all[0]
	for _, g := range all {
		if g.Dumps > big.Dumps {
			big = g
		}
	}
	// A host and release of the biggest group's newest dump: the
	// group's page filtered by them has dumps.
	bd, _, _ := x.Dumps(context.Background(), catalog.Filter{Signature: big.Signature}, catalog.Page{Limit: 1})
	host, rel := url.QueryEscape(bd[0].Dir), url.QueryEscape(bd[0].Release)
	grp, bigGrp := "/group/"+gs[0].Signature, "/group/"+big.Signature
	for _, c := range []struct{ name, path string }{
		{"groups", "/"},
		{"groups-page-2", "/?page=2"},
		{"groups-page-5", "/?page=5"},
		{"group", grp},
		{"group-page-5", bigGrp + "?page=5"},
		{"group-big-page-100", bigGrp + fmt.Sprintf("?page=%d", big.Dumps/100)},
		{"host", "/host/" + url.PathEscape(ds[0].Dir)},
		{"host-since-1d", "/host/" + url.PathEscape(ds[0].Dir) + "?since=24h"},
		{"chart-7d", "/chart?hours=168"},
		{"chart-7d-release", "/chart?hours=168&release=7.2.1-amd64"},
		{"groups-since-1h", "/?since=1h"},
		{"groups-since-1d", "/?since=24h"},
		{"groups-since-1d-page-2", "/?since=24h&page=2"},
		{"groups-since-7d", "/?since=7d"},
		{"groups-release", "/?release=7.2.1-amd64"},
		{"groups-release-page-2", "/?release=7.2.1-amd64&page=2"},
		{"groups-release-since-1h", "/?release=7.2.1-amd64&since=1h"},
		{"groups-release-since-1d", "/?release=7.2.1-amd64&since=24h"},
		{"groups-release-since-7d", "/?release=7.2.1-amd64&since=7d"},
		{"groups-host", "/?host=" + host},
		{"groups-host-release-since-7d", "/?host=" + host + "&release=" + rel + "&since=7d"},
		{"group-since-1h", bigGrp + "?since=1h"},
		{"group-since-1d", bigGrp + "?since=24h"},
		{"group-since-1d-page-2", bigGrp + "?since=24h&page=2"},
		{"group-since-7d", bigGrp + "?since=7d"},
		{"group-since-7d-page-20", bigGrp + "?since=7d&page=20"},
		{"group-release", bigGrp + "?release=7.2.1-amd64"},
		{"group-release-page-5", bigGrp + "?release=7.2.1-amd64&page=5"},
		{"group-release-since-1d", bigGrp + "?release=7.2.1-amd64&since=24h"},
		{"group-host", bigGrp + "?host=" + host},
		{"group-host-release-since-7d", bigGrp + "?host=" + host + "&release=" + rel + "&since=7d"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", c.path, rec.Code, rec.Body)
				}
				io.Discard.Write(rec.Body.Bytes())
			}
		})
	}
}
