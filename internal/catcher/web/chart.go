package web

import (
	"fmt"
	"html"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/netoops/netoops/internal/catcher/catalog"
)

// palette colours the signatures with the most dumps in a chart; the
// rest are "other".
var palette = []string{"#c0392b", "#2471a3", "#d68910", "#229954", "#7d3c98", "#17a589", "#a04000", "#2e4053"}

const (
	otherColor    = "#aab7b8"
	noReportColor = "#d5dbdb" // dumps without a crash report (test dumps, shutdowns)
)

// ranked returns the signatures of the buckets inside the chart's hours
// from start, most dumps first (then by signature), their dumps, and
// which of them the chart draws in a colour of their own: the first
// len(palette) with a crash report, and the dumps without one.
func ranked(buckets []catalog.Bucket, start time.Time, hours int) (sigs []string, per map[string]int, colored []string) {
	per = map[string]int{}
	for _, b := range buckets {
		if i := int(b.Hour.Sub(start) / time.Hour); i >= 0 && i < hours {
			per[b.Signature] += b.Dumps
		}
	}
	sigs = make([]string, 0, len(per))
	for s := range per {
		sigs = append(sigs, s)
	}
	sort.Slice(sigs, func(i, j int) bool {
		if per[sigs[i]] != per[sigs[j]] {
			return per[sigs[i]] > per[sigs[j]]
		}
		return sigs[i] < sigs[j]
	})
	next := 0
	for _, s := range sigs {
		if next < len(palette) || s == "" {
			colored = append(colored, s)
			if s != "" {
				next++
			}
		}
	}
	return sigs, per, colored
}

// drawHours draws buckets as stacked bars, one per hour from start, the
// signatures with most dumps in their own colours (ranked); titles has
// the titles of those. Every text in it (titles in tooltips) is
// escaped.
func drawHours(buckets []catalog.Bucket, start time.Time, hours int, titles map[string]string) (template.HTML, []legendItem, int) {
	const w, h, left, bottom, top = 960, 200, 40, 22, 8
	counts := make([]map[string]int, hours)
	total := 0
	for _, b := range buckets {
		i := int(b.Hour.Sub(start) / time.Hour)
		if i < 0 || i >= hours {
			continue
		}
		if counts[i] == nil {
			counts[i] = map[string]int{}
		}
		counts[i][b.Signature] += b.Dumps
		total += b.Dumps
	}
	_, per, colored := ranked(buckets, start, hours)
	color := map[string]string{}
	var legend []legendItem
	other := total
	next := 0
	for _, s := range colored {
		col := noReportColor
		if s != "" {
			col = palette[next]
			next++
		}
		color[s] = col
		t := titles[s]
		if t == "" && s == "" {
			t = "no crash report found"
		}
		legend = append(legend, legendItem{Color: col, Title: t, Path: sigPath(s), Dumps: per[s]})
		other -= per[s]
	}
	if other > 0 {
		legend = append(legend, legendItem{Color: otherColor, Title: "other signatures", Dumps: other})
	}
	peak := 1
	for _, c := range counts {
		n := 0
		for _, v := range c {
			n += v
		}
		peak = max(peak, n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="crashes per hour">`, w, h, w, h)
	plotH := float64(h - bottom - top)
	bw := float64(w-left) / float64(hours)
	// Axes and grid: the peak and half of it.
	for _, v := range []int{peak, peak / 2} {
		if v == 0 {
			continue
		}
		y := float64(top) + plotH - plotH*float64(v)/float64(peak)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">%d</text>`,
			left, y, w, y, left-4, y+4, v)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, left, h-bottom, w, h-bottom)
	step := 1
	for _, st := range []int{1, 2, 3, 6, 12, 24, 48, 72, 168, 336} {
		step = st
		if hours/st <= 16 {
			break
		}
	}
	for i := 0; i < hours; i++ {
		t := start.Add(time.Duration(i) * time.Hour)
		x := float64(left) + float64(i)*bw
		if i%step == 0 {
			label := t.Format("15h")
			if t.Hour() == 0 || i == 0 {
				label = t.Format("Jan 2")
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#555">%s</text>`, x, h-6, label)
		}
		c := counts[i]
		if c == nil {
			continue
		}
		y := float64(top) + plotH
		// Bottom up in the legend's order, "other" on top.
		otherN := 0
		for _, n := range c {
			otherN += n
		}
		for _, s := range colored {
			n := c[s]
			if n == 0 {
				continue
			}
			otherN -= n
			y = bar(&b, x, y, bw, plotH*float64(n)/float64(peak), color[s],
				fmt.Sprintf("%s %s: %d", t.Format("2006-01-02 15:00Z"), titleOr(titles[s], s), n))
		}
		if otherN > 0 {
			bar(&b, x, y, bw, plotH*float64(otherN)/float64(peak), otherColor,
				fmt.Sprintf("%s other signatures: %d", t.Format("2006-01-02 15:00Z"), otherN))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), legend, total
}

func titleOr(t, sig string) string {
	if t != "" {
		return t
	}
	if sig == "" {
		return "no crash report found"
	}
	return sig
}

// bar draws one segment ending at y (its bottom) and returns its top.
func bar(b *strings.Builder, x, y, bw, hgt float64, col, tip string) float64 {
	top := y - hgt
	fmt.Fprintf(b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s</title></rect>`,
		x+0.5, top, max(bw-1, 0.5), hgt, col, html.EscapeString(tip))
	return top
}

// sparkline draws a group's dumps per day as small bars.
func sparkline(days []int) template.HTML {
	const w, h = 98, 18
	peak := 1
	for _, n := range days {
		peak = max(peak, n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d">`, w, h, w, h)
	bw := float64(w) / float64(max(len(days), 1))
	for i, n := range days {
		hgt := 1.0
		col := "#e5e8e8"
		if n > 0 {
			hgt = max(2, float64(h-1)*float64(n)/float64(peak))
			col = "#c0392b"
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%d</title></rect>`,
			float64(i)*bw+0.5, float64(h)-hgt, bw-1, hgt, col, n)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
