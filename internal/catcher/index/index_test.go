package index

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
	"github.com/netoops/netoops/internal/catcher/store"
)

// queries are the questions compared between the index and a scan:
// every filter alone and the combinations the pages and catcher ls
// ask, with windows on and off the hour (the aggregates' whole hours
// and the edges counted from the dumps), open or closed, ending before
// or after the newest dump, starting before the oldest, at a dump's
// exact time, within one hour and across two.
func queries(sample, older *catalog.Entry) []catalog.Filter {
	day := synthEpoch.Add(48 * time.Hour)
	odd := day.Add(17*time.Minute + 3*time.Second + 5)
	late := synthEpoch.Add(7*24*time.Hour - 30*time.Minute)
	after, before := synthEpoch.Add(8*24*time.Hour), synthEpoch.Add(-time.Hour)
	sig, rel := sample.Signature, sample.Release
	return []catalog.Filter{
		{},
		{Signature: sig},
		{NoReport: true},
		{Host: sample.Dir},
		{Host: sample.Host},
		{Release: "7.2.1-amd64"},
		{Since: day},
		{Since: day, Until: day.Add(24 * time.Hour)},
		{Since: day.Add(90 * time.Minute)},
		{Signature: sig, Release: rel, Since: synthEpoch.Add(time.Hour)},
		{Host: "no-such-host"},
		{Since: odd},
		{Since: late},
		{Since: odd, Until: after},
		{Since: before},
		{Since: before, Until: after},
		{Since: after},
		{Until: odd},
		{Until: before},
		{Until: after},
		{Since: odd, Until: odd.Add(20 * time.Minute)},
		{Since: odd, Until: odd.Add(80 * time.Minute)},
		{Since: odd, Until: odd.Add(30 * time.Hour)},
		{Release: rel, Since: odd},
		{Release: rel, Since: odd, Until: after},
		{Release: rel, Until: odd},
		{Release: "no-such-release"},
		{Release: "no-such-release", Since: odd},
		{Signature: sig, Since: odd},
		{Signature: sig, Since: odd, Until: odd.Add(30 * time.Hour)},
		{Signature: sig, Release: rel},
		{Signature: sig, Release: rel, Since: odd},
		{Signature: sig, Since: sample.When},
		{Signature: sig, Since: sample.When.Add(1)},
		{Signature: sig, Until: sample.When},
		// Older: a window that holds most of the week (counted as the
		// totals less what is before it).
		{Since: older.When},
		{Signature: older.Signature, Since: older.When},
		{Signature: older.Signature, Since: older.When.Add(1)},
		{Signature: older.Signature, Release: older.Release, Since: older.When},
		{Release: older.Release, Since: older.When.Add(1)},
		{Signature: sig, NoReport: true},
		{Signature: "0000000000000000"},
		{NoReport: true, Since: odd},
		{NoReport: true, Release: rel, Since: odd},
		{Host: sample.Dir, Since: odd},
		{Host: sample.Host, Release: rel, Since: day},
		{Host: sample.Dir, Signature: sig, Since: sample.When},
	}
}

var pages = []catalog.Page{{}, {Limit: 50}, {Limit: 50, Offset: 100}, {Limit: 10, Offset: 1 << 20}}

// sameAnswers checks that ix answers every query as a scan of the
// sidecars under dir does.
func sameAnswers(t *testing.T, ix catalog.Querier, dir string, extra ...catalog.Filter) {
	t.Helper()
	ctx := context.Background()
	scan, err := catalog.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Entries) == 0 {
		t.Fatal("no dumps")
	}
	sample, older := &scan.Entries[len(scan.Entries)/3], &scan.Entries[len(scan.Entries)*4/5]
	for _, f := range append(queries(sample, older), extra...) {
		for _, p := range pages {
			want, wn, _ := scan.Dumps(ctx, f, p)
			got, gn, err := ix.Dumps(ctx, f, p)
			if err != nil {
				t.Fatalf("Dumps(%+v, %+v): %v", f, p, err)
			}
			if gn != wn || !reflect.DeepEqual(got, want) {
				t.Fatalf("Dumps(%+v, %+v): %d rows of %d, want %d of %d\n got %+v\nwant %+v", f, p, len(got), gn, len(want), wn, first(got), first(want))
			}
			wg, wgn, _ := scan.Groups(ctx, f, p)
			gg, ggn, err := ix.Groups(ctx, f, p)
			if err != nil {
				t.Fatalf("Groups(%+v, %+v): %v", f, p, err)
			}
			if ggn != wgn || !reflect.DeepEqual(gg, wg) {
				t.Fatalf("Groups(%+v, %+v): %d of %d, want %d of %d\n got %+v\nwant %+v", f, p, len(gg), ggn, len(wg), wgn, gg, wg)
			}
		}
		wb, _ := scan.Hourly(ctx, f)
		gb, err := ix.Hourly(ctx, f)
		if err != nil {
			t.Fatalf("Hourly(%+v): %v", f, err)
		}
		if !reflect.DeepEqual(gb, wb) {
			t.Fatalf("Hourly(%+v): %d buckets, want %d", f, len(gb), len(wb))
		}
	}
}

