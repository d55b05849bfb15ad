package web

import (
	"net/http"
	"sort"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
)

// timelineDays is the span of a group's small timeline.
const timelineDays = 14

// windowEnd is the end of the charts' windows: the next full hour after
// now, or after the newest dump if that is later (a clock behind the
// senders'), or after the newest dump if nothing happened in the window
// (an old store still shows its last crashes).
func windowEnd(now, newest time.Time, span time.Duration) time.Time {
	end := now
	if newest.After(end) || !newest.IsZero() && newest.Before(now.Add(-span)) {
		end = newest
	}
	return end.Truncate(time.Hour).Add(time.Hour)
}

// chartFilter is f for a chart from start to end (whole hours): a Since
// inside the window counts from the start of its hour, as the chart's
// bars do.
func chartFilter(f catalog.Filter, start, end time.Time) catalog.Filter {
	f.Since = f.Since.Truncate(time.Hour)
	if f.Since.Before(start) {
		f.Since = start
	}
	f.Until = end
	return f
}

type groupRow struct {
	catalog.Group
	Path     string
	Timeline []int
}

func (s *Server) groups(w http.ResponseWriter, r *http.Request) {
	p, err := s.parseParams(r)
	if err != nil {
		s.fail(w, r, badRequest(err))
		return
	}
	ctx := r.Context()
	gs, total, err := s.Q.Groups(ctx, p.Filter, catalog.Page{Limit: pageSize, Offset: p.Page * pageSize})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var newest time.Time
	if len(gs) > 0 {
		newest = gs[0].Last
	}
	span := time.Duration(timelineDays) * 24 * time.Hour
	end := windowEnd(s.Now(), newest, span)
	start := end.Add(-span)
	f := chartFilter(p.Filter, start, end)
	buckets, err := s.Q.Hourly(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	days := map[string][]int{}
	for _, b := range buckets {
		d := days[b.Signature]
		if d == nil {
			d = make([]int, timelineDays)
			days[b.Signature] = d
		}
		if i := int(b.Hour.Sub(start) / (24 * time.Hour)); i >= 0 && i < timelineDays {
			d[i] += b.Dumps
		}
	}
	rows := make([]groupRow, len(gs))
	for i, g := range gs {
		rows[i] = groupRow{Group: g, Path: sigPath(g.Signature), Timeline: days[g.Signature]}
		if rows[i].Timeline == nil {
			rows[i].Timeline = make([]int, timelineDays)
		}
	}
	chart, err := s.hourChart(r, p.Filter, p.Hours, newest, &hourly{buckets, start, end})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, "groups.html", struct {
		Base
		Groups        []groupRow
		Pager         pager
		TimelineStart time.Time
		TimelineEnd   time.Time
		Chart         chartData
	}{s.base("Crash groups", p), rows, newPager(p, total, len(rows)), start, end, chart})
}

// chartData is a rendered chart and its legend.
type chartData struct {
	SVG    any
	Legend []legendItem
	Start  time.Time
	End    time.Time
	Hours  int
	Total  int
}

type legendItem struct {
	Color, Title, Path string
	Dumps              int
}

// hourly is the buckets of Hourly(chartFilter(f, start, end)).
type hourly struct {
	buckets    []catalog.Bucket
	start, end time.Time
}

