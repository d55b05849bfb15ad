package index

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
)

// cond is a WHERE clause being built and its arguments.
type cond struct {
	conds []string
	args  []any
}

func (c *cond) add(s string, args ...any) {
	c.conds = append(c.conds, s)
	c.args = append(c.args, args...)
}

func (c *cond) sql() string {
	if len(c.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.conds, " AND ")
}

// attrs adds f's conditions on a dump other than its time.
func attrs(c *cond, f catalog.Filter) {
	if f.Signature != "" {
		c.add("signature = ?", f.Signature)
	}
	if f.NoReport {
		c.add("signature = ''")
	}
	if dirs := f.HostDirs(); len(dirs) > 0 {
		c.add("dir IN (?"+strings.Repeat(",?", len(dirs)-1)+")", anys(dirs)...)
	}
	if f.Release != "" {
		c.add("release = ?", f.Release)
	}
}

// where turns a filter into a WHERE clause (empty: none) and its
// arguments.
func where(f catalog.Filter) (string, []any) {
	var c cond
	attrs(&c, f)
	if !f.Since.IsZero() {
		c.add("t >= ?", nsOf(f.Since))
	}
	if !f.Until.IsZero() {
		c.add("t < ?", nsOf(f.Until))
	}
	return c.sql(), c.args
}