func first[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

// TestSameAnswersAsScan is the correctness part of BenchmarkQueries, on
// 2,000 synthetic dumps: the index built by Sync, kept by Put and
// brought up to date by Sync after files changed behind its back (a
// crash between a sidecar's rename and its record, a replaced sidecar,
// removed dumps and host directories) answers every query as a scan of
// the sidecars does.
func TestSameAnswersAsScan(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeSynthetic(t, dir, 2000, 1)
	x, err := Open(DefaultPath(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := x.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 2000 || st.Bad != 0 {
		t.Fatalf("first sync: %+v", st)
	}
	sameAnswers(t, x, dir)

	// Stored while running: sidecar written, then Put.
	scan, _ := catalog.Scan(dir)
	e := scan.Entries[7]
	mp := filepath.Join(dir, e.Dir, e.Name+".json")
	m := readMeta(t, mp)
	m.Title, m.Signature, m.Complete = "WARNING in bar", "00000000000000aa", true
	newName := filepath.Join(dir, e.Dir, "20261123T000000Z-aaaaaaaa-1.json")
	writeMeta(t, newName, m)
	rec, err := RecordOf(m, newName)
	if err != nil {
		t.Fatal(err)
	}
	// And a dump of a group and release that host had none of, older
	// than all: the group's and the release's hosts grow by one, their
	// first times move back.
	var o catalog.Entry
	for _, c := range scan.Entries {
		if c.Signature != "" && !hasDump(scan.Entries, e.Dir, c.Signature, c.Release) {
			o = c
			break
		}
	}
	om := readMeta(t, filepath.Join(dir, o.Dir, o.Name+".json"))
	oldest := synthEpoch.Add(-30 * time.Minute)
	om.Host, om.HostDir, om.DumpTime, om.FirstPacket = m.Host, m.HostDir, &oldest, oldest
	oName := filepath.Join(dir, e.Dir, "20261123T010000Z-aaaaaaaa-2.json")
	writeMeta(t, oName, om)
	orec, err := RecordOf(om, oName)
	if err != nil {
		t.Fatal(err)
	}
	// And a host's newest dump of a group and release it had: their
	// last times move on.
	z := scan.Entries[50]
	for i := 50; z.Signature == ""; i++ {
		z = scan.Entries[i]
	}
	zm := readMeta(t, filepath.Join(dir, z.Dir, z.Name+".json"))
	newest := synthEpoch.Add(7*24*time.Hour + 2*time.Hour)
	zm.DumpTime, zm.FirstPacket = &newest, newest
	zName := filepath.Join(dir, z.Dir, "20261123T020000Z-aaaaaaaa-3.json")
	writeMeta(t, zName, zm)
	zrec, err := RecordOf(zm, zName)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Put(ctx, rec, orec, zrec); err != nil {
		t.Fatal(err)
	}
	zSince := newest.Add(-time.Hour)
	sameAnswers(t, x, dir, catalog.Filter{Signature: o.Signature, Release: o.Release},
		catalog.Filter{Signature: z.Signature, Since: zSince}, catalog.Filter{Release: z.Release, Since: zSince},
		catalog.Filter{Signature: z.Signature, Release: z.Release, Since: zSince})

	// A host's last dumps of a group on one release, newer b and older
	// a: Put moves b before a (a record replaced), then a goes behind
	// the index's back. Each time, the windows that start between
	// their times ask whether the group's and the release's per-host
	// rows moved their last time back.
	a, b := lastTwo(t, scan.Entries, scan.Entries[300].Dir)
	around := func(t0, t1 time.Time) []catalog.Filter {
		mid := t0.Add(t1.Sub(t0) / 2)
		return []catalog.Filter{
			{Since: mid}, {Signature: a.Signature, Since: mid}, {Release: a.Release, Since: mid},
			{Signature: a.Signature, Release: a.Release, Since: mid},
			{Signature: a.Signature, Release: a.Release, Since: mid, Until: synthEpoch.Add(30 * 24 * time.Hour)},
		}
	}
	bPath := filepath.Join(dir, b.Dir, b.Name+".json")
	bm := readMeta(t, bPath)
	moved := a.When.Add(-time.Minute)
	bm.DumpTime, bm.FirstPacket = &moved, moved
	writeMeta(t, bPath+".tmp", bm)
	if err := os.Rename(bPath+".tmp", bPath); err != nil {
		t.Fatal(err)
	}
	if rec, err = RecordOf(bm, bPath); err != nil {
		t.Fatal(err)
	}
	if err := x.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, x, dir, around(a.When, b.When)...)
	os.Remove(filepath.Join(dir, a.Dir, a.Name+".json"))

	// Behind its back: a replaced sidecar (partial to complete, another
	// signature), a new one never Put (the crash), a removed one, a
	// removed host directory, an unreadable one.
	m.Signature, m.Title = "00000000000000bb", "WARNING in baz"
	writeMeta(t, newName+".tmp", m)
	if err := os.Rename(newName+".tmp", newName); err != nil {
		t.Fatal(err)
	}
	m.Signature = "00000000000000cc"
	writeMeta(t, filepath.Join(dir, scan.Entries[100].Dir, "20261124T000000Z-bbbbbbbb-1.json"), m)
	os.Remove(filepath.Join(dir, scan.Entries[200].Dir, scan.Entries[200].Name+".json"))
	os.RemoveAll(filepath.Join(dir, scan.Entries[300].Dir))
	os.WriteFile(filepath.Join(dir, scan.Entries[400].Dir, "broken.json"), []byte("{"), 0o644)
	x.Close()

	x, err = Open(DefaultPath(dir), dir) // the restart
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if st, err = x.Sync(ctx); err != nil || st.Bad != 1 || st.Removed == 0 {
		t.Fatalf("sync after changes: %+v, %v", st, err)
	}
	sameAnswers(t, x, dir, around(moved, a.When)...)

	// Retention: the oldest tenth of the dumps removed, as an expiry
	// of old dumps does, in many host directories; Sync drops their
	// records, and the groups, hosts, releases and first times they
	// held.
	scan, _ = catalog.Scan(dir)
	expired := scan.Entries[len(scan.Entries)*9/10:] // newest first
	for _, e := range expired {
		if err := os.Remove(filepath.Join(dir, e.Dir, e.Name+".json")); err != nil {
			t.Fatal(err)
		}
	}
	if st, err = x.Sync(ctx); err != nil || st.Removed != len(expired) {
		t.Fatalf("sync after retention removed %d: %+v, %v", len(expired), st, err)
	}
	cut := expired[0].When
	sameAnswers(t, x, dir, catalog.Filter{Since: cut}, catalog.Filter{Since: cut.Add(time.Hour)},
		catalog.Filter{Release: expired[0].Release, Since: cut})

	// A rebuild of the same store (the index file lost) answers the
	// same.
	x.Close()
	for _, p := range []string{"", "-wal", "-shm"} {
		os.Remove(DefaultPath(dir) + p)
	}
	y, err := Open(DefaultPath(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if st, err = y.Sync(ctx); err != nil || st.Read != len(scan.Entries)-len(expired) || st.Bad != 1 {
		t.Fatalf("rebuild: %+v, %v (want %d read)", st, err, len(scan.Entries)-len(expired))
	}
	sameAnswers(t, y, dir, catalog.Filter{Since: cut}, catalog.Filter{Release: expired[0].Release, Since: cut})
}

func hasDump(es []catalog.Entry, dir, sig, rel string) bool {
	for _, e := range es {
		if e.Dir == dir && e.Signature == sig && e.Release == rel {
			return true
		}
	}
	return false
}

// lastTwo returns the two newest dumps of a host (not in dir skip) in
// one group with a crash report, on one release.
func lastTwo(t *testing.T, es []catalog.Entry, skip string) (older, newer catalog.Entry) {
	type key struct{ sig, rel, dir string }
	seen := map[key]catalog.Entry{}
	for _, e := range es { // newest first
		k := key{e.Signature, e.Release, e.Dir}
		if e.Signature == "" || e.Dir == skip {
			continue
		}
		if n, ok := seen[k]; ok {
			return e, n
		}
		seen[k] = e
	}
	t.Fatal("no host has two dumps of one group on one release")
	return
}

func readMeta(t *testing.T, path string) *store.Meta {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m store.Meta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func writeMeta(t *testing.T, path string, m *store.Meta) {
	if err := os.WriteFile(path, m.AppendJSON(nil), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSyncListsOnlyChangedDirs: a Sync with nothing changed lists no
// directory; a file renamed into one makes it listed (and read) again.
func TestSyncListsOnlyChangedDirs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeSynthetic(t, dir, 300, 2)
	x, err := Open(DefaultPath(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.RacyWindow = 0
	if _, err := x.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := x.Sync(ctx)
	if err != nil || st.Listed != 0 || st.Read != 0 || st.HostDirs == 0 {
		t.Fatalf("second sync: %+v, %v", st, err)
	}
	scan, _ := catalog.Scan(dir)
	e := scan.Entries[0]
	m := readMeta(t, filepath.Join(dir, e.Dir, e.Name+".json"))
	p := filepath.Join(dir, e.Dir, "new.json")
	writeMeta(t, p+".tmp", m)
	// Make the directory's time differ even on a coarse clock.
	os.Rename(p+".tmp", p)
	os.Chtimes(filepath.Join(dir, e.Dir), time.Now(), time.Now().Add(time.Second))
	st, err = x.Sync(ctx)
	if err != nil || st.Listed != 1 || st.Read != 1 {
		t.Fatalf("after a new sidecar: %+v, %v", st, err)
	}
	// The racy window: a directory listed right after it changed is
	// listed again.
	x.RacyWindow = time.Hour
	if st, _ = x.Sync(ctx); st.Listed != st.HostDirs || st.Read != 0 {
		t.Fatalf("racy: %+v", st)
	}
}

// TestReopenRebuilds: an index file of another schema, or not an index
// at all, is replaced and rebuilt from the sidecars.
func TestReopenRebuilds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeSynthetic(t, dir, 50, 3)
	path := DefaultPath(dir)
	x, err := Open(path, dir)
	if err != nil {
		t.Fatal(err)
	}
	x.Sync(ctx)
	x.db.Exec(`UPDATE meta SET value = '999' WHERE key = 'schema'`)
	x.Close()
	for _, breakIt := range []func(){func() {}, func() {
		os.Remove(path + "-wal")
		os.WriteFile(path, []byte(strings.Repeat("not a database ", 500)), 0o644)
	}} {
		breakIt()
		x, err = Open(path, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, n, _ := x.Dumps(ctx, catalog.Filter{}, catalog.Page{}); n != 0 {
			t.Fatalf("old records kept: %d", n)
		}
		if st, err := x.Sync(ctx); err != nil || st.Read != 50 {
			t.Fatalf("rebuild: %+v %v", st, err)
		}
		sameAnswers(t, x, dir)
		x.Close()
	}
}

// TestOpenUnwritable says what to do when the index cannot be created.
func TestOpenUnwritable(t *testing.T) {
	dir := t.TempDir()
	// A file where its directory would be: even root cannot create it.
	if err := os.WriteFile(filepath.Join(dir, ".index"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(DefaultPath(dir), dir); err == nil || !strings.Contains(err.Error(), "--index") {
		t.Fatalf("got %v", err)
	}
}

var _ Index = (*DB)(nil)

func ExampleDefaultPath() {
	fmt.Println(DefaultPath("/var/lib/netoops-catcher/crashes"))
	// Output: /var/lib/netoops-catcher/crashes/.index/catalog.sqlite
}

// TestOldSidecars: a sidecar written before the crash fields (schema 1)
// is grouped by the title its log gives, in the index as in a scan.
func TestOldSidecars(t *testing.T) {
	dir := t.TempDir()
	log, err := os.ReadFile("../../crashreport/testdata/corpus/real-6.12-lkdtm-warning.log")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "old-host"), 0o755)
	os.WriteFile(filepath.Join(dir, "old-host", "20261122T023000Z-00112233-1.log"), log, 0o644)
	old := `{"host": "old-host", "host_dir": "old-host", "boot_id": "00112233445566778899aabbccddeeff", "dump_seq": 1,
		"release": "6.12.0", "reason": "panic", "dump_time": "2026-11-22T02:30:00Z", "total_len": ` + fmt.Sprint(len(log)) + `,
		"missing": [], "complete": true, "log": "20261122T023000Z-00112233-1.log"}`
	os.WriteFile(filepath.Join(dir, "old-host", "20261122T023000Z-00112233-1.json"), []byte(old), 0o644)
	x, err := Open(DefaultPath(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	gs, _, err := x.Groups(context.Background(), catalog.Filter{}, catalog.Page{})
	if err != nil || len(gs) != 1 || gs[0].Title != "WARNING in lkdtm_WARNING" {
		t.Fatalf("groups %+v, %v", gs, err)
	}
	sameAnswers(t, x, dir)
}
