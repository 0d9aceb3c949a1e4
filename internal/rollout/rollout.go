// Package rollout generates a national MHST rollout from the DfE register of
// schools: every local authority as a LocalArea in a wave, with a governance
// board, Mental Health Support Teams in the published proportion (about
// 8,300 pupils and at most 20 settings a team, enough teams to reach about
// half of the pupils), agreed allocations naming those teams, and lists
// without a team for every other state-funded setting, so that each area's
// coverage counts every pupil.
//
// The benchmark and the fault tests apply what it generates. It also says,
// for every area, the coverage the operator must report, worked out by plain
// sums over the lists it made: it puts every setting in exactly one list and
// every team it names exists, so none of the conflict rules can apply and
// the sums are the answer, independently of the operator's own arithmetic.
//
// Generate is pure: the same register and options give the same rollout.
// Everything it produces derives from data published under the Open
// Government Licence v3.0 (see register.Attribution).
package rollout

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/register"
)

// Options shape the rollout. The zero value of a field means its default.
type Options struct {
	// Trailblazers is the number of areas in wave 0, the 2019 trailblazer
	// wave (default 25, as in the programme).
	Trailblazers int
	// Waves is the number of waves, 0 to Waves-1 (default 5).
	Waves int
	// TeamPupils is the number of pupils a team is filled up to (default
	// 8,300, the programme's published average).
	TeamPupils int64
	// MaxTeamSettings is the most settings one team serves (default 20).
	MaxTeamSettings int
	// MaxTeamPupils is the most pupils a team is given (default 8,500, the
	// SupportTeam's default capacity), so that no generated team is over
	// capacity.
	MaxTeamPupils int64
	// CoveredPercent is the share of each area's pupils its teams cover
	// (default 52, the published national figure for spring 2024).
	CoveredPercent int64
	// CoverageTarget is every area's spec.coverageTarget (default 50, the
	// programme's 2025 ambition).
	CoverageTarget int32
	// Image is the container image of every team's service.
	Image string
	// Replicas is the number of replicas of every team's service
	// (default 1: one small web server is enough for a team).
	Replicas int32
}

// DefaultImage is the team service image the rollout uses unless told
// otherwise: an nginx that runs as a non-root user, as the restricted pod
// security standard requires.
const DefaultImage = "nginxinc/nginx-unprivileged:1.27-alpine"

func (o Options) withDefaults() Options {
	if o.Trailblazers == 0 {
		o.Trailblazers = 25
	}
	if o.Waves == 0 {
		o.Waves = 5
	}
	if o.TeamPupils == 0 {
		o.TeamPupils = 8300
	}
	if o.MaxTeamSettings == 0 {
		o.MaxTeamSettings = 20
	}
	if o.MaxTeamPupils == 0 {
		o.MaxTeamPupils = 8500
	}
	if o.CoveredPercent == 0 {
		o.CoveredPercent = 52
	}
	if o.CoverageTarget == 0 {
		o.CoverageTarget = 50
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Trailblazers < 0 || o.Waves < 1:
		return fmt.Errorf("trailblazers %d and waves %d: need at least one wave and no negative count", o.Trailblazers, o.Waves)
	case o.MaxTeamSettings < 1 || o.MaxTeamSettings > register.MaxSettingsPerList:
		return fmt.Errorf("max team settings %d is outside 1 to %d", o.MaxTeamSettings, register.MaxSettingsPerList)
	case o.TeamPupils < 1 || o.MaxTeamPupils < o.TeamPupils:
		return fmt.Errorf("team pupils %d and max team pupils %d: need 1 ≤ team ≤ max", o.TeamPupils, o.MaxTeamPupils)
	case o.CoveredPercent < 0 || o.CoveredPercent > 100:
		return fmt.Errorf("covered percent %d is outside 0 to 100", o.CoveredPercent)
	case o.CoverageTarget < 0 || o.CoverageTarget > 100:
		return fmt.Errorf("coverage target %d is outside 0 to 100", o.CoverageTarget)
	}
	return nil
}

// Rollout is a national rollout: one Area per local authority, sorted by
// name.
type Rollout struct {
	Areas []Area
}