// dumpsOf is the dumps table (as alias, "" for none) that serves the
// filter f: with a host, through dumps_dir (the host's few dumps), which
// the planner would otherwise pass over for the index on release or
// signature, whose rows are a large part of the store.
func dumpsOf(f catalog.Filter, alias string) string {
	t := "dumps"
	if alias != "" {
		t += " " + alias
	}
	if f.Host != "" {
		t += " INDEXED BY dumps_dir"
	}
	return t
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func limit(p catalog.Page) (string, []any) {
	if p.Limit <= 0 && p.Offset <= 0 {
		return "", nil
	}
	l := int64(p.Limit)
	if l <= 0 {
		l = -1
	}
	return " LIMIT ? OFFSET ?", []any{l, int64(max(p.Offset, 0))}
}

// The index keeps times as Unix nanoseconds (the store's times are
// time.Unix(0, int64) or the clock's); the zero time (a field an old
// sidecar lacks) is the smallest int64.
func ns(v int64) time.Time {
	if v == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func nsOf(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// attr is what of a filter the aggregate tables can answer: a
// signature (the empty one for NoReport) and a release. A filter on a
// host (a few dumps, read from dumps_dir) or contradicting itself (a
// signature and NoReport) has none: its dumps are read.
type attr struct {
	sig    string
	hasSig bool
	rel    string
}

func attrOf(f catalog.Filter) (attr, bool) {
	if f.Host != "" || f.NoReport && f.Signature != "" {
		return attr{}, false
	}
	return attr{sig: f.Signature, hasSig: f.Signature != "" || f.NoReport, rel: f.Release}, true
}

// add adds a's conditions on the columns signature and release (of the
// table or alias p, "" for none).
func (a attr) add(c *cond, p string) {
	if a.hasSig {
		c.add(p+"signature = ?", a.sig)
	}
	if a.rel != "" {
		c.add(p+"release = ?", a.rel)
	}
}

const hourNS = int64(time.Hour)

// span is a time window [from, to) (Unix ns; unbounded where hasFrom or
// hasTo is false) cut at whole hours: the hours [h0, h1) wholly inside
// it (if hours), counted from the per-hour tables, and the parts of an
// hour at its ends (edges, [from, to) each), counted from the dumps (at
// most an hour's worth each).
type span struct {
	hasFrom, hasTo bool
	from, to       int64
	hours          bool
	h0, h1         int64
	edges          [][2]int64
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

func spanOf(f catalog.Filter) span {
	s := span{hasFrom: !f.Since.IsZero(), hasTo: !f.Until.IsZero(), from: nsOf(f.Since), to: nsOf(f.Until)}
	if s.hasFrom {
		s.h0 = floorDiv(s.from, hourNS)
		if s.h0*hourNS < s.from {
			s.h0++
		}
	}
	if s.hasTo {
		s.h1 = floorDiv(s.to, hourNS)
	}
	if s.hasFrom && s.hasTo && s.h0 >= s.h1 {
		if s.from < s.to {
			s.edges = [][2]int64{{s.from, s.to}}
		}
		return s
	}
	s.hours = true
	if s.hasFrom && s.from < s.h0*hourNS {
		s.edges = append(s.edges, [2]int64{s.from, s.h0 * hourNS})
	}
	if s.hasTo && s.h1*hourNS < s.to {
		s.edges = append(s.edges, [2]int64{s.h1 * hourNS, s.to})
	}
	return s
}

// bounded reports whether the window is bounded at all.
func (s span) bounded() bool { return s.hasFrom || s.hasTo }

// addHours adds the whole hours' conditions on the column hour.
func (s span) addHours(c *cond) {
	if s.hasFrom {
		c.add("hour >= ?", s.h0)
	}
	if s.hasTo {
		c.add("hour < ?", s.h1)
	}
}

// maxIn is the most signatures a query names in an IN list; with more,
// it reads them all and the caller keeps those it wants.
const maxIn = 500

// inSigs adds "col IN (sigs)" unless there are too many.
func inSigs(c *cond, col string, sigs []string) {
	if sigs != nil && len(sigs) <= maxIn {
		if len(sigs) == 0 {
			c.add("0")
			return
		}
		c.add(col+" IN (?"+strings.Repeat(",?", len(sigs)-1)+")", anys(sigs)...)
	}
}

// counts returns the number of dumps of each signature (of sigs, or
// all if nil) in the window that match a: the groups' own counts for
// no window, else the per-hour counts of its whole hours and the dumps
// of its edges.
func (x *DB) counts(ctx context.Context, a attr, s span, sigs []string) (map[string]int, error) {
	var qs []string
	var args [][]any
	if !s.bounded() {
		var c cond
		a.add(&c, "")
		inSigs(&c, "signature", sigs)
		tbl := "groups"
		if a.rel != "" {
			tbl = "group_releases"
		}
		qs, args = append(qs, `SELECT signature, dumps FROM `+tbl+c.sql()), append(args, c.args)
	} else {
		if s.hours {
			var c cond
			a.add(&c, "")
			s.addHours(&c)
			inSigs(&c, "signature", sigs)
			tbl := "hourly"
			if a.rel != "" {
				tbl = "release_hourly"
			}
			qs = append(qs, `SELECT signature, sum(dumps) FROM `+tbl+c.sql()+` GROUP BY signature`)
			args = append(args, c.args)
		}
		for _, e := range s.edges {
			var c cond
			a.add(&c, "")
			c.add("t >= ?", e[0])
			c.add("t < ?", e[1])
			inSigs(&c, "signature", sigs)
			qs = append(qs, `SELECT signature, count(*) FROM dumps`+c.sql()+` GROUP BY signature`)
			args = append(args, c.args)
		}
	}
	out := map[string]int{}
	for i, q := range qs {
		rows, err := x.db.QueryContext(ctx, q, args[i]...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var sig string
			var n int
			if err := rows.Scan(&sig, &n); err != nil {
				rows.Close()
				return nil, err
			}
			out[sig] += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// windowCounts is counts for the window s: for a big one (bigWindow),
// the groups' totals less the dumps before it, which add up fewer rows.
func (x *DB) windowCounts(ctx context.Context, a attr, s span, big bool, sigs []string) (map[string]int, error) {
	if !big {
		return x.counts(ctx, a, s, sigs)
	}
	all, err := x.counts(ctx, a, span{}, sigs)
	if err != nil {
		return nil, err
	}
	before, err := x.counts(ctx, a, spanOf(catalog.Filter{Until: ns(s.from)}), sigs)
	if err != nil {
		return nil, err
	}
	for sig, n := range before {
		if all[sig] -= n; all[sig] == 0 {
			delete(all, sig)
		}
	}
	return all, nil
}

// bigWindow reports whether s is open at its end and starts nearer the
// oldest dump than the newest: it holds more of the store's time than
// the rest.
func bigWindow(s span, oldest, newest int64, have bool) bool {
	switch {
	case !have || !s.hasFrom || s.hasTo || s.from > newest:
		return false
	case s.from <= oldest:
		return true
	}
	return uint64(newest-s.from) > uint64(s.from-oldest) // no overflow: oldest < from <= newest
}

// Dumps implements catalog.Querier. The total comes from the aggregates
// where it can (counts), the rows from the index that orders them.
func (x *DB) Dumps(ctx context.Context, f catalog.Filter, p catalog.Page) ([]catalog.Entry, int, error) {
	w, args := where(f)
	var total int
	if a, ok := attrOf(f); ok {
		s := spanOf(f)
		var big bool
		if s.hasFrom && !s.hasTo {
			oldest, newest, have, err := x.timeRange(ctx)
			if err != nil {
				return nil, 0, err
			}
			big = bigWindow(s, oldest, newest, have)
		}
		n, err := x.windowCounts(ctx, a, s, big, nil)
		if err != nil {
			return nil, 0, err
		}
		for _, v := range n {
			total += v
		}
	} else if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM `+dumpsOf(f, "")+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	l, largs := limit(p)
	const order = ` ORDER BY t DESC, dir DESC, name DESC`
	q := `SELECT ` + dumpCols + ` FROM ` + dumpsOf(f, "") + w + order + l
	if p.Offset > 0 {
		// A later page: its rows' ids from the index that has the
		// filter's columns and the order (dumpIndexes), skipping the
		// rows before them there, then its rows.
		q = `SELECT ` + dumpCols + ` FROM dumps WHERE rowid IN (SELECT rowid FROM ` + dumpsOf(f, "") + w + order + l + `)` + order
	}
	rows, err := x.db.QueryContext(ctx, q, append(args, largs...)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []catalog.Entry{}
	for rows.Next() {
		var r Record
		if err := scanRecord(rows, &r); err != nil {
			return nil, 0, err
		}
		out = append(out, r.Entry)
	}
	return out, total, rows.Err()
}

func scanRecord(rows *sql.Rows, r *Record) error {
	e := &r.Entry
	var seq, total, missing, t, hour, stored int64
	err := rows.Scan(&e.Dir, &e.Name, &e.Host, &e.HostDir, &e.Label, &e.BootID, &seq, &e.Release, &e.Reason,
		&e.ReasonText, &t, &hour, &stored, &e.Complete, &total, &missing, &e.Title, &e.Signature, &e.Guilty,
		&e.Corrupted, &e.Log, &r.Stamp.Size, &r.Stamp.Mtime, &r.Stamp.Ino)
	e.DumpSeq, e.TotalLen, e.MissingBytes = uint32(seq), uint32(total), uint64(missing)
	e.When, e.StoredAt = ns(t), ns(stored)
	return err
}

// timeRange returns the time of the oldest and the newest dump (ok
// false: none).
func (x *DB) timeRange(ctx context.Context) (oldest, newest int64, ok bool, err error) {
	var lo, hi sql.NullInt64
	// Two subqueries: one min or max alone is a seek in dumps_t, both
	// in one query a scan.
	err = x.db.QueryRowContext(ctx, `SELECT (SELECT min(t) FROM dumps), (SELECT max(t) FROM dumps)`).Scan(&lo, &hi)
	return lo.Int64, hi.Int64, lo.Valid, err
}

// Groups implements catalog.Querier. Without a host it reads the
// aggregates (groupsAgg) for a window open at its end, or ending after
// the newest dump: the hosts and releases of a group since T are its
// per-host and per-release rows last seen at or after T, which no row
// says of a window that ends earlier. The rest (a host's dumps, such a
// window) it groups from the matching dumps.
func (x *DB) Groups(ctx context.Context, f catalog.Filter, p catalog.Page) ([]catalog.Group, int, error) {
	a, ok := attrOf(f)
	var big bool
	if ok && (!f.Since.IsZero() || !f.Until.IsZero()) {
		oldest, newest, have, err := x.timeRange(ctx)
		if err != nil {
			return nil, 0, err
		}
		if !f.Until.IsZero() {
			if have && nsOf(f.Until) <= newest {
				ok = false
			} else {
				f.Until = time.Time{} // every dump is before it
			}
		}
		if !f.Since.IsZero() && have && nsOf(f.Since) <= oldest {
			f.Since = time.Time{} // every dump is after it
		}
		big = bigWindow(spanOf(f), oldest, newest, have)
	}
	if !ok {
		return x.groupsScan(ctx, f, p)
	}
	return x.groupsAgg(ctx, f, a, big, p)
}

// groupsAgg answers Groups from the aggregate tables, for a filter on
// signature, release and a start time (f.Until is zero). Each group's
// title, newest dump and, without a start, counts and first dump are a
// row of groups (group_releases with a release); with a start, the
// page's groups' counts come from counts, their first dumps from a seek
// in dumps_sig (dumps_sig_rel), their hosts and releases from the rows
// of group_hosts (release_hosts) and group_releases last seen since.
// For a big window (bigWindow) the counts and hosts are the totals less
// those before it.
func (x *DB) groupsAgg(ctx context.Context, f catalog.Filter, a attr, big bool, p catalog.Page) ([]catalog.Group, int, error) {
	since := !f.Since.IsZero()
	from := nsOf(f.Since)
	var c cond
	tbl, title := "groups r", "r.title"
	if a.rel != "" {
		tbl, title = "group_releases r JOIN groups g ON g.signature = r.signature", "g.title"
	}
	a.add(&c, "r.")
	if since {
		c.add("r.last >= ?", from)
	}
	var total int
	if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM `+tbl+c.sql(), c.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	l, largs := limit(p)
	rows, err := x.db.QueryContext(ctx, `SELECT r.signature, `+title+`, r.dumps, r.hosts, r.first, r.last FROM `+tbl+c.sql()+
		` ORDER BY r.last DESC, r.signature`+l, append(c.args, largs...)...)
	if err != nil {
		return nil, 0, err
	}
	out, at, err := scanGroups(rows)
	if err != nil || len(out) == 0 {
		return out, total, err
	}
	sigs := make([]string, len(out))
	for i, g := range out {
		sigs[i] = g.Signature
	}
	if len(out) == total {
		sigs = nil // all of them: no IN list
	}
	if since {
		n, err := x.windowCounts(ctx, a, spanOf(f), big, sigs)
		if err != nil {
			return nil, 0, err
		}
		for i := range out {
			out[i].Dumps = n[out[i].Signature]
		}
		if err := x.sinceFirstHosts(ctx, a, from, big, sigs, out, at); err != nil {
			return nil, 0, err
		}
	}
	if a.rel != "" {
		for i := range out {
			out[i].Releases = []string{a.rel}
		}
		return out, total, nil
	}
	var rc cond
	a.add(&rc, "") // the signature: sigs is nil for all the groups
	inSigs(&rc, "signature", sigs)
	if since {
		rc.add("last >= ?", from)
	}
	rows, err = x.db.QueryContext(ctx, `SELECT signature, release FROM group_releases`+rc.sql()+` ORDER BY signature, release`, rc.args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var sig, rel string
		if err := rows.Scan(&sig, &rel); err != nil {
			return nil, 0, err
		}
		if i, ok := at[sig]; ok {
			out[i].Releases = append(out[i].Releases, rel)
		}
	}
	return out, total, rows.Err()
}

// sinceFirstHosts sets the first dump and the hosts since from of the
// groups out (whose signatures are sigs, or all if nil): the first by a
// seek in the dumps' index on (signature[, release], t), the hosts as
// the per-host rows last seen at or after from or, for a big window,
// the group's hosts less those last seen before.
func (x *DB) sinceFirstHosts(ctx context.Context, a attr, from int64, big bool, sigs []string, out []catalog.Group, at map[string]int) error {
	hosts := `(SELECT count(*) FROM %s h WHERE h.signature = g.signature%s AND h.last >= ?1)`
	if big {
		hosts = `g.hosts - (SELECT count(*) FROM %s h WHERE h.signature = g.signature%s AND h.last < ?1)`
	}
	c := cond{args: []any{from}}
	var q string
	if a.rel == "" {
		q = `SELECT g.signature,
			(SELECT min(t) FROM dumps d WHERE d.signature = g.signature AND d.t >= ?1), ` +
			fmt.Sprintf(hosts, "group_hosts", "") + ` FROM groups g`
	} else {
		q = `SELECT g.signature,
			(SELECT min(t) FROM dumps d WHERE d.signature = g.signature AND d.release = g.release AND d.t >= ?1), ` +
			fmt.Sprintf(hosts, "release_hosts", " AND h.release = g.release") + ` FROM group_releases g`
		c.add("g.release = ?", a.rel)
	}
	if a.hasSig { // sigs is nil for all the groups
		c.add("g.signature = ?", a.sig)
	}
	inSigs(&c, "g.signature", sigs)
	rows, err := x.db.QueryContext(ctx, q+c.sql(), c.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sig string
		var first sql.NullInt64
		var hosts int
		if err := rows.Scan(&sig, &first, &hosts); err != nil {
			return err
		}
		if i, ok := at[sig]; ok {
			out[i].First, out[i].Hosts = ns(first.Int64), hosts
		}
	}
	return rows.Err()
}

// groupsScan groups the dumps that match f.
func (x *DB) groupsScan(ctx context.Context, f catalog.Filter, p catalog.Page) ([]catalog.Group, int, error) {
	w, args := where(f)
	l, largs := limit(p)
	var total int
	if err := x.db.QueryRowContext(ctx, `SELECT count(DISTINCT signature) FROM `+dumpsOf(f, "")+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	// Titles from the groups table: every dump of a signature has its
	// title, and the covering index dumps_t then serves a time filter
	// without reading the rows.
	from := dumpsOf(f, "d")
	if f.Signature == "" && !f.NoReport && f.Host == "" && f.Release == "" {
		// Only a time range: the planner would rather walk
		// dumps_sig (for the GROUP BY) through every dump.
		from = `dumps d INDEXED BY dumps_t`
	}
	q := `SELECT d.signature, coalesce((SELECT title FROM groups g WHERE g.signature = d.signature), ''), count(*), count(DISTINCT dir), min(t), max(t) FROM ` + from + w +
		` GROUP BY d.signature ORDER BY max(t) DESC, d.signature` + l
	rows, err := x.db.QueryContext(ctx, q, append(append([]any(nil), args...), largs...)...)
	if err != nil {
		return nil, 0, err
	}
	out, at, err := scanGroups(rows)
	if err != nil || len(out) == 0 {
		return out, total, err
	}
	rq := `SELECT DISTINCT signature, release FROM ` + dumpsOf(f, "") + w + ` ORDER BY signature, release`
	rows, err = x.db.QueryContext(ctx, rq, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var sig, rel string
		if err := rows.Scan(&sig, &rel); err != nil {
			return nil, 0, err
		}
		if i, ok := at[sig]; ok {
			out[i].Releases = append(out[i].Releases, rel)
		}
	}
	return out, total, rows.Err()
}

// Hourly implements catalog.Querier: without a host, the per-hour
// tables for the window's whole hours and the dumps of its edges (a
// Since or Until inside an hour); with one, the host's dumps.
func (x *DB) Hourly(ctx context.Context, f catalog.Filter) ([]catalog.Bucket, error) {
	type query struct {
		q    string
		args []any
	}
	var qs []query
	a, ok := attrOf(f)
	if !ok {
		w, args := where(f)
		qs = append(qs, query{`SELECT hour, signature, count(*) FROM ` + dumpsOf(f, "") + w + ` GROUP BY hour, signature ORDER BY hour, signature`, args})
	} else {
		s := spanOf(f)
		edge := func(e [2]int64) query {
			var c cond
			a.add(&c, "")
			c.add("t >= ?", e[0])
			c.add("t < ?", e[1])
			return query{`SELECT hour, signature, count(*) FROM dumps` + c.sql() + ` GROUP BY hour, signature ORDER BY hour, signature`, c.args}
		}
		// In time order: the edge before the whole hours, the whole
		// hours, the edge after them.
		edges := s.edges
		if len(edges) > 0 && (!s.hours || s.hasFrom && edges[0][0] == s.from) {
			qs = append(qs, edge(edges[0]))
			edges = edges[1:]
		}
		if s.hours {
			var c cond
			a.add(&c, "")
			s.addHours(&c)
			tbl := "hourly"
			if a.rel != "" {
				tbl = "release_hourly"
			}
			qs = append(qs, query{`SELECT hour, signature, dumps FROM ` + tbl + c.sql() + ` ORDER BY hour, signature`, c.args})
		}
		for _, e := range edges {
			qs = append(qs, edge(e))
		}
	}
	out := []catalog.Bucket{}
	for _, q := range qs {
		rows, err := x.db.QueryContext(ctx, q.q, q.args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var b catalog.Bucket
			var h int64
			if err := rows.Scan(&h, &b.Signature, &b.Dumps); err != nil {
				rows.Close()
				return nil, err
			}
			b.Hour = time.Unix(h*3600, 0).UTC()
			out = append(out, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if !slices.IsSortedFunc(out, bucketCmp) {
		slices.SortFunc(out, bucketCmp) // not expected: the parts are in order
	}
	return out, nil
}

func bucketCmp(a, b catalog.Bucket) int {
	if c := a.Hour.Compare(b.Hour); c != 0 {
		return c
	}
	return strings.Compare(a.Signature, b.Signature)
}

// scanGroups reads the rows of a groups query (signature, title, dumps,
// hosts, first, last) and closes them; at gives each signature's index in
// the result.
func scanGroups(rows *sql.Rows) ([]catalog.Group, map[string]int, error) {
	defer rows.Close()
	out := []catalog.Group{}
	at := map[string]int{}
	for rows.Next() {
		var g catalog.Group
		var first, last int64
		if err := rows.Scan(&g.Signature, &g.Title, &g.Dumps, &g.Hosts, &first, &last); err != nil {
			return nil, nil, err
		}
		g.First, g.Last, g.Releases = ns(first), ns(last), []string{}
		at[g.Signature] = len(out)
		out = append(out, g)
	}
	return out, at, rows.Err()
}
