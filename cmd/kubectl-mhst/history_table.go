package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/history"
)

var (
	historyFormats = []string{formatTable, formatJSON, formatCSV}
	diffFormats    = []string{formatTable, formatJSON}
)

var historyHeader = []string{
	"NAME", "TAKEN", "SCOPE", "AREA", "SETTINGS", "PUPILS", "PUPILS COVERED %", "DISADVANTAGED COVERED", "READY", "DIGEST",
}

var historyCSVHeader = []string{
	"name", "taken_at", "scheduled_for", "scope", "area", "ready", "reason",
	"settings", "settings_covered", "pupils", "pupils_covered", "pupils_covered_percent",
	"disadvantaged_pupils", "disadvantaged_pupils_covered", "disadvantaged_pupils_covered_percent",
	"digest", "digest_check",
}

// takenText is when a snapshot was taken, or "-" while it is not.
func takenText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// readyText is True, or why the snapshot recorded nothing.
func readyText(r history.Row) string {
	if r.Ready {
		return "True"
	}
	return r.Reason
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeHistory writes the snapshots' rows in the format.
func writeHistory(w io.Writer, rows []history.Row, format string) error {
	var err error
	switch format {
	case formatTable:
		lines := [][]string{historyHeader}
		for _, r := range rows {
			lines = append(lines, []string{
				r.Name, takenText(r.TakenAt), string(r.Scope), orDash(r.Area), itoa(r.Settings), itoa(r.Pupils),
				r.PupilsCoveredPercent, itoa(r.DisadvantagedPupilsCovered), readyText(r), string(r.DigestCheck),
			})
		}
		err = writeColumns(w, lines)
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(rows)
	case formatCSV:
		cw := csv.NewWriter(w)
		err = cw.Write(historyCSVHeader)
		for _, r := range rows {
			if err != nil {
				break
			}
			taken := ""
			if r.TakenAt != nil {
				taken = takenText(r.TakenAt)
			}
			err = cw.Write([]string{
				spreadsheetSafe(r.Name), taken, r.ScheduledFor, string(r.Scope), spreadsheetSafe(r.Area), fmt.Sprint(r.Ready), r.Reason,
				itoa(r.Settings), itoa(r.SettingsCovered), itoa(r.Pupils), itoa(r.PupilsCovered), r.PupilsCoveredPercent,
				itoa(r.DisadvantagedPupils), itoa(r.DisadvantagedPupilsCovered), r.DisadvantagedPupilsCoveredPercent,
				r.Digest, string(r.DigestCheck),
			})
		}
		if err == nil {
			cw.Flush()
			err = cw.Error()
		}
	}
	if err != nil {
		return fmt.Errorf("write history as %s: %w", format, err)
	}
	return nil
}

// spreadsheetSafe keeps a spreadsheet from running a cell as a formula.
func spreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeColumns writes lines as aligned columns, the first one a header.
func writeColumns(w io.Writer, lines [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, cells := range lines {
		clean := make([]string, len(cells))
		for i, c := range cells {
			clean[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		}
		if _, err := fmt.Fprintln(tw, strings.Join(clean, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// writeDiff writes the changes between two snapshots in the format.
func writeDiff(w io.Writer, d history.Diff, format string) error {
	var err error
	switch format {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(d)
	case formatTable:
		err = writeDiffTable(w, d)
	}
	if err != nil {
		return fmt.Errorf("write diff as %s: %w", format, err)
	}
	return nil
}

func writeDiffTable(w io.Writer, d history.Diff) error {
	title := "England"
	if d.Scope == mhstv1alpha1.ScopeArea {
		title = "Area " + d.Area
	}
	if _, err := fmt.Fprintf(w, "%s, from %s (taken %s) to %s (taken %s)\n\n", title,
		d.Before.Name, d.Before.TakenAt.Format(time.RFC3339), d.After.Name, d.After.TakenAt.Format(time.RFC3339)); err != nil {
		return err
	}
	figures := [][]string{{"FIGURE", "BEFORE", "AFTER", "CHANGE"}}
	for _, f := range d.Figures {
		figures = append(figures, []string{f.Figure, f.Before, f.After, f.Change})
	}
	if err := writeColumns(w, figures); err != nil {
		return err
	}
	if d.Scope == mhstv1alpha1.ScopeNational {
		return writeAreaChanges(w, d.Areas)
	}
	return writeSettingChanges(w, d)
}

// settingSection is one list of a diff as the table prints it.
type settingSection struct {
	title   string
	changes []history.SettingChange
	// claim picks the claim whose team and decision the table shows.
	claim func(history.SettingChange) *history.Claim
	// covered adds a COVERED column (for added and removed settings).
	covered bool
}

func before(c history.SettingChange) *history.Claim { return c.Before }
func after(c history.SettingChange) *history.Claim  { return c.After }

func writeSettingChanges(w io.Writer, d history.Diff) error {
	sections := []settingSection{
		{title: "Became covered", changes: d.BecameCovered, claim: after},
		{title: "Stopped being covered (the team and decision that covered them)", changes: d.StoppedBeingCovered, claim: before},
		{title: "Covered by another team or decision (now)", changes: d.Reallocated, claim: after},
		{title: "Added to the area", changes: d.Added, claim: after, covered: true},
		{title: "Removed from the area", changes: d.Removed, claim: before, covered: true},
	}
	printed := false
	for _, s := range sections {
		if len(s.changes) == 0 {
			continue
		}
		printed = true
		if _, err := fmt.Fprintf(w, "\n%s: %d\n", s.title, len(s.changes)); err != nil {
			return err
		}
		header := []string{"URN", "NAME", "PUPILS"}
		if s.covered {
			header = append(header, "COVERED")
		}
		lines := [][]string{append(header, "TEAM", "DECISION")}
		for _, c := range s.changes {
			claim := s.claim(c)
			line := []string{c.URN, c.Name, itoa(c.Pupils)}
			if s.covered {
				line = append(line, fmt.Sprint(claim.Covered))
			}
			lines = append(lines, append(line, orDash(claim.Team), orDash(claim.DecisionRef)))
		}
		if err := writeColumns(w, lines); err != nil {
			return err
		}
	}
	if !printed {
		_, err := io.WriteString(w, "\nNo setting became or stopped being covered, changed team or decision, or was added or removed.\n")
		return err
	}
	return nil
}

func writeAreaChanges(w io.Writer, areas []history.AreaChange) error {
	if len(areas) == 0 {
		_, err := io.WriteString(w, "\nNo area's figures changed.\n")
		return err
	}
	if _, err := fmt.Fprintf(w, "\nAreas whose figures changed: %d\n", len(areas)); err != nil {
		return err
	}
	lines := [][]string{{"AREA", "FIGURE", "BEFORE", "AFTER", "CHANGE"}}
	for _, a := range areas {
		name := a.Name
		switch {
		case a.Added:
			name += " (added)"
		case a.Removed:
			name += " (removed)"
		}
		if len(a.Figures) == 0 {
			lines = append(lines, []string{name, "-", "-", "-", ""})
		}
		for _, f := range a.Figures {
			lines = append(lines, []string{name, f.Figure, f.Before, f.After, f.Change})
		}
	}
	return writeColumns(w, lines)
}