// Area is one local authority's part of the rollout.
type Area struct {
	// LocalArea is the area.
	LocalArea mhstv1alpha1.LocalArea
	// Teams are its SupportTeams, named team-01, team-02, ...
	Teams []mhstv1alpha1.SupportTeam
	// Coverages are its allocations: one agreed list per team
	// (team-NN-allocation) then the lists without a team (unallocated-N).
	Coverages []mhstv1alpha1.SchoolCoverage
	// Expected is the coverage the operator must report for the area.
	Expected mhstv1alpha1.AreaCoverage
}

// Namespace is the namespace the area's teams and allocations live in.
func (a Area) Namespace() string { return a.LocalArea.EffectiveNamespace() }

// Objects counts the objects the area is applied as.
func (a Area) Objects() int { return 1 + len(a.Teams) + len(a.Coverages) }

// Generate builds the rollout of every authority that has state-funded
// settings in the register. Independent schools are left out: the programme
// is for state-funded schools and colleges.
func Generate(schools []register.School, dir register.Directory, opts Options) (Rollout, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return Rollout{}, fmt.Errorf("rollout options: %w", err)
	}
	groups := groupByAuthority(schools, dir)
	if len(groups) == 0 {
		return Rollout{}, errors.New("the register has no state-funded settings")
	}
	waves := assignWaves(groups, opts)
	var r Rollout
	names := map[string]string{}
	for _, g := range groups {
		area, err := buildArea(g, waves[g.authority.Code], opts)
		if err != nil {
			return Rollout{}, err
		}
		if other, taken := names[area.LocalArea.Name]; taken {
			return Rollout{}, fmt.Errorf("authorities %s and %s both make the area name %s", other, g.authority.Code, area.LocalArea.Name)
		}
		names[area.LocalArea.Name] = g.authority.Code
		r.Areas = append(r.Areas, area)
	}
	sort.Slice(r.Areas, func(i, j int) bool { return r.Areas[i].LocalArea.Name < r.Areas[j].LocalArea.Name })
	return r, nil
}

// authorityGroup is the state-funded settings of one authority, by URN.
type authorityGroup struct {
	authority register.Authority
	schools   []register.School
}

// groupByAuthority puts each state-funded school in today's authority, or,
// when the directory cannot resolve it, in the 2022/23 authority the register
// names. Groups come sorted by code.
func groupByAuthority(schools []register.School, dir register.Directory) []authorityGroup {
	byCode := map[string]*authorityGroup{}
	for _, s := range schools {
		if !s.StateFunded() {
			continue
		}
		a, ok := dir.Resolve(s)
		if !ok {
			a = register.Authority{Code: s.LACode, OldCode: s.OldLACode, Name: s.LAName, RegionCode: s.RegionCode, RegionName: s.RegionName}
		}
		g, ok := byCode[a.Code]
		if !ok {
			g = &authorityGroup{authority: a}
			byCode[a.Code] = g
		}
		g.schools = append(g.schools, s)
	}
	groups := make([]authorityGroup, 0, len(byCode))
	for _, g := range byCode {
		sort.Slice(g.schools, func(i, j int) bool { return g.schools[i].URN < g.schools[j].URN })
		groups = append(groups, *g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].authority.Code < groups[j].authority.Code })
	return groups
}

// assignWaves puts the first Trailblazers authorities of a fixed pseudo-random
// order (a hash of the ONS code, so it is the same on every run and spread
// across regions the way the real trailblazers were) in wave 0, and spreads
// the rest evenly over waves 1 to Waves-1.
func assignWaves(groups []authorityGroup, opts Options) map[string]int32 {
	codes := make([]string, 0, len(groups))
	for _, g := range groups {
		codes = append(codes, g.authority.Code)
	}
	sort.Slice(codes, func(i, j int) bool {
		hi, hj := hashOf(codes[i]), hashOf(codes[j])
		if hi != hj {
			return hi < hj
		}
		return codes[i] < codes[j]
	})
	waves := make(map[string]int32, len(codes))
	later := len(codes) - opts.Trailblazers
	for i, code := range codes {
		switch {
		case i < opts.Trailblazers || opts.Waves == 1:
			waves[code] = 0
		default:
			waves[code] = int32(1 + (i-opts.Trailblazers)*(opts.Waves-1)/later)
		}
	}
	return waves
}

// hashOf is a stable 64-bit hash, used for orders that must look arbitrary
// but never change.
func hashOf(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s)) // a hash.Hash never fails to write
	return h.Sum64()
}
