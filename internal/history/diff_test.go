package history

import (
	"reflect"
	"strings"
	"testing"
	"time"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// urns lists the URNs of a diff's list.
func urns(list []SettingChange) []string {
	out := []string{}
	for _, c := range list {
		out = append(out, c.URN)
	}
	return out
}

func TestCompareSettings(t *testing.T) {
	const item4, item9 = "RGB-2025-03 item 4", "RGB-2026-02 item 9"
	oakham := func(covered bool, decision string) []mhstv1alpha1.SnapshotSetting {
		return []mhstv1alpha1.SnapshotSetting{
			setting("120181", 253, covered, "team-oakham", decision),
			setting("136530", 1069, covered, "team-oakham", decision),
			setting("138113", 207, covered, "team-oakham", decision),
		}
	}
	casterton := setting("137340", 967, false, "", "")
	tests := []struct {
		name                                         string
		before, after                                []mhstv1alpha1.SnapshotSetting
		became, stopped, reallocated, added, removed []string
	}{
		{
			name:   "nothing changed",
			before: append(oakham(true, item4), casterton),
			after:  append(oakham(true, item4), casterton),
		},
		{
			name:    "the board withdrew an agreement",
			before:  append(oakham(true, item4), casterton),
			after:   append(oakham(false, ""), casterton),
			stopped: []string{"120181", "136530", "138113"},
		},
		{
			name:   "a team took on a school no team had",
			before: append(oakham(true, item4), casterton),
			after:  append(oakham(true, item4), setting("137340", 967, true, "team-uppingham", item9)),
			became: []string{"137340"},
		},
		{
			name:        "covered before and after, by another team",
			before:      oakham(true, item4),
			after:       []mhstv1alpha1.SnapshotSetting{setting("120181", 253, true, "team-uppingham", item4), setting("136530", 1069, true, "team-oakham", item9), setting("138113", 207, true, "team-oakham", item4)},
			reallocated: []string{"120181", "136530"},
		},
		{
			name:    "settings listed and dropped",
			before:  append(oakham(true, item4), casterton),
			after:   append(oakham(true, item4)[:2], setting("145000", 30, false, "", ""), setting("100001", 90, true, "team-oakham", item4)),
			added:   []string{"100001", "145000"},
			removed: []string{"137340", "138113"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := taken("rutland-2025-03-31", "rutland", march31, rutlandCoverage(1529), tt.before, nil)
			after := taken("rutland-2026-03-31", "rutland", march31.AddDate(1, 0, 0), rutlandCoverage(1529), tt.after, nil)
			d, err := Compare(before, after)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				list string
				got  []SettingChange
				want []string
			}{
				{"became covered", d.BecameCovered, tt.became},
				{"stopped being covered", d.StoppedBeingCovered, tt.stopped},
				{"reallocated", d.Reallocated, tt.reallocated},
				{"added", d.Added, tt.added},
				{"removed", d.Removed, tt.removed},
			} {
				want := orEmpty(c.want)
				if got := urns(c.got); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %v; want %v", c.list, got, want)
				}
			}
		})
	}
}

// orEmpty is list, or an empty list for nil, to compare with urns().
func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// TestWithdrawnAgreementDetail: the settings that stopped being covered
// carry the team and the decision they were covered by, and where they
// stand now.
func TestWithdrawnAgreementDetail(t *testing.T) {
	before := taken("b", "rutland", march31, rutlandCoverage(1529), []mhstv1alpha1.SnapshotSetting{setting("120181", 253, true, "team-oakham", "RGB-2025-03 item 4")}, nil)
	after := taken("a", "rutland", march31.Add(time.Hour), rutlandCoverage(1276), []mhstv1alpha1.SnapshotSetting{setting("120181", 253, false, "team-oakham", "")}, nil)
	d, err := Compare(before, after)
	if err != nil {
		t.Fatal(err)
	}
	want := []SettingChange{{URN: "120181", Name: "School 120181", Pupils: 253, DisadvantagedPupils: ptr[int64](25),
		Before: &Claim{Covered: true, Team: "team-oakham", Allocation: "team-oakham-2025", DecisionRef: "RGB-2025-03 item 4"},
		After:  &Claim{Covered: false, Team: "team-oakham", Allocation: "team-oakham-2025"}}}
	if !reflect.DeepEqual(d.StoppedBeingCovered, want) {
		t.Errorf("stopped being covered:\n got %+v\nwant %+v", d.StoppedBeingCovered, want)
	}
	if d.Before.Name != "b" || d.After.Name != "a" || !d.After.TakenAt.Equal(march31.Add(time.Hour)) {
		t.Errorf("sides %+v → %+v", d.Before, d.After)
	}
}

