package metrics

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryMetricDocumented checks the metrics table of docs/catcher.md
// against the registry: every metric is in it and every row is a metric,
// and every label value a metric can take is named on its row.
func TestEveryMetricDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "catcher.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "## Metrics (`--metrics ADDR`)")
	if !ok {
		t.Fatal("docs/catcher.md has no Metrics section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	rows := map[string]string{} // metric name -> its row
	for line := range strings.Lines(table) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		name := strings.TrimPrefix(line, "| `")
		name, _, _ = strings.Cut(name, "`")
		name, _, _ = strings.Cut(name, "{")
		rows[name] = line
	}
	m := New(func() float64 { return 0 }, func() float64 { return 0 })
	m.SetSpoolGauges(func() float64 { return 0 }, func() float64 { return 0 })
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range fams {
		name := strings.TrimPrefix(f.GetName(), "netoops_catcher_")
		seen[name] = true
		row, ok := rows[name]
		if !ok {
			t.Errorf("metric %s is not in docs/catcher.md", f.GetName())
			continue
		}
		values, labels := map[string]bool{}, map[string]bool{}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				values[l.GetValue()], labels[l.GetName()] = true, true
				if !strings.Contains(row, "`"+l.GetValue()+"`") {
					t.Errorf("%s{%s=%q} is not documented", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
		if len(labels) == 0 {
			continue
		}
		// Every other `word` on the row (but flags and label names) must be
		// a value the label takes.
		_, rest, _ := strings.Cut(strings.TrimPrefix(row, "| `"), "`")
		parts := strings.Split(rest, "`")
		for i := 1; i < len(parts); i += 2 {
			w := parts[i]
			if !values[w] && !labels[w] && !strings.HasPrefix(w, "--") {
				t.Errorf("docs/catcher.md gives %s the value %q, which it never takes", f.GetName(), w)
			}
		}
	}
	for name := range rows {
		if !seen[name] {
			t.Errorf("docs/catcher.md lists %s, which the catcher does not export", name)
		}
	}
}
