package coverage

import (
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// FuzzCompute builds random areas from the fuzz input and checks the
// invariants every area must keep, whatever its allocations look like.
// Plain `go test` runs only the seeds below; explore with
// `go test ./internal/coverage -run x -fuzz FuzzCompute -fuzztime 30s`.
func FuzzCompute(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{100, 2, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 2, 1, 10, 3, 7})
	f.Add([]byte{50, 3, 1, 2, 3, 4, 0, 5, 6, 5, 0, 1, 1, 4, 1, 200, 9, 1, 1, 200, 9, 4, 0, 0, 2, 3, 1, 2, 2, 8, 7, 6, 5, 4, 3, 2, 1})
	f.Add([]byte("the oldest claim wins, a setting is counted once, teamless lists never conflict"))
	f.Fuzz(func(t *testing.T, data []byte) {
		coverages, teams, target := randomArea(data)
		before := deepCopies(coverages)
		res := Compute(coverages, teams, target)
		if !reflect.DeepEqual(coverages, before) {
			t.Fatal("Compute changed its input")
		}
		checkInvariants(t, res, coverages, teams, target)

		slices.Reverse(coverages)
		slices.Reverse(teams)
		if again := Compute(coverages, teams, target); !reflect.DeepEqual(res, again) {
			t.Fatal("result depends on input order")
		}
	})
}

// fuzzBytes hands out the fuzz input a byte at a time, then zeros.
type fuzzBytes struct {
	data []byte
	next int
}

func (b *fuzzBytes) byte() byte {
	if b.next >= len(b.data) {
		return 0
	}
	v := b.data[b.next]
	b.next++
	return v
}

// randomArea makes an area with few URNs, names and timestamps, so that
// shared URNs, ties and missing or suspended teams are common.
func randomArea(data []byte) ([]mhstv1alpha1.SchoolCoverage, []mhstv1alpha1.SupportTeam, int32) {
	in := &fuzzBytes{data: data}
	target := int32(in.byte() % 101)
	teams := make([]mhstv1alpha1.SupportTeam, int(in.byte()%4))
	for i := range teams {
		teams[i] = team(fmt.Sprintf("team-%d", i), in.byte()%4 == 0)
		teams[i].Spec.Capacity = mhstv1alpha1.Capacity{MaxSettings: int32(in.byte() % 5), MaxPupils: int32(in.byte()) * 10}
	}
	coverages := make([]mhstv1alpha1.SchoolCoverage, int(in.byte()%7))
	for i := range coverages {
		teamChoice := in.byte() % 5 // 4 is no team; team-3 never exists
		teamName := ""
		if teamChoice < 4 {
			teamName = fmt.Sprintf("team-%d", teamChoice)
		}
		coverages[i] = allocation(fmt.Sprintf("cov-%d", i), int(in.byte()%3), teamName, in.byte()%3 != 0)
		for range 1 + int(in.byte()%5) {
			coverages[i].Spec.Settings = append(coverages[i].Spec.Settings, randomSetting(in))
		}
	}
	return coverages, teams, target
}

func randomSetting(in *fuzzBytes) mhstv1alpha1.Setting {
	s := schoolUnknownFSM(fmt.Sprintf("1000%02d", in.byte()%10), int32(in.byte())*int32(in.byte()))
	if d := in.byte(); d%4 != 0 {
		known := min(s.Pupils, int32(d)*3)
		s.DisadvantagedPupils = &known
	}
	s.SessionsPerWeek = int32(in.byte() % 11)
	return s
}

func checkInvariants(t *testing.T, res Result, coverages []mhstv1alpha1.SchoolCoverage, teams []mhstv1alpha1.SupportTeam, target int32) {
	t.Helper()
	a := res.Area
	if a.SettingsCovered > a.Settings || a.PupilsCovered > a.Pupils || a.DisadvantagedPupilsCovered > a.DisadvantagedPupils {
		t.Fatalf("covered exceeds total: %+v", a)
	}
	checkSettingRecords(t, res, coverages)
	checkTeamsAddUp(t, res, teams)
	checkAllocationsAddUp(t, res)
	checkPercent(t, a.PupilsCoveredPercent, a.PupilsCovered, a.Pupils)
	checkPercent(t, a.SettingsCoveredPercent, a.SettingsCovered, a.Settings)
	checkPercent(t, a.DisadvantagedPupilsCoveredPercent, a.DisadvantagedPupilsCovered, a.DisadvantagedPupils)
	checkEquity(t, a)
	if want := a.PupilsCovered*100 >= int64(target)*a.Pupils; a.TargetMet != want {
		t.Fatalf("TargetMet = %v with %d/%d pupils and target %d", a.TargetMet, a.PupilsCovered, a.Pupils, target)
	}
}

