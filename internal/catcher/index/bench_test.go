package index

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
)

// benchDumps is the store size of the benchmarks.
const benchDumps = 100_000

var bench struct {
	once sync.Once
	dir  string // benchDumps synthetic sidecars
	x    *DB    // their index, synced
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.x != nil {
		bench.x.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchStore writes the synthetic store and syncs its index, once.
func benchStore(b *testing.B) (string, *DB) {
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "netoops-index-bench-")
		if bench.err != nil {
			return
		}
		writeSynthetic(b, bench.dir, benchDumps, 42)
		bench.x, bench.err = Open(DefaultPath(bench.dir), bench.dir)
		if bench.err == nil {
			_, bench.err = bench.x.Sync(context.Background())
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.dir, bench.x
}

// BenchmarkQueries is what the web page and catcher ls ask of an index of
// 100,000 dumps (TestSameAnswersAsScan checks the answers): a page of 50
// groups, of 50 dumps (first and 20th), a group's dumps, a host's dumps,
// the groups of the last day, and the chart's 48 hours of buckets.
func BenchmarkQueries(b *testing.B) {
	_, x := benchStore(b)
	ctx := context.Background()
	end := synthEpoch.Add(7 * 24 * time.Hour)
	ds, _, err := x.Dumps(ctx, catalog.Filter{}, catalog.Page{Limit: 1, Offset: 5000})
	if err != nil || len(ds) != 1 {
		b.Fatal(err)
	}
	sample := ds[0]
	gs, _, _ := x.Groups(ctx, catalog.Filter{}, catalog.Page{Limit: 1})
	for _, c := range []struct {
		name string
		run  func() (int, error)
	}{
		{"groups-page", func() (int, error) {
			g, _, err := x.Groups(ctx, catalog.Filter{}, catalog.Page{Limit: 50})
			return len(g), err
		}},
		{"dumps-page", func() (int, error) {
			d, _, err := x.Dumps(ctx, catalog.Filter{}, catalog.Page{Limit: 50})
			return len(d), err
		}},
		{"dumps-page-20", func() (int, error) {
			d, _, err := x.Dumps(ctx, catalog.Filter{}, catalog.Page{Limit: 50, Offset: 950})
			return len(d), err
		}},
		{"group-dumps-page", func() (int, error) {
			d, _, err := x.Dumps(ctx, catalog.Filter{Signature: gs[0].Signature}, catalog.Page{Limit: 50})
			return len(d), err
		}},
		{"host-dumps", func() (int, error) {
			d, _, err := x.Dumps(ctx, catalog.Filter{Host: sample.Dir}, catalog.Page{Limit: 200})
			return len(d), err
		}},
		{"groups-last-day", func() (int, error) {
			g, _, err := x.Groups(ctx, catalog.Filter{Since: end.Add(-24 * time.Hour)}, catalog.Page{Limit: 50})
			return len(g), err
		}},
		{"chart-48h", func() (int, error) {
			h, err := x.Hourly(ctx, catalog.Filter{Since: end.Add(-48 * time.Hour), Until: end})
			return len(h), err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				n, err := c.run()
				if err != nil || n == 0 {
					b.Fatalf("%d rows, %v", n, err)
				}
			}
		})
	}
}

// BenchmarkFiltered is the filtered questions of catcher ls and the
// pages (--signature, --release, --host, --since 1h, 24h, 7d and their
// combinations) over the same index: groups (a page, and the second
// page), a page of dumps with the total (the first, and the tenth), the
// chart's buckets. The windows start at a time that is not on the hour
// (as ?since=24h and --since 24h give): the hour holds about 600 of the
// 100,000 dumps, the day about 14,000, the week all but a few; a release
// has about a quarter of the dumps, the biggest group about an eighth.
func BenchmarkFiltered(b *testing.B) {
	_, x := benchStore(b)
	ctx := context.Background()
	end := synthEpoch.Add(7 * 24 * time.Hour)
	day := end.Add(-24*time.Hour + 17*time.Minute + 3*time.Second)
	ds, _, err := x.Dumps(ctx, catalog.Filter{}, catalog.Page{Limit: 1, Offset: 5000})
	if err != nil || len(ds) != 1 {
		b.Fatal(err)
	}
	host := ds[0].Dir
	gs, _, _ := x.Groups(ctx, catalog.Filter{}, catalog.Page{})
	big := gs[0]
	for _, g := range gs {
		if g.Dumps > big.Dumps {
			big = g
		}
	}
	const rel = "7.2.1-amd64"
	hour := end.Add(-time.Hour + 17*time.Minute + 3*time.Second)
	week := end.Add(-7*24*time.Hour + 17*time.Minute + 3*time.Second)
	filters := []struct {
		name string
		f    catalog.Filter
	}{
		{"none", catalog.Filter{}},
		{"since-1h", catalog.Filter{Since: hour}},
		{"since-1d", catalog.Filter{Since: day}},
		{"since-6d", catalog.Filter{Since: day.Add(-5 * 24 * time.Hour)}},
		{"since-7d", catalog.Filter{Since: week}},
		{"release", catalog.Filter{Release: rel}},
		{"release-since-1d", catalog.Filter{Release: rel, Since: day}},
		{"signature", catalog.Filter{Signature: big.Signature}},
		{"signature-since-1d", catalog.Filter{Signature: big.Signature, Since: day}},
		{"signature-release", catalog.Filter{Signature: big.Signature, Release: rel}},
		{"signature-release-since-1d", catalog.Filter{Signature: big.Signature, Release: rel, Since: day}},
		{"release-since-1h", catalog.Filter{Release: rel, Since: hour}},
		{"release-since-7d", catalog.Filter{Release: rel, Since: week}},
		{"signature-since-1h", catalog.Filter{Signature: big.Signature, Since: hour}},
		{"host", catalog.Filter{Host: host}},
		{"host-since-6d", catalog.Filter{Host: host, Since: day.Add(-5 * 24 * time.Hour)}},
		{"host-release", catalog.Filter{Host: host, Release: rel}},
		{"host-signature-release-since-7d", catalog.Filter{Host: host, Signature: big.Signature, Release: rel, Since: week}},
	}
	// A page (limit, offset) must have rows if the filter has more
	// than offset matches.
	pageCheck := func(b *testing.B, what string, n, total, offset int, err error) {
		if err != nil || n == 0 && total > offset {
			b.Fatalf("%d %s of %d, %v", n, what, total, err)
		}
	}
	for _, pg := range []struct {
		name string
		p    catalog.Page
	}{{"groups/", catalog.Page{Limit: 50}}, {"groups-page-2/", catalog.Page{Limit: 50, Offset: 50}}} {
		for _, c := range filters {
			b.Run(pg.name+c.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					g, n, err := x.Groups(ctx, c.f, pg.p)
					pageCheck(b, "groups", len(g), n, pg.p.Offset, err)
				}
			})
		}
	}
	for _, pg := range []struct {
		name string
		p    catalog.Page
	}{{"dumps/", catalog.Page{Limit: 50}}, {"dumps-page-10/", catalog.Page{Limit: 50, Offset: 450}}} {
		for _, c := range filters {
			b.Run(pg.name+c.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					d, n, err := x.Dumps(ctx, c.f, pg.p)
					pageCheck(b, "dumps", len(d), n, pg.p.Offset, err)
				}
			})
		}
	}
	for _, c := range filters {
		// The chart of the last 48 hours, as the pages ask for it.
		f := c.f
		if start := end.Add(-48 * time.Hour); f.Since.Truncate(time.Hour).Before(start) {
			f.Since = start
		} else {
			f.Since = f.Since.Truncate(time.Hour)
		}
		f.Until = end
		_, n, err := x.Dumps(ctx, f, catalog.Page{Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("chart-48h/"+c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if h, err := x.Hourly(ctx, f); err != nil || len(h) == 0 && n > 0 {
					b.Fatalf("%d buckets, %v", len(h), err)
				}
			}
		})
	}
}

