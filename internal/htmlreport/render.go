package htmlreport

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/report"
)

//go:embed page.html.tmpl
var pageTemplate string

// tmpl is parsed once; html/template escapes every value by its context,
// so names typed into manifests cannot inject markup into the page.
var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"number":   number,
	"percent":  coverage.Percent,
	"date":     func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"datetime": func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 MST") },
	"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
	"px":    func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"add":   func(a, b int) int { return a + b },
	"int64": func(n int) int64 { return int64(n) },
	// rowHeight is how far a row's target mark reaches: past both bars.
	"rowHeight": func(r chartRow) int {
		if r.Second != nil {
			return chartRowPair - 6
		}
		return chartRowSingle - 6
	},
}).Parse(pageTemplate))

// view is what the template reads: the page, and its charts drawn.
type view struct {
	Page
	Licence      string
	DataSource   string
	LicenceURL   string
	Charts       map[string]chart
	TeamsChart   *chart
	HistoryChart *chart
}

// Render writes the page as one HTML document.
func Render(w io.Writer, p Page) error {
	v := view{Page: p, Licence: report.Licence, DataSource: DataSource, LicenceURL: LicenceURL, Charts: map[string]chart{}}
	for _, b := range p.Breakdowns {
		v.Charts[b.ID] = coverageChart(b)
	}
	if len(p.Teams) > 0 {
		c := capacityChart(p)
		v.TeamsChart = &c
	}
	if len(p.History) > 0 {
		c := historyChart(p)
		v.HistoryChart = &c
	}
	// Rendered into a buffer first, so that a failure writes nothing.
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return fmt.Errorf("render the report page: %w", err)
	}
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("write the report page: %w", err)
	}
	return nil
}

// number writes a count with thousands separators, as a report reads.
func number(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
