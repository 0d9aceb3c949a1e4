package controllers

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/plan"
)

// areaCoverage applies the coverage rules (internal/coverage) to the
// SchoolCoverages and SupportTeams of an area's namespace, listed from the
// cache. Every status, report and snapshot that shows coverage takes its
// figures from here (the area's, each allocation's, each team's, the area
// report, an Area snapshot; the national report and National snapshots sum
// the areas' statuses), so they can never disagree. ofArea adds what
// depends on the date (package plan) in one place too.
//
// One change to an allocation wakes every allocation of its area, the
// area's teams, the area and its report; they share one computation. The
// result of the last computation of each namespace is kept with a key of
// what the rules read (every SchoolCoverage's and SupportTeam's uid and
// generation, and the target): until one of them changes its spec, or one
// comes or goes, the result is reused. Status writes do not change a
// generation, so they never cause a computation.
type areaCoverage struct {
	reader client.Reader

	mu          sync.Mutex
	byNamespace map[string]*namespaceCoverage
}

// namespaceCoverage is the last computation of one namespace. Its lock is
// held while it is brought up to date, so that the reconciles one change
// wakes wait for one computation rather than each making its own.
type namespaceCoverage struct {
	mu   sync.Mutex
	last *computedCoverage
	// computations counts how often the namespace's coverage was computed.
	computations int
}

type computedCoverage struct {
	key    uint64
	result coverage.Result
	// teams are the SupportTeams the result was computed from, for their
	// specs (the area report lists them); their status may be older.
	teams []mhstv1alpha1.SupportTeam
}

// coverageComputations counts the computations of an area's coverage: one
// per change of an area's allocations or teams, however many reconciles the
// change wakes.
var coverageComputations = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "mhst_coverage_computations_total",
	Help: "Computations of an area's coverage from its SchoolCoverages and SupportTeams; the controllers that show coverage share each one.",
})

func init() {
	metrics.Registry.MustRegister(coverageComputations)
}

func newAreaCoverage(reader client.Reader) *areaCoverage {
	return &areaCoverage{reader: reader, byNamespace: map[string]*namespaceCoverage{}}
}

// namespace returns the entry of namespace, made on first use.
func (a *areaCoverage) namespace(namespace string) *namespaceCoverage {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.byNamespace[namespace]
	if !ok {
		n = &namespaceCoverage{}
		a.byNamespace[namespace] = n
	}
	return n
}

// areaFigures is what the operator shows about an area at one moment, all
// of it from one computation: the area's status.coverage and status.plan,
// its report and its metrics, and a snapshot of it.
type areaFigures struct {
	// result is coverage.Compute's, shared with the other callers: copy
	// what is kept (slices, pointers) before changing it.
	result coverage.Result
	// teams are the SupportTeams the result was computed from (see
	// computedCoverage).
	teams []mhstv1alpha1.SupportTeam
	// plan is the area's plan at the moment asked for, and plan.Coverage
	// its status.coverage at that moment: result.Area with the pupils
	// covered by teams in training, the one figure that depends on the
	// date. Whatever shows the area's coverage shows plan.Coverage, never
	// result.Area, which lacks that figure.
	plan plan.Plan
}

// ofArea computes the coverage of area's namespace against its target, and
// its coverage and plan at now.
func (a *areaCoverage) ofArea(ctx context.Context, area *mhstv1alpha1.LocalArea, now time.Time) (areaFigures, error) {
	c, err := a.ofNamespace(ctx, area.Status.Namespace, coverage.TargetOf(area))
	if err != nil {
		return areaFigures{}, err
	}
	// Cheap next to the computation (one pass over the teams), and it
	// depends on now, so it is worked out for every caller.
	return areaFigures{result: c.result, teams: c.teams, plan: plan.ForArea(area, c.result, c.teams, now)}, nil
}

// ofNamespace computes the coverage of the SchoolCoverages and SupportTeams
// of namespace against target. The result is shared: callers copy what
// they keep (slices, pointers) before changing it.
func (a *areaCoverage) ofNamespace(ctx context.Context, namespace string, target int32) (computedCoverage, error) {
	if a == nil {
		return computedCoverage{}, errors.New("no coverage computation configured")
	}
	n := a.namespace(namespace)
	n.mu.Lock()
	defer n.mu.Unlock()
	// The cache's own objects, not copies: the rules only read them, and
	// copying every setting of a large area on every reconcile is most of
	// the cost of a computation.
	noCopy := &client.ListOptions{Namespace: namespace, UnsafeDisableDeepCopy: ptrTo(true)}
	var covs mhstv1alpha1.SchoolCoverageList
	if err := a.reader.List(ctx, &covs, noCopy); err != nil {
		return computedCoverage{}, fmt.Errorf("list SchoolCoverages of namespace %s: %w", namespace, err)
	}
	var teams mhstv1alpha1.SupportTeamList
	if err := a.reader.List(ctx, &teams, noCopy); err != nil {
		return computedCoverage{}, fmt.Errorf("list SupportTeams of namespace %s: %w", namespace, err)
	}
	key := inputsKey(covs.Items, teams.Items, target)
	if n.last != nil && n.last.key == key {
		return *n.last, nil
	}
	coverageComputations.Inc()
	n.computations++
	n.last = &computedCoverage{key: key, result: coverage.Compute(covs.Items, teams.Items, target), teams: teams.Items}
	return *n.last, nil
}

// inputsKey hashes what the coverage rules depend on: which SchoolCoverages
// and SupportTeams there are (uid) and their specs (generation), and the
// target. A SchoolCoverage's creation time and name, which decide conflicts,
// never change for a uid.
func inputsKey(covs []mhstv1alpha1.SchoolCoverage, teams []mhstv1alpha1.SupportTeam, target int32) uint64 {
	// The cache lists in no fixed order: sort, so that the same objects
	// always give the same key.
	type input struct {
		uid        string
		generation int64
	}
	inputs := make([]input, 0, len(covs)+len(teams)+1)
	for i := range covs {
		inputs = append(inputs, input{"coverage/" + string(covs[i].UID), covs[i].Generation})
	}
	for i := range teams {
		inputs = append(inputs, input{"team/" + string(teams[i].UID), teams[i].Generation})
	}
	slices.SortFunc(inputs, func(a, b input) int { return strings.Compare(a.uid, b.uid) })
	h := fnv.New64a()
	var buf [8]byte
	for _, in := range inputs {
		_, _ = h.Write([]byte(in.uid))
		binary.LittleEndian.PutUint64(buf[:], uint64(in.generation))
		_, _ = h.Write(buf[:])
	}
	binary.LittleEndian.PutUint64(buf[:], uint64(target))
	_, _ = h.Write(buf[:])
	return h.Sum64()
}

func ptrTo[T any](v T) *T { return &v }