// BenchmarkRebuild builds the index of 100,000 dumps from their
// sidecars (a missing or replaced index file); run with -benchtime 1x.
func BenchmarkRebuild(b *testing.B) {
	dir, _ := benchStore(b)
	b.ResetTimer() // not the writing of the store (the first run's)
	for i := 0; i < b.N; i++ {
		p := b.TempDir() + "/catalog.sqlite"
		x, err := Open(p, dir)
		if err != nil {
			b.Fatal(err)
		}
		st, err := x.Sync(context.Background())
		if err != nil || st.Read != benchDumps {
			b.Fatalf("%+v %v", st, err)
		}
		x.Close()
	}
}

// BenchmarkSyncUnchanged is a Sync of the 100,000-dump store when
// nothing changed: a stat per host directory.
func BenchmarkSyncUnchanged(b *testing.B) {
	_, x := benchStore(b)
	x.RacyWindow = 0
	x.Sync(context.Background())
	b.ResetTimer() // not the writing of the store (the first run's)
	for i := 0; i < b.N; i++ {
		if st, err := x.Sync(context.Background()); err != nil || st.Listed != 0 {
			b.Fatalf("%+v %v", st, err)
		}
	}
}

// BenchmarkPut records stored dumps in the index of 100,000, as the
// Updater does: a dump alone in its transaction, and batches of 100 (a
// storm), per dump.
func BenchmarkPut(b *testing.B) {
	_, x := benchStore(b)
	ds, _, _ := x.Dumps(context.Background(), catalog.Filter{}, catalog.Page{Limit: 1})
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch-%d", n), func(b *testing.B) {
			recs := make([]Record, 0, n)
			for i := 0; i < b.N; i++ {
				r := Record{Entry: ds[0]}
				r.Name = fmt.Sprintf("bench-put-%d", i)
				r.When = r.When.Add(time.Duration(i) * time.Millisecond)
				recs = append(recs, r)
				if len(recs) == n || i == b.N-1 {
					if err := x.Put(context.Background(), recs...); err != nil {
						b.Fatal(err)
					}
					recs = recs[:0]
				}
			}
		})
	}
}
