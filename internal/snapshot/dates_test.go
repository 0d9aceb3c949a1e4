package snapshot

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseDates(t *testing.T) {
	tests := []struct {
		list    string
		want    []Date
		wantErr string
	}{
		{list: "03-31", want: []Date{{time.March, 31}}},
		{list: "", want: nil},
		{list: " , ", want: nil},
		{list: "09-30, 03-31,03-31", want: []Date{{time.March, 31}, {time.September, 30}}},
		{list: "02-29", want: []Date{{time.February, 29}}},
		{list: "12-31,01-01", want: []Date{{time.January, 1}, {time.December, 31}}},
		{list: "3-31", wantErr: `"3-31" is not a date MM-DD`},
		{list: "2026-03-31", wantErr: "is not a date MM-DD"},
		{list: "13-01", wantErr: "there is no month 13"},
		{list: "00-10", wantErr: "there is no month 0"},
		{list: "02-30", wantErr: "February has no day 30"},
		{list: "04-31", wantErr: "April has no day 31"},
		{list: "03-00", wantErr: "March has no day 0"},
		{list: "03-31;09-30", wantErr: "is not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			got, err := ParseDates(tt.list)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("dates %v; want %v", got, tt.want)
			}
		})
	}
}

func TestDefaultDatesParse(t *testing.T) {
	dates, err := ParseDates(DefaultDates)
	if err != nil || !slices.Equal(dates, []Date{{time.March, 31}}) {
		t.Fatalf("ParseDates(DefaultDates) = %v, %v; want 31 March", dates, err)
	}
}

func TestLastNextDue(t *testing.T) {
	march31 := []Date{{time.March, 31}}
	twice := []Date{{time.March, 31}, {time.September, 30}}
	leap := []Date{{time.February, 29}}
	tests := []struct {
		name  string
		dates []Date
		now   string
		last  string // "" when none
		next  string
		due   string // "" when nothing is owed
	}{
		{name: "the day before", dates: march31, now: "2026-03-30T23:59:59Z",
			last: "2025-03-31T00:00:00Z", next: "2026-03-31T00:00:00Z", due: "2025-03-31T00:00:00Z"},
		{name: "midnight itself", dates: march31, now: "2026-03-31T00:00:00Z",
			last: "2026-03-31T00:00:00Z", next: "2027-03-31T00:00:00Z", due: "2026-03-31T00:00:00Z"},
		{name: "a second later", dates: march31, now: "2026-03-31T00:00:01Z",
			last: "2026-03-31T00:00:00Z", next: "2027-03-31T00:00:00Z", due: "2026-03-31T00:00:00Z"},
		{name: "a missed date, a week later", dates: march31, now: "2026-04-07T00:00:00Z",
			last: "2026-03-31T00:00:00Z", next: "2027-03-31T00:00:00Z", due: "2026-03-31T00:00:00Z"},
		{name: "a missed date, months later", dates: march31, now: "2026-08-15T09:30:00Z",
			last: "2026-03-31T00:00:00Z", next: "2027-03-31T00:00:00Z", due: "2026-03-31T00:00:00Z"},
		{name: "a missed date, a second before the next one", dates: march31, now: "2027-03-30T23:59:59Z",
			last: "2026-03-31T00:00:00Z", next: "2027-03-31T00:00:00Z", due: "2026-03-31T00:00:00Z"},
		{name: "two years missed: only the most recent date", dates: march31, now: "2028-05-01T00:00:00Z",
			last: "2028-03-31T00:00:00Z", next: "2029-03-31T00:00:00Z", due: "2028-03-31T00:00:00Z"},
		{name: "two dates: the next is the nearer", dates: twice, now: "2026-05-01T12:00:00Z",
			last: "2026-03-31T00:00:00Z", next: "2026-09-30T00:00:00Z", due: "2026-03-31T00:00:00Z"},
		{name: "two dates: only the most recent is owed", dates: twice, now: "2026-10-01T00:00:00Z",
			last: "2026-09-30T00:00:00Z", next: "2027-03-31T00:00:00Z", due: "2026-09-30T00:00:00Z"},
		{name: "29 February waits for a leap year", dates: leap, now: "2026-03-01T00:00:00Z",
			last: "2024-02-29T00:00:00Z", next: "2028-02-29T00:00:00Z", due: "2024-02-29T00:00:00Z"},
		{name: "29 February of a leap year", dates: leap, now: "2028-02-29T06:00:00Z",
			last: "2028-02-29T00:00:00Z", next: "2032-02-29T00:00:00Z", due: "2028-02-29T00:00:00Z"},
		{name: "the clock's zone does not matter", dates: march31, now: "2026-03-31T01:30:00+02:00",
			last: "2025-03-31T00:00:00Z", next: "2026-03-31T00:00:00Z", due: "2025-03-31T00:00:00Z"},
		{name: "no dates: no schedule", dates: nil, now: "2026-03-31T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := day(tt.now)
			check := func(what string, got time.Time, ok bool, want string) {
				t.Helper()
				switch {
				case want == "" && ok:
					t.Errorf("%s = %s; want none", what, got)
				case want != "" && (!ok || !got.Equal(day(want))):
					t.Errorf("%s = %s (%v); want %s", what, got, ok, want)
				case ok && got.Location() != time.UTC:
					t.Errorf("%s is in %s; want UTC", what, got.Location())
				}
			}
			last, ok := Last(tt.dates, now)
			check("Last", last, ok, tt.last)
			next, ok := Next(tt.dates, now)
			check("Next", next, ok, tt.next)
			due, ok := Due(tt.dates, now)
			check("Due", due, ok, tt.due)
		})
	}
}

func TestNames(t *testing.T) {
	d := day("2026-03-31T00:00:00Z")
	if got := NationalName(d); got != "national-2026-03-31" {
		t.Errorf("NationalName = %s", got)
	}
	if got := AreaName("rutland", d); got != "rutland-2026-03-31" {
		t.Errorf("AreaName = %s", got)
	}
	// A moment in another zone is named after its UTC date.
	if got := DateLabel(day("2026-03-31T01:00:00+02:00")); got != "2026-03-30" {
		t.Errorf("DateLabel = %s; want the UTC date 2026-03-30", got)
	}
}