// checkSettingRecords: one record per distinct URN listed anywhere, in URN
// order, adding up to the area's figures.
func checkSettingRecords(t *testing.T, res Result, coverages []mhstv1alpha1.SchoolCoverage) {
	t.Helper()
	var listed []string
	for _, c := range coverages {
		for _, s := range c.Spec.Settings {
			listed = append(listed, s.URN)
		}
	}
	slices.Sort(listed)
	listed = slices.Compact(listed)
	var urns []string
	var sum mhstv1alpha1.AreaCoverage
	var unknown int64
	for _, s := range res.Settings {
		urns = append(urns, s.URN)
		d := int64(0)
		if s.DisadvantagedPupils == nil {
			unknown++
		} else {
			d = int64(*s.DisadvantagedPupils)
		}
		sum.Settings++
		sum.Pupils += s.Pupils
		sum.DisadvantagedPupils += d
		if s.Covered {
			if !res.Allocations[s.Allocation].Covers() {
				t.Fatalf("setting %s covered through allocation %s that cannot cover", s.URN, s.Allocation)
			}
			sum.SettingsCovered++
			sum.PupilsCovered += s.Pupils
			sum.DisadvantagedPupilsCovered += d
		}
	}
	if !slices.Equal(urns, listed) {
		t.Fatalf("setting records %v, want each listed URN once in order %v", urns, listed)
	}
	// The derived figures are checked against their definitions in
	// checkInvariants; here only the counts must add up.
	sum.PupilsCoveredPercent, sum.TargetMet = res.Area.PupilsCoveredPercent, res.Area.TargetMet
	sum.SettingsCoveredPercent, sum.DisadvantagedPupilsCoveredPercent = res.Area.SettingsCoveredPercent, res.Area.DisadvantagedPupilsCoveredPercent
	sum.EquityIndexPermille = res.Area.EquityIndexPermille
	if sum != res.Area || unknown != res.DisadvantagedUnknown {
		t.Fatalf("records add up to %+v (unknown %d), area says %+v (unknown %d)", sum, unknown, res.Area, res.DisadvantagedUnknown)
	}
}

func checkTeamsAddUp(t *testing.T, res Result, teams []mhstv1alpha1.SupportTeam) {
	t.Helper()
	if len(res.Teams) != len(teams) {
		t.Fatalf("%d teams in result, %d given", len(res.Teams), len(teams))
	}
	var settings, pupils, disadvantaged int64
	for _, team := range res.Teams {
		settings += team.SettingsCovered
		pupils += team.PupilsCovered
		disadvantaged += team.DisadvantagedPupilsCovered
		if team.SettingsCovered > team.Settings || team.PupilsCovered > team.Pupils {
			t.Fatalf("team %s covers more than it holds: %+v", team.Name, team)
		}
		capacity := max(parseTenths(t, team.CapacityUsedPercent), 0)
		checkPercentAtLeast(t, capacity, team.Settings, team.MaxSettings)
		checkPercentAtLeast(t, capacity, team.Pupils, team.MaxPupils)
		if team.OverCapacity != (team.Settings > team.MaxSettings || team.Pupils > team.MaxPupils) {
			t.Fatalf("team %s OverCapacity wrong: %+v", team.Name, team)
		}
	}
	a := res.Area
	if settings != a.SettingsCovered || pupils != a.PupilsCovered || disadvantaged != a.DisadvantagedPupilsCovered {
		t.Fatalf("teams cover %d settings, %d pupils, %d disadvantaged; area says %+v", settings, pupils, disadvantaged, a)
	}
}