// hourChart draws the crashes per hour by signature over hours hours,
// from the buckets of known (nil: none) if its window holds the
// chart's, of the same filter f.
func (s *Server) hourChart(r *http.Request, f catalog.Filter, hours int, newest time.Time, known *hourly) (chartData, error) {
	span := time.Duration(hours) * time.Hour
	if newest.IsZero() {
		ds, _, err := s.Q.Dumps(r.Context(), f, catalog.Page{Limit: 1})
		if err != nil {
			return chartData{}, err
		}
		if len(ds) > 0 {
			newest = ds[0].When
		}
	}
	end := windowEnd(s.Now(), newest, span)
	start := end.Add(-span)
	var buckets []catalog.Bucket
	if known != nil && !start.Before(known.start) && !end.After(known.end) {
		// Its hours in the chart's window are what Hourly would
		// give: whole hours of the same filter.
		for _, b := range known.buckets {
			if !b.Hour.Before(start) && b.Hour.Before(end) {
				buckets = append(buckets, b)
			}
		}
	} else {
		var err error
		if buckets, err = s.Q.Hourly(r.Context(), chartFilter(f, start, end)); err != nil {
			return chartData{}, err
		}
	}
	// The titles of the signatures drawn in their own colours: every
	// dump of a signature has its title, so the group of each without
	// a filter (a row in the index) has it.
	titles := map[string]string{}
	_, _, colored := ranked(buckets, start, hours)
	for _, sig := range colored {
		if sig == "" {
			continue
		}
		gs, _, err := s.Q.Groups(r.Context(), catalog.Filter{Signature: sig}, catalog.Page{Limit: 1})
		if err != nil {
			return chartData{}, err
		}
		if len(gs) > 0 {
			titles[sig] = gs[0].Title
		}
	}
	svg, legend, total := drawHours(buckets, start, hours, titles)
	return chartData{SVG: svg, Legend: legend, Start: start, End: end, Hours: hours, Total: total}, nil
}

func (s *Server) chart(w http.ResponseWriter, r *http.Request) {
	p, err := s.parseParams(r)
	if err != nil {
		s.fail(w, r, badRequest(err))
		return
	}
	c, err := s.hourChart(r, p.Filter, p.Hours, time.Time{}, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, "chart.html", struct {
		Base
		Chart chartData
	}{s.base("Crashes per hour", p), c})
}

func (s *Server) group(w http.ResponseWriter, r *http.Request) {
	p, err := s.parseParams(r)
	if err != nil {
		s.fail(w, r, badRequest(err))
		return
	}
	sf, err := sigParam(r.PathValue("sig"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := p.Filter
	f.Signature, f.NoReport = sf.Signature, sf.NoReport
	ctx := r.Context()
	gs, _, err := s.Q.Groups(ctx, f, catalog.Page{Limit: 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(gs) == 0 {
		s.fail(w, r, catalog.ErrNotFound)
		return
	}
	ds, total, err := s.Q.Dumps(ctx, f, catalog.Page{Limit: pageSize, Offset: p.Page * pageSize})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	chart, err := s.hourChart(r, f, p.Hours, gs[0].Last, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	title := gs[0].Title
	if title == "" {
		title = "no crash report found"
	}
	s.render(w, "group.html", struct {
		Base
		Group catalog.Group
		Path  string
		Dumps []catalog.Entry
		Pager pager
		Chart chartData
	}{s.base(title, p), gs[0], sigPath(gs[0].Signature), ds, newPager(p, total, len(ds)), chart})
}

type boot struct {
	BootID string
	First  time.Time
	Dumps  []catalog.Entry
}

func (s *Server) host(w http.ResponseWriter, r *http.Request) {
	p, err := s.parseParams(r)
	if err != nil {
		s.fail(w, r, badRequest(err))
		return
	}
	dir := r.PathValue("dir")
	f := p.Filter
	f.Host = dir
	ds, total, err := s.Q.Dumps(r.Context(), f, catalog.Page{Limit: 1000})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if total == 0 {
		s.fail(w, r, catalog.ErrNotFound)
		return
	}
	// Boots newest first, each boot's dumps in order.
	var boots []*boot
	at := map[string]*boot{}
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		b := at[d.BootID]
		if b == nil {
			b = &boot{BootID: d.BootID, First: d.When}
			at[d.BootID] = b
			boots = append(boots, b)
		}
		b.Dumps = append(b.Dumps, d)
	}
	sort.SliceStable(boots, func(i, j int) bool { return boots[i].First.After(boots[j].First) })
	name := hostName(ds[0].Dir, ds[0].Host)
	s.render(w, "host.html", struct {
		Base
		Host, Dir string
		Boots     []*boot
		Total     int
		Shown     int
	}{s.baseTo("/", "Host "+name), name, ds[0].Dir, boots, total, len(ds)})
}
