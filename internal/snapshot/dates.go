package snapshot

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultDates is the default of --snapshot-dates: 31 March, the date the
// programme reports its coverage on.
const DefaultDates = "03-31"

// Date is a day of the year on which the operator takes snapshots, at 00:00
// UTC. 02-29 is taken in leap years only.
type Date struct {
	Month time.Month
	Day   int
}

// String is the date as --snapshot-dates writes it, MM-DD.
func (d Date) String() string { return fmt.Sprintf("%02d-%02d", int(d.Month), d.Day) }

var datePattern = regexp.MustCompile(`^([0-9]{2})-([0-9]{2})$`)

// ParseDates reads a comma-separated list of MM-DD dates, such as
// "03-31,09-30". Spaces around a date are ignored, and so are repeats; an
// empty list is no date at all (no snapshot is scheduled). The dates come
// back in calendar order.
func ParseDates(list string) ([]Date, error) {
	var dates []Date
	for field := range strings.SplitSeq(list, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		d, err := parseDate(field)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(dates, d) {
			dates = append(dates, d)
		}
	}
	slices.SortFunc(dates, func(a, b Date) int {
		return cmp.Or(cmp.Compare(a.Month, b.Month), cmp.Compare(a.Day, b.Day))
	})
	return dates, nil
}

func parseDate(s string) (Date, error) {
	m := datePattern.FindStringSubmatch(s)
	if m == nil {
		return Date{}, fmt.Errorf("%q is not a date MM-DD, such as 03-31", s)
	}
	month, _ := strconv.Atoi(m[1])
	day, _ := strconv.Atoi(m[2])
	if month < 1 || month > 12 {
		return Date{}, fmt.Errorf("%q: there is no month %d", s, month)
	}
	// 2000 is a leap year: every day that exists in some year is accepted.
	if day < 1 || day > daysIn(time.Month(month), 2000) {
		return Date{}, fmt.Errorf("%q: %s has no day %d", s, time.Month(month), day)
	}
	return Date{Month: time.Month(month), Day: day}, nil
}

func daysIn(month time.Month, year int) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// in is the date's 00:00 UTC in year, and false when the date does not
// exist that year (02-29 outside leap years).
func (d Date) in(year int) (time.Time, bool) {
	t := time.Date(year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	return t, t.Month() == d.Month
}

// searchYears bounds the search for an occurrence: 02-29 alone recurs at
// most eight years apart (1896 to 1904).
const searchYears = 9

// Last is the latest 00:00 UTC of one of the dates at or before now; false
// when there are no dates.
func Last(dates []Date, now time.Time) (time.Time, bool) {
	now = now.UTC()
	var best time.Time
	found := false
	for year := now.Year(); year > now.Year()-searchYears && !found; year-- {
		for _, d := range dates {
			if t, ok := d.in(year); ok && !t.After(now) && (!found || t.After(best)) {
				best, found = t, true
			}
		}
	}
	return best, found
}

// Next is the earliest 00:00 UTC of one of the dates after now; false when
// there are no dates.
func Next(dates []Date, now time.Time) (time.Time, bool) {
	now = now.UTC()
	var best time.Time
	found := false
	for year := now.Year(); year < now.Year()+searchYears && !found; year++ {
		for _, d := range dates {
			if t, ok := d.in(year); ok && t.After(now) && (!found || t.Before(best)) {
				best, found = t, true
			}
		}
	}
	return best, found
}

// Due is the date whose snapshots may be owed at now: the most recent one
// that has come, however long ago. The schedule takes it unless it is
// taken already (or no area was Active on it), so a date no operator was
// leading at (it was down, or being upgraded) is taken when one starts, even
// months late: the figures published for a reporting date are the ones
// asked for, and a snapshot taken late records coverage at the moment it
// really is taken (status.takenAt), labelled with the date it stands for.
//
// Only the most recent date is ever owed. The dates before it are past
// catching up: their snapshots would all record the same figures of today
// under the names of several dates, which reads as a history that never
// was. The most recent one is the date a report asks about now, and the
// one snapshot of it says when it was taken.
func Due(dates []Date, now time.Time) (time.Time, bool) {
	return Last(dates, now)
}

// DateLabel is the value of the label mhst.io/snapshot-date of the
// snapshots taken for day: YYYY-MM-DD.
func DateLabel(day time.Time) string { return day.UTC().Format(time.DateOnly) }

// NationalName is the name of the National snapshot of day:
// national-YYYY-MM-DD.
func NationalName(day time.Time) string { return "national-" + DateLabel(day) }

// AreaName is the name of the area's snapshot of day: <area>-YYYY-MM-DD.
func AreaName(area string, day time.Time) string { return area + "-" + DateLabel(day) }