func checkAllocationsAddUp(t *testing.T, res Result) {
	t.Helper()
	var settings, pupils int64
	for _, alloc := range res.Allocations {
		settings += alloc.Settings
		pupils += alloc.Pupils
		if len(alloc.Conflicts) > 0 && !alloc.TeamNamed {
			t.Fatalf("teamless allocation %s has conflicts %v", alloc.Name, alloc.Conflicts)
		}
		for _, c := range alloc.Conflicts {
			if winner := res.Allocations[c.ClaimedBy]; !winner.TeamNamed || c.ClaimedBy == alloc.Name {
				t.Fatalf("conflict %+v of %s names an invalid winner", c, alloc.Name)
			}
			i, ok := slices.BinarySearchFunc(res.Settings, c.URN, func(s SettingRecord, urn string) int { return strings.Compare(s.URN, urn) })
			if !ok || res.Settings[i].Allocation != c.ClaimedBy {
				t.Fatalf("conflict %+v of %s: the URN is not counted for its winner", c, alloc.Name)
			}
		}
	}
	if settings != res.Area.Settings || pupils != res.Area.Pupils {
		t.Fatalf("allocations are credited %d settings and %d pupils, area has %d and %d", settings, pupils, res.Area.Settings, res.Area.Pupils)
	}
}

// checkEquity checks the equity index against its definition, stated the
// other way round: e is 1000 × dc × p ÷ (d × pc) rounded half up exactly
// when (2e − 1) × d × pc ≤ 2000 × dc × p < (2e + 1) × d × pc; and it is
// absent exactly when d or pc is 0.
func checkEquity(t *testing.T, a mhstv1alpha1.AreaCoverage) {
	t.Helper()
	undefined := a.DisadvantagedPupils == 0 || a.PupilsCovered == 0
	if undefined != (a.EquityIndexPermille == nil) {
		t.Fatalf("equity index %v with %d disadvantaged and %d pupils covered", a.EquityIndexPermille, a.DisadvantagedPupils, a.PupilsCovered)
	}
	if undefined {
		return
	}
	e := big.NewInt(int64(*a.EquityIndexPermille))
	den := new(big.Int).Mul(big.NewInt(a.DisadvantagedPupils), big.NewInt(a.PupilsCovered))
	scaled := new(big.Int).Mul(big.NewInt(2000*a.DisadvantagedPupilsCovered), big.NewInt(a.Pupils))
	low := new(big.Int).Mul(new(big.Int).Sub(new(big.Int).Lsh(e, 1), big.NewInt(1)), den)
	high := new(big.Int).Mul(new(big.Int).Add(new(big.Int).Lsh(e, 1), big.NewInt(1)), den)
	if low.Cmp(scaled) > 0 || scaled.Cmp(high) >= 0 {
		t.Fatalf("equity index %d is not 1000 × %d × %d ÷ (%d × %d) rounded half up", *a.EquityIndexPermille,
			a.DisadvantagedPupilsCovered, a.Pupils, a.DisadvantagedPupils, a.PupilsCovered)
	}
}

// checkPercent checks that s is part/whole in percent rounded half up to one
// decimal: tenths - 1/2 <= 1000*part/whole < tenths + 1/2.
func checkPercent(t *testing.T, s string, part, whole int64) {
	t.Helper()
	tenths := parseTenths(t, s)
	if whole == 0 {
		if tenths != 0 {
			t.Fatalf("percent of nothing is %q", s)
		}
		return
	}
	if (2*tenths-1)*whole > 2000*part || 2000*part >= (2*tenths+1)*whole {
		t.Fatalf("Percent(%d, %d) = %q is not rounded half up", part, whole, s)
	}
}

// checkPercentAtLeast checks that the rounded capacity is no less than
// part/whole rounded.
func checkPercentAtLeast(t *testing.T, tenths, part, whole int64) {
	t.Helper()
	if got := parseTenths(t, Percent(part, whole)); got > tenths {
		t.Fatalf("capacity %d tenths is below %d/%d", tenths, part, whole)
	}
}

func parseTenths(t *testing.T, s string) int64 {
	t.Helper()
	units, tenth, ok := strings.Cut(s, ".")
	if !ok || len(tenth) != 1 {
		t.Fatalf("percent %q is not in the form N.N", s)
	}
	n, err := strconv.ParseInt(units+tenth, 10, 64)
	if err != nil {
		t.Fatalf("percent %q: %v", s, err)
	}
	return n
}
