package web

import (
	"context"
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
// timelines, a group's first page of dumps, a host's dumps, the chart,
// and the groups and a group filtered by time and release.
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
	now := synthetic.Epoch.Add(7 * 24 * time.Hour)
	h := (&Server{Dir: dir, Q: x, Now: func() time.Time { return now }}).Handler()
	gs, _, _ := x.Groups(context.Background(), catalog.Filter{}, catalog.Page{Limit: 1})
	ds, _, _ := x.Dumps(context.Background(), catalog.Filter{}, catalog.Page{Limit: 1})
	for _, c := range []struct{ name, path string }{
		{"groups", "/"},
		{"group", "/group/" + gs[0].Signature},
		{"group-page-5", "/group/" + gs[0].Signature + "?page=5"},
		{"host", "/host/" + url.PathEscape(ds[0].Dir)},
		{"chart-7d", "/chart?hours=168"},
		{"groups-since-1d", "/?since=24h"},
		{"groups-release", "/?release=7.2.1-amd64"},
		{"groups-release-since-1d", "/?release=7.2.1-amd64&since=24h"},
		{"group-since-1d", "/group/" + gs[0].Signature + "?since=24h"},
		{"group-release", "/group/" + gs[0].Signature + "?release=7.2.1-amd64"},
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