func TestFigureChanges(t *testing.T) {
	equityBefore, equityAfter := int32(987), int32(1000)
	before := mhstv1alpha1.AreaCoverage{Settings: 5, SettingsCovered: 3, Pupils: 3406, PupilsCovered: 1529,
		DisadvantagedPupils: 474, DisadvantagedPupilsCovered: 210, PupilsCoveredPercent: "44.9", TargetMet: false,
		SettingsCoveredPercent: "60.0", DisadvantagedPupilsCoveredPercent: "44.3", EquityIndexPermille: &equityBefore, PupilsCoveredByTeamsInTraining: 650}
	after := mhstv1alpha1.AreaCoverage{Settings: 5, SettingsCovered: 5, Pupils: 3406, PupilsCovered: 3406,
		DisadvantagedPupils: 474, DisadvantagedPupilsCovered: 474, PupilsCoveredPercent: "100.0", TargetMet: true,
		SettingsCoveredPercent: "100.0", DisadvantagedPupilsCoveredPercent: "100.0", EquityIndexPermille: &equityAfter}
	want := []FigureChange{
		{"settings", "5", "5", "0"},
		{"settingsCovered", "3", "5", "+2"},
		{"pupils", "3406", "3406", "0"},
		{"pupilsCovered", "1529", "3406", "+1877"},
		{"disadvantagedPupils", "474", "474", "0"},
		{"disadvantagedPupilsCovered", "210", "474", "+264"},
		{"pupilsCoveredPercent", "44.9", "100.0", "+55.1"},
		{"targetMet", "false", "true", "changed"},
		{"settingsCoveredPercent", "60.0", "100.0", "+40.0"},
		{"disadvantagedPupilsCoveredPercent", "44.3", "100.0", "+55.7"},
		{"equityIndexPermille", "987", "1000", "+13"},
		{"pupilsCoveredByTeamsInTraining", "650", "0", "-650"},
	}
	if got := figureChanges(&before, &after); !reflect.DeepEqual(got, want) {
		t.Errorf("figures:\n got %v\nwant %v", got, want)
	}
	back := figureChanges(&after, &before)
	if back[3].Change != "-1877" || back[6].Change != "-55.1" {
		t.Errorf("the other way: %v", back)
	}
	same := figureChanges(&before, &before)
	for _, f := range same {
		if f.Changed() || (f.Change != "0" && f.Change != "0.0" && f.Change != "") {
			t.Errorf("unchanged figure %+v", f)
		}
	}
	none := figureChanges(nil, &before)
	if none[0].Before != "-" || none[0].Change != "changed" {
		t.Errorf("a figure only one side has: %+v", none[0])
	}
	if signed(-4, 1) != "-0.4" || signed(0, 1) != "0.0" || signed(7, 0) != "+7" {
		t.Errorf("signed: %s %s %s", signed(-4, 1), signed(0, 1), signed(7, 0))
	}
}

func TestCompareNational(t *testing.T) {
	c := func(pupilsCovered int64, percent string) *mhstv1alpha1.AreaCoverage {
		return &mhstv1alpha1.AreaCoverage{Settings: 10, Pupils: 1000, PupilsCovered: pupilsCovered, PupilsCoveredPercent: percent}
	}
	before := taken("national-2025-03-31", "", march31, *c(1000, "50.0"), nil, []mhstv1alpha1.SnapshotArea{
		{Name: "hartlepool", Coverage: c(500, "50.0")}, {Name: "rutland", Coverage: c(500, "50.0")}, {Name: "york", Coverage: c(0, "0.0")},
	})
	after := taken("national-2026-03-31", "", march31.AddDate(1, 0, 0), *c(1200, "60.0"), nil, []mhstv1alpha1.SnapshotArea{
		{Name: "hartlepool", Coverage: c(500, "50.0")}, {Name: "leeds", Coverage: c(100, "10.0")}, {Name: "rutland", Coverage: c(600, "60.0")},
		{Name: "wakefield"}, // not reporting yet
	})
	d, err := Compare(before, after)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range d.Areas {
		names = append(names, a.Name)
	}
	if !reflect.DeepEqual(names, []string{"leeds", "rutland", "wakefield", "york"}) {
		t.Fatalf("areas that changed: %v; want leeds (added), rutland, wakefield (added), york (removed)", names)
	}
	rutland := d.Areas[1]
	want := []FigureChange{{"pupilsCovered", "500", "600", "+100"}, {"pupilsCoveredPercent", "50.0", "60.0", "+10.0"}}
	if !reflect.DeepEqual(rutland.Figures, want) {
		t.Errorf("rutland: %+v; want only the figures that changed, %+v", rutland.Figures, want)
	}
	if !d.Areas[0].Added || !d.Areas[2].Added || !d.Areas[3].Removed {
		t.Errorf("added/removed: %+v", d.Areas)
	}
	if len(d.Areas[2].Figures) != 0 {
		t.Errorf("an area added without coverage has figures %+v", d.Areas[2].Figures)
	}
	if d.Figures[3] != (FigureChange{"pupilsCovered", "1000", "1200", "+200"}) {
		t.Errorf("national pupilsCovered: %+v", d.Figures[3])
	}
	if len(d.BecameCovered)+len(d.StoppedBeingCovered)+len(d.Added)+len(d.Removed) != 0 {
		t.Error("a National diff lists settings")
	}
}

func TestCompareRefuses(t *testing.T) {
	area := taken("rutland-2025-03-31", "rutland", march31, rutlandCoverage(1), nil, nil)
	york := taken("york-2025-03-31", "york", march31, rutlandCoverage(1), nil, nil)
	national := taken("national-2025-03-31", "", march31, rutlandCoverage(1), nil, nil)
	missing := failed("rutland-typo", "rutlnad", march31, mhstv1alpha1.ReasonAreaNotFound)
	pending := &mhstv1alpha1.CoverageSnapshot{Spec: area.Spec}
	pending.Name = "rutland-now"
	tests := []struct {
		name          string
		before, after *mhstv1alpha1.CoverageSnapshot
		want          string
	}{
		{"two scopes", area, national, "rutland-2025-03-31 is an Area snapshot and national-2025-03-31 a National one"},
		{"two areas", area, york, "records area rutland and york-2025-03-31 area york"},
		{"a snapshot that recorded nothing", area, missing, "rutland-typo recorded nothing (AreaNotFound: No LocalArea rutlnad exists)"},
		{"a snapshot not taken yet", pending, area, "rutland-now is not taken yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compare(tt.before, tt.after)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want one saying %q", err, tt.want)
			}
		})
	}
}
