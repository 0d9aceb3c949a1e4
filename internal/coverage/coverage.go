// Package coverage computes an area's coverage: which of the settings
// (schools and colleges) listed by its SchoolCoverages, and which of their
// pupils, can reach a Mental Health Support Team.
//
// This file is the one place the rules live (docs: API.md, "Coverage,
// precisely"):
//
//   - In one area a setting (URN) is counted once.
//   - A SchoolCoverage that names a team (spec.teamRef) claims its URNs. When
//     two of them list the same URN, the oldest claim wins: the earliest
//     creationTimestamp, then the smaller name. The other one reports a
//     Conflict naming the winner. This holds whichever teams they name, even
//     the same one: a setting is allocated once.
//   - A SchoolCoverage without a teamRef never conflicts. A URN it lists that
//     a team claim also lists counts as the team's. Between two teamless
//     lists, the oldest (same ordering) counts it.
//   - The claim that counts gives the setting's figures (name, phase, pupils,
//     disadvantaged pupils, sessions).
//   - A setting is covered when the claim that counts is in a SchoolCoverage
//     that has an agreement and names a team that exists and is not
//     suspended. A losing claim never covers, and never takes over when the
//     winning one cannot cover: the oldest claim holds the setting until it
//     is withdrawn.
//   - Percentages are rounded half up to one decimal with integer arithmetic;
//     the target is met when pupilsCovered × 100 ≥ coverageTarget × pupils.
//   - The equity index is 1000 × disadvantagedPupilsCovered × pupils ÷
//     (disadvantagedPupils × pupilsCovered), rounded half up, in integers;
//     undefined (nil) when disadvantagedPupils or pupilsCovered is 0.
//
// What depends on the date (the current target, teams in training) is
// worked out from a Result by package plan.
//
// Compute is pure: it reads its inputs, never changes them, and returns the
// same Result for the same objects whatever order they come in.
package coverage

