package index

import (
	"context"
	"database/sql"
	"math"
	"strings"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
)

// where turns a filter into a WHERE clause (empty: none) and its
// arguments.
func where(f catalog.Filter) (string, []any) {
	var conds []string
	var args []any
	if f.Signature != "" {
		conds, args = append(conds, "signature = ?"), append(args, f.Signature)
	}
	if f.NoReport {
		conds = append(conds, "signature = ''")
	}
	if dirs := f.HostDirs(); len(dirs) > 0 {
		conds = append(conds, "dir IN (?"+strings.Repeat(",?", len(dirs)-1)+")")
		for _, d := range dirs {
			args = append(args, d)
		}
	}
	if f.Release != "" {
		conds, args = append(conds, "release = ?"), append(args, f.Release)
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "t >= ?"), append(args, nsOf(f.Since))
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "t < ?"), append(args, nsOf(f.Until))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
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

// Dumps implements catalog.Querier.
func (x *DB) Dumps(ctx context.Context, f catalog.Filter, p catalog.Page) ([]catalog.Entry, int, error) {
	w, args := where(f)
	var total int
	if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM dumps`+w, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	l, largs := limit(p)
	rows, err := x.db.QueryContext(ctx, `SELECT `+dumpCols+` FROM dumps`+w+` ORDER BY t DESC, dir DESC, name DESC`+l, append(args, largs...)...)
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

// Groups implements catalog.Querier. Without a filter it reads the
// groups table (a row per group); with one it groups the matching dumps.
func (x *DB) Groups(ctx context.Context, f catalog.Filter, p catalog.Page) ([]catalog.Group, int, error) {
	w, args := where(f)
	l, largs := limit(p)
	var total int
	var q, rq string
	if w == "" {
		if err := x.db.QueryRowContext(ctx, `SELECT count(*) FROM groups`).Scan(&total); err != nil {
			return nil, 0, err
		}
		q = `SELECT signature, title, dumps, hosts, first, last FROM groups ORDER BY last DESC, signature` + l
		rq = `SELECT signature, release FROM group_releases WHERE signature IN (%s) ORDER BY signature, release`
	} else {
		if err := x.db.QueryRowContext(ctx, `SELECT count(DISTINCT signature) FROM dumps`+w, args...).Scan(&total); err != nil {
			return nil, 0, err
		}
		// Titles from the groups table: every dump of a signature has
		// its title, and the covering index dumps_tsd then serves a
		// time filter without reading the rows.
		from := `dumps d`
		if f.Signature == "" && !f.NoReport && f.Host == "" && f.Release == "" {
			// Only a time range: the planner would rather walk
			// dumps_sig (for the GROUP BY) through every dump.
			from = `dumps d INDEXED BY dumps_tsd`
		}
		q = `SELECT d.signature, coalesce((SELECT title FROM groups g WHERE g.signature = d.signature), ''), count(*), count(DISTINCT dir), min(t), max(t) FROM ` + from + w +
			` GROUP BY d.signature ORDER BY max(t) DESC, d.signature` + l
		rq = `SELECT DISTINCT signature, release FROM dumps` + w + ` AND signature IN (%s) ORDER BY signature, release`
	}
	rows, err := x.db.QueryContext(ctx, q, append(append([]any(nil), args...), largs...)...)
	if err != nil {
		return nil, 0, err
	}
	out := []catalog.Group{}
	at := map[string]int{}
	for rows.Next() {
		var g catalog.Group
		var first, last int64
		if err := rows.Scan(&g.Signature, &g.Title, &g.Dumps, &g.Hosts, &first, &last); err != nil {
			rows.Close()
			return nil, 0, err
		}
		g.First, g.Last, g.Releases = ns(first), ns(last), []string{}
		at[g.Signature] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, total, err
	}
	rargs := append([]any(nil), args...)
	for _, g := range out {
		rargs = append(rargs, g.Signature)
	}
	rows, err = x.db.QueryContext(ctx, strings.Replace(rq, "%s", "?"+strings.Repeat(",?", len(out)-1), 1), rargs...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var sig, rel string
		if err := rows.Scan(&sig, &rel); err != nil {
			return nil, 0, err
		}
		g := &out[at[sig]]
		g.Releases = append(g.Releases, rel)
	}
	return out, total, rows.Err()
}

// Hourly implements catalog.Querier. With at most hour-aligned Since and
// Until it reads the hourly table; otherwise it counts the matching dumps.
func (x *DB) Hourly(ctx context.Context, f catalog.Filter) ([]catalog.Bucket, error) {
	aligned := func(t time.Time) bool { return t.IsZero() || t.Equal(t.Truncate(time.Hour)) }
	var q string
	var args []any
	if f.Signature == "" && !f.NoReport && f.Host == "" && f.Release == "" && aligned(f.Since) && aligned(f.Until) {
		var conds []string
		if !f.Since.IsZero() {
			conds, args = append(conds, "hour >= ?"), append(args, catalog.HourOf(f.Since))
		}
		if !f.Until.IsZero() {
			conds, args = append(conds, "hour < ?"), append(args, catalog.HourOf(f.Until))
		}
		q = `SELECT hour, signature, dumps FROM hourly`
		if len(conds) > 0 {
			q += " WHERE " + strings.Join(conds, " AND ")
		}
		q += ` ORDER BY hour, signature`
	} else {
		var w string
		w, args = where(f)
		q = `SELECT hour, signature, count(*) FROM dumps` + w + ` GROUP BY hour, signature ORDER BY hour, signature`
	}
	rows, err := x.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []catalog.Bucket{}
	for rows.Next() {
		var b catalog.Bucket
		var h int64
		if err := rows.Scan(&h, &b.Signature, &b.Dumps); err != nil {
			return nil, err
		}
		b.Hour = time.Unix(h*3600, 0).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}
