package htmlreport

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// The charts are horizontal bar charts drawn in SVG, one row per group: a
// bar on a 0-100% track, a second thinner bar beneath it for
// disadvantaged pupils where the chart has them, and a dashed mark at the
// row's target. Geometry is worked out here so that the template only
// places what it is given.
const (
	chartLabelWidth = 210
	chartTrackWidth = 400
	chartValueWidth = 170
	chartTop        = 26
	chartRowPair    = 42 // a row with two bars
	chartRowSingle  = 28 // a row with one bar
	// chartLabelChars is the most characters of a row's label the chart
	// shows; the table beside it has the full label.
	chartLabelChars = 27
)

// Colours meet WCAG 2.1's 3:1 for graphics on white (and 4.5:1 for text
// drawn in them): the blue 8.6:1, the orange 4.6:1.
const (
	colourMain   = "#1d4f91"
	colourSecond = "#a84b00"
)

// chart is one SVG chart, ready for the template.
type chart struct {
	ID            string
	Title, Desc   string
	Width, Height int
	LabelWidth    int
	TrackX        int
	TrackWidth    int
	ValueX        int
	Ticks         []tick
	Rows          []chartRow
	// MainLegend and SecondLegend name the bars; SecondLegend is empty
	// for a chart with one bar per row.
	MainLegend, SecondLegend string
	TargetLegend             string
	MainColour, SecondColour string
}

type tick struct {
	X     float64
	Label string
}

type chartRow struct {
	Y         int
	Label     string
	Main      bar
	Second    *bar
	TargetX   float64
	Highlight bool
}

type bar struct {
	Y, Height int
	Width     float64
	Text      string
}

// chartScale maps a percentage to a width on the track; scaleMax is the
// percentage at the track's end.
func chartScale(percent, scaleMax float64) float64 {
	if scaleMax <= 0 || percent < 0 {
		return 0
	}
	return min(percent, scaleMax) / scaleMax * chartTrackWidth
}

// percentOf is part/whole in percent, as a float for drawing; the text
// beside the bar is the rounded figure status shows.
func percentOf(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(part) * 100 / float64(whole)
}

func newChart(id, title, desc string, scaleMax float64) chart {
	c := chart{
		ID: id, Title: title, Desc: desc,
		Width:      chartLabelWidth + chartTrackWidth + chartValueWidth,
		LabelWidth: chartLabelWidth, TrackX: chartLabelWidth, TrackWidth: chartTrackWidth,
		ValueX:     chartLabelWidth + chartTrackWidth + 8,
		MainColour: colourMain, SecondColour: colourSecond,
	}
	step := 25.0
	if scaleMax > 100 {
		step = 50
	}
	for p := 0.0; p <= scaleMax+0.001; p += step {
		c.Ticks = append(c.Ticks, tick{X: float64(c.TrackX) + chartScale(p, scaleMax), Label: strconv.FormatFloat(p, 'f', 0, 64) + "%"})
	}
	c.Height = chartTop
	return c
}

// addRow appends a row; second is nil for a chart with one bar per row.
func (c *chart) addRow(label string, main float64, mainText string, second *float64, secondText string, target, scaleMax float64, highlight bool) {
	row := chartRow{Y: c.Height, Label: shorten(label), TargetX: float64(c.TrackX) + chartScale(target, scaleMax), Highlight: highlight}
	row.Main = bar{Y: c.Height + 4, Height: 16, Width: chartScale(main, scaleMax), Text: mainText}
	height := chartRowSingle
	if second != nil {
		row.Second = &bar{Y: c.Height + 22, Height: 10, Width: chartScale(*second, scaleMax), Text: secondText}
		height = chartRowPair
	}
	c.Rows = append(c.Rows, row)
	c.Height += height
}

// finish leaves room for the last row's marks.
func (c *chart) finish() { c.Height += 6 }

// coverageChart draws a breakdown: pupils covered, disadvantaged pupils
// covered, and each row's target.
func coverageChart(b Breakdown) chart {
	c := newChart("chart-"+b.ID, b.Title,
		fmt.Sprintf("Bar chart: for each %s, the share of pupils covered (upper bar) and of disadvantaged pupils covered (lower bar), with a dashed mark at its target. The table that follows gives the same figures.", lowerFirst(b.Label)),
		100)
	c.MainLegend, c.SecondLegend, c.TargetLegend = "pupils covered", "disadvantaged pupils covered", "target"
	for _, r := range b.Rows {
		disadvantaged := percentOf(r.DisadvantagedPupilsCovered, r.DisadvantagedPupils)
		c.addRow(r.Label, percentOf(r.PupilsCovered, r.Pupils), r.PupilsPercent()+"%",
			&disadvantaged, r.DisadvantagedPercent()+"% disadvantaged", float64(r.Target), 100, r.Highlight)
	}
	c.finish()
	return c
}

// capacityChart draws each team's share of its capacity used, against 100%.
func capacityChart(p Page) chart {
	scaleMax := 100.0
	used := make([]float64, len(p.Teams))
	for i, t := range p.Teams {
		used[i], _ = strconv.ParseFloat(t.CapacityUsedPercent, 64)
		for scaleMax < used[i] {
			scaleMax += 50
		}
	}
	c := newChart("chart-teams", "Capacity used by each team",
		"Bar chart: for each team, the share of its capacity (the larger of settings and pupils against spec.capacity) its agreed allocations use, with a dashed mark at 100%. The table that follows gives the same figures.",
		scaleMax)
	c.MainLegend, c.TargetLegend = "capacity used", "full capacity"
	for i, t := range p.Teams {
		c.addRow(nameOf(t.DisplayName, t.Name), used[i], t.CapacityUsedPercent+"%", nil, "", 100, scaleMax, t.OverCapacity)
	}
	c.finish()
	return c
}

// historyChart draws the share of pupils covered at each snapshot.
func historyChart(p Page) chart {
	c := newChart("chart-history", "Coverage at each snapshot",
		fmt.Sprintf("Bar chart: for each snapshot, oldest first, the share of pupils covered (upper bar) and of disadvantaged pupils covered (lower bar), with a dashed mark at the target of %d%%. The table that follows gives the same figures.", p.Target),
		100)
	c.MainLegend, c.SecondLegend, c.TargetLegend = "pupils covered", "disadvantaged pupils covered", "target"
	for _, s := range p.History {
		cov := s.Coverage
		disadvantaged := percentOf(cov.DisadvantagedPupilsCovered, cov.DisadvantagedPupils)
		c.addRow(s.TakenAt.UTC().Format("2 Jan 2006"), percentOf(cov.PupilsCovered, cov.Pupils), cov.PupilsCoveredPercent+"%",
			&disadvantaged, coverage.Percent(cov.DisadvantagedPupilsCovered, cov.DisadvantagedPupils)+"% disadvantaged",
			float64(p.Target), 100, false)
	}
	c.finish()
	return c
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) <= chartLabelChars {
		return s
	}
	r := []rune(s)
	return string(r[:chartLabelChars-1]) + "…"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	if r[0] >= 'A' && r[0] <= 'Z' {
		r[0] += 'a' - 'A'
	}
	return string(r)
}