import (
	"math"
	"math/big"
	"slices"
	"strings"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Defaults the API server applies to fields left empty. Compute applies them
// too, so objects built in code (or created before a default existed) count
// the same as stored ones.
const (
	DefaultMaxSettings     int32 = 20
	DefaultMaxPupils       int32 = 8500
	DefaultSessionsPerWeek int32 = 2
	DefaultCoverageTarget  int32 = 100
)

// Result is everything Compute works out for one area.
type Result struct {
	// Area holds the figures for LocalArea status.coverage.
	Area mhstv1alpha1.AreaCoverage
	// DisadvantagedUnknown is the number of counted settings whose
	// disadvantaged pupils are not known; they add 0 to the disadvantaged
	// figures, and reports say how many there are.
	DisadvantagedUnknown int64
	// Allocations holds one entry per SchoolCoverage, by name.
	Allocations map[string]Allocation
	// Teams holds one entry per SupportTeam given to Compute, by name,
	// including teams with nothing allocated.
	Teams map[string]Team
	// Settings holds one record per distinct URN, sorted by URN.
	Settings []SettingRecord
}

// Allocation is what one SchoolCoverage counts for in its area.
type Allocation struct {
	// Name of the SchoolCoverage.
	Name string
	// Team is spec.teamRef.name, or "" when no team is named.
	Team string
	// TeamNamed is true when spec.teamRef is set.
	TeamNamed bool
	// TeamFound is true when the named team exists in the area.
	TeamFound bool
	// TeamSuspended is true when the named team exists and is suspended.
	TeamSuspended bool
	// Agreed is true when spec.agreement is set.
	Agreed bool
	// Agreement is a copy of spec.agreement, so reports can show which board
	// decision an allocation rests on; nil when not agreed.
	Agreement *mhstv1alpha1.Agreement
	// Settings, Pupils and DisadvantagedPupils count the settings credited
	// to this allocation: those whose counting claim is this one.
	Settings            int64
	Pupils              int64
	DisadvantagedPupils int64
	// SettingsCovered, PupilsCovered and DisadvantagedPupilsCovered count
	// the credited settings that are covered (all of them or none).
	SettingsCovered            int64
	PupilsCovered              int64
	DisadvantagedPupilsCovered int64
	// Conflicts are the URNs this allocation lists that an older team claim
	// holds, sorted by URN. Always empty for a list without a team.
	Conflicts []mhstv1alpha1.Conflict
}

// Covers reports whether the settings credited to the allocation are covered:
// it is agreed and its team exists and is not suspended.
func (a Allocation) Covers() bool {
	return a.Agreed && a.TeamFound && !a.TeamSuspended
}

// Team is what the area's allocations give one SupportTeam.
//
// Settings, Pupils and DisadvantagedPupils count the settings the team holds
// through agreed allocations (the claims that count), whether or not the
// team is suspended: that is the load the board has given it, and what its
// capacity is measured against. Proposed (unagreed) claims are counted apart
// in ProposedSettings and ProposedPupils, so a board can see what agreeing
// them would add. The Covered figures are the agreed ones while the team is
// not suspended, and 0 while it is.
type Team struct {
	// Name of the SupportTeam.
	Name string
	// Suspended is spec.suspend.
	Suspended bool
	// Settings, Pupils and DisadvantagedPupils are held through agreed
	// allocations.
	Settings            int64
	Pupils              int64
	DisadvantagedPupils int64
	// SettingsCovered, PupilsCovered and DisadvantagedPupilsCovered are
	// the covered part of the above.
	SettingsCovered            int64
	PupilsCovered              int64
	DisadvantagedPupilsCovered int64
	// ProposedSettings and ProposedPupils are held through allocations that
	// are not agreed yet.
	ProposedSettings int64
	ProposedPupils   int64
	// MaxSettings and MaxPupils are the team's capacity, defaults applied.
	MaxSettings int64
	MaxPupils   int64
	// CapacityUsedPercent is the larger of Settings/MaxSettings and
	// Pupils/MaxPupils in percent, rounded half up to one decimal.
	CapacityUsedPercent string
	// OverCapacity is true when Settings > MaxSettings or Pupils > MaxPupils.
	OverCapacity bool
}

// SettingRecord is one distinct setting of the area, with the figures of the
// claim that counts.
type SettingRecord struct {
	URN   string
	Name  string
	Phase mhstv1alpha1.SettingPhase
	// Pupils is the setting's headcount.
	Pupils int64
	// DisadvantagedPupils is nil when not known.
	DisadvantagedPupils *int32
	// Team is the team named by the counting claim, or "".
	Team string
	// Allocation is the name of the SchoolCoverage whose claim counts.
	Allocation string
	// DecisionRef is the board decision that allocation rests on
	// (spec.agreement.decisionRef), or "" while it is Proposed.
	DecisionRef string
	// Covered is true when the setting can reach its team.
	Covered bool
	// SessionsPerWeek is in half-days, DefaultSessionsPerWeek when unset.
	SessionsPerWeek        int32
	SeniorMentalHealthLead bool
}

// claim is a setting as listed by the SchoolCoverage that counts it.
type claim struct {
	from    *mhstv1alpha1.SchoolCoverage
	setting mhstv1alpha1.Setting
}

// Compute applies the coverage rules to the SchoolCoverages and SupportTeams
// of one area. coverageTarget is the area's target in percent.
//
// Names are unique within a namespace, so the inputs are expected to have
// unique names; if a name repeats, the first team of that name is used and
// allocations of the same name share one entry.
func Compute(coverages []mhstv1alpha1.SchoolCoverage, teams []mhstv1alpha1.SupportTeam, coverageTarget int32) Result {
	oldestFirst := byAge(coverages)
	teamsByName := indexTeams(teams)
	counting, conflicts := resolveClaims(oldestFirst)

	res := Result{
		Allocations: newAllocations(oldestFirst, teamsByName, conflicts),
		Teams:       newTeams(teams),
		Settings:    make([]SettingRecord, 0, len(counting)),
	}
	urns := make([]string, 0, len(counting))
	for urn := range counting {
		urns = append(urns, urn)
	}
	slices.Sort(urns)
	for _, urn := range urns {
		res.credit(counting[urn])
	}
	res.finish(coverageTarget)
	return res
}

// Percent is part/whole in percent, rounded half up to one decimal, for
// example "52.3", "100.0", or "0.0" when whole is 0. It uses integer
// arithmetic only, so the same counts always give the same string. Negative
// counts (which the API does not allow) are treated as 0.
func Percent(part, whole int64) string {
	t := tenthsOfPercent(part, whole)
	units, tenth := new(big.Int).QuoRem(t, big.NewInt(10), new(big.Int))
	return units.String() + "." + tenth.String()
}

// TargetMet reports whether pupilsCovered × 100 ≥ coverageTarget × pupils.
// An area with no pupils meets any target.
func TargetMet(pupilsCovered, pupils int64, coverageTarget int32) bool {
	return pupilsCovered*100 >= int64(coverageTarget)*pupils
}

// EquityIndexPermille is how the share of disadvantaged pupils covered
// compares with the share of all pupils covered, in thousandths:
// 1000 × disadvantagedCovered × pupils ÷ (disadvantaged × pupilsCovered),
// rounded half up. 1000 means in proportion. It is nil when undefined, that
// is when disadvantaged or pupilsCovered is 0 (or negative, which the API
// does not allow). A value beyond the int32 range, possible only in areas
// far from any real one, is capped at math.MaxInt32.
func EquityIndexPermille(disadvantagedCovered, pupils, disadvantaged, pupilsCovered int64) *int32 {
	if disadvantaged <= 0 || pupilsCovered <= 0 {
		return nil
	}
	num := new(big.Int).Mul(big.NewInt(1000), big.NewInt(max(disadvantagedCovered, 0)))
	num.Mul(num, big.NewInt(max(pupils, 0)))
	den := new(big.Int).Mul(big.NewInt(disadvantaged), big.NewInt(pupilsCovered))
	v := roundHalfUp(num, den)
	if !v.IsInt64() || v.Int64() > math.MaxInt32 {
		capped := int32(math.MaxInt32)
		return &capped
	}
	e := int32(v.Int64())
	return &e
}

// roundHalfUp is num/den rounded half up, for num ≥ 0 and den > 0:
// floor((2 × num + den) / (2 × den)).
func roundHalfUp(num, den *big.Int) *big.Int {
	n := new(big.Int).Lsh(num, 1)
	n.Add(n, den)
	d := new(big.Int).Lsh(den, 1)
	return n.Quo(n, d)
}

// TargetOf is the area's coverage target, DefaultCoverageTarget when unset.
func TargetOf(area *mhstv1alpha1.LocalArea) int32 {
	if area.Spec.CoverageTarget == nil {
		return DefaultCoverageTarget
	}
	return *area.Spec.CoverageTarget
}

// tenthsOfPercent is round-half-up(part × 1000 / whole), computed as
// floor((2000 × part + whole) / (2 × whole)). big.Int keeps it exact for
// every int64 input.
func tenthsOfPercent(part, whole int64) *big.Int {
	if part <= 0 || whole <= 0 {
		return new(big.Int)
	}
	num := new(big.Int).Mul(big.NewInt(part), big.NewInt(2000))
	num.Add(num, big.NewInt(whole))
	den := new(big.Int).Mul(big.NewInt(whole), big.NewInt(2))
	return num.Quo(num, den)
}

// byAge returns pointers to the coverages, oldest claim first: earliest
// creationTimestamp, then the smaller name.
func byAge(coverages []mhstv1alpha1.SchoolCoverage) []*mhstv1alpha1.SchoolCoverage {
	ordered := make([]*mhstv1alpha1.SchoolCoverage, len(coverages))
	for i := range coverages {
		ordered[i] = &coverages[i]
	}
	slices.SortStableFunc(ordered, func(a, b *mhstv1alpha1.SchoolCoverage) int {
		ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return ordered
}

// resolveClaims walks the coverages oldest first and returns, for every URN,
// the claim that counts, and for every coverage the conflicts it loses.
// Walking oldest first means the first team claim seen for a URN is the
// winner, and a teamless list only holds a URN until a team claim arrives.
func resolveClaims(oldestFirst []*mhstv1alpha1.SchoolCoverage) (map[string]claim, map[string][]mhstv1alpha1.Conflict) {
	counting := map[string]claim{}
	conflicts := map[string][]mhstv1alpha1.Conflict{}
	for _, cov := range oldestFirst {
		for _, s := range distinctSettings(cov.Spec.Settings) {
			held, ok := counting[s.URN]
			switch {
			case !ok:
				counting[s.URN] = claim{from: cov, setting: s}
			case cov.Spec.TeamRef == nil:
				// A teamless list never displaces or conflicts.
			case held.from.Spec.TeamRef == nil:
				counting[s.URN] = claim{from: cov, setting: s}
			default:
				conflicts[cov.Name] = append(conflicts[cov.Name], mhstv1alpha1.Conflict{URN: s.URN, ClaimedBy: held.from.Name})
			}
		}
	}
	for name := range conflicts {
		slices.SortFunc(conflicts[name], func(a, b mhstv1alpha1.Conflict) int { return strings.Compare(a.URN, b.URN) })
	}
	return counting, conflicts
}

// distinctSettings drops repeats of a URN within one list, keeping the first.
// The API keys the list by URN so stored objects have none; objects built in
// code might.
func distinctSettings(settings []mhstv1alpha1.Setting) []mhstv1alpha1.Setting {
	seen := make(map[string]bool, len(settings))
	out := make([]mhstv1alpha1.Setting, 0, len(settings))
	for _, s := range settings {
		if !seen[s.URN] {
			seen[s.URN] = true
			out = append(out, s)
		}
	}
	return out
}

func indexTeams(teams []mhstv1alpha1.SupportTeam) map[string]*mhstv1alpha1.SupportTeam {
	byName := make(map[string]*mhstv1alpha1.SupportTeam, len(teams))
	for i := range teams {
		if _, dup := byName[teams[i].Name]; !dup {
			byName[teams[i].Name] = &teams[i]
		}
	}
	return byName
}

func newAllocations(coverages []*mhstv1alpha1.SchoolCoverage, teams map[string]*mhstv1alpha1.SupportTeam, conflicts map[string][]mhstv1alpha1.Conflict) map[string]Allocation {
	allocations := make(map[string]Allocation, len(coverages))
	for _, cov := range coverages {
		a := Allocation{
			Name:      cov.Name,
			Agreed:    cov.Spec.Agreement != nil,
			Agreement: cov.Spec.Agreement.DeepCopy(),
			Conflicts: conflicts[cov.Name],
		}
		if cov.Spec.TeamRef != nil {
			a.TeamNamed = true
			a.Team = cov.Spec.TeamRef.Name
			if team, ok := teams[a.Team]; ok {
				a.TeamFound = true
				a.TeamSuspended = team.Spec.Suspend
			}
		}
		allocations[cov.Name] = a
	}
	return allocations
}

func newTeams(teams []mhstv1alpha1.SupportTeam) map[string]Team {
	out := make(map[string]Team, len(teams))
	for _, t := range teams {
		if _, dup := out[t.Name]; dup {
			continue
		}
		out[t.Name] = Team{
			Name:        t.Name,
			Suspended:   t.Spec.Suspend,
			MaxSettings: int64(orDefault(t.Spec.Capacity.MaxSettings, DefaultMaxSettings)),
			MaxPupils:   int64(orDefault(t.Spec.Capacity.MaxPupils, DefaultMaxPupils)),
		}
	}
	return out
}

// credit counts one distinct setting for the area, its allocation and its
// team, and records it.
func (r *Result) credit(c claim) {
	alloc := r.Allocations[c.from.Name]
	covered := alloc.Covers()
	pupils := int64(c.setting.Pupils)
	disadvantaged, known := disadvantagedOf(c.setting)

	r.Area.Settings++
	r.Area.Pupils += pupils
	r.Area.DisadvantagedPupils += disadvantaged
	if !known {
		r.DisadvantagedUnknown++
	}
	alloc.Settings++
	alloc.Pupils += pupils
	alloc.DisadvantagedPupils += disadvantaged
	if covered {
		r.Area.SettingsCovered++
		r.Area.PupilsCovered += pupils
		r.Area.DisadvantagedPupilsCovered += disadvantaged
		alloc.SettingsCovered++
		alloc.PupilsCovered += pupils
		alloc.DisadvantagedPupilsCovered += disadvantaged
	}
	r.Allocations[alloc.Name] = alloc
	r.creditTeam(alloc, pupils, disadvantaged, covered)
	r.Settings = append(r.Settings, newSettingRecord(c, alloc, covered))
}

func (r *Result) creditTeam(alloc Allocation, pupils, disadvantaged int64, covered bool) {
	team, ok := r.Teams[alloc.Team]
	if !alloc.TeamNamed || !ok {
		return
	}
	if !alloc.Agreed {
		team.ProposedSettings++
		team.ProposedPupils += pupils
		r.Teams[team.Name] = team
		return
	}
	team.Settings++
	team.Pupils += pupils
	team.DisadvantagedPupils += disadvantaged
	if covered {
		team.SettingsCovered++
		team.PupilsCovered += pupils
		team.DisadvantagedPupilsCovered += disadvantaged
	}
	r.Teams[team.Name] = team
}

// finish fills in the figures derived from the totals.
func (r *Result) finish(coverageTarget int32) {
	r.Area.PupilsCoveredPercent = Percent(r.Area.PupilsCovered, r.Area.Pupils)
	r.Area.TargetMet = TargetMet(r.Area.PupilsCovered, r.Area.Pupils, coverageTarget)
	r.Area.SettingsCoveredPercent = Percent(r.Area.SettingsCovered, r.Area.Settings)
	r.Area.DisadvantagedPupilsCoveredPercent = Percent(r.Area.DisadvantagedPupilsCovered, r.Area.DisadvantagedPupils)
	r.Area.EquityIndexPermille = EquityIndexPermille(r.Area.DisadvantagedPupilsCovered, r.Area.Pupils,
		r.Area.DisadvantagedPupils, r.Area.PupilsCovered)
	for name, team := range r.Teams {
		bySettings := tenthsOfPercent(team.Settings, team.MaxSettings)
		byPupils := tenthsOfPercent(team.Pupils, team.MaxPupils)
		if bySettings.Cmp(byPupils) >= 0 {
			team.CapacityUsedPercent = Percent(team.Settings, team.MaxSettings)
		} else {
			team.CapacityUsedPercent = Percent(team.Pupils, team.MaxPupils)
		}
		team.OverCapacity = team.Settings > team.MaxSettings || team.Pupils > team.MaxPupils
		r.Teams[name] = team
	}
}

func newSettingRecord(c claim, alloc Allocation, covered bool) SettingRecord {
	s := c.setting
	rec := SettingRecord{
		URN:                    s.URN,
		Name:                   s.Name,
		Phase:                  s.Phase,
		Pupils:                 int64(s.Pupils),
		Team:                   alloc.Team,
		Allocation:             c.from.Name,
		Covered:                covered,
		SessionsPerWeek:        orDefault(s.SessionsPerWeek, DefaultSessionsPerWeek),
		SeniorMentalHealthLead: s.SeniorMentalHealthLead,
	}
	if alloc.Agreement != nil {
		rec.DecisionRef = alloc.Agreement.DecisionRef
	}
	if s.DisadvantagedPupils != nil {
		// A copy, so the record never aliases the caller's object.
		d := *s.DisadvantagedPupils
		rec.DisadvantagedPupils = &d
	}
	return rec
}

// disadvantagedOf is the setting's disadvantaged pupils, and whether the
// count is known; an unknown count contributes 0.
func disadvantagedOf(s mhstv1alpha1.Setting) (int64, bool) {
	if s.DisadvantagedPupils == nil {
		return 0, false
	}
	return int64(*s.DisadvantagedPupils), true
}

// orDefault is v, or def when v is 0 (unset).
func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
