package web

import (
	"html/template"
	"net/url"
	"time"
)

var funcs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"spark":    sparkline,
	"sigpath":  sigPath,
	"hostname": hostName,
	"pathesc":  url.PathEscape,
}
