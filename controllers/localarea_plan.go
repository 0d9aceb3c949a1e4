package controllers

import (
	"time"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/plan"
)

// recordPlan records the area's coverage and plan at one moment, as
// areaCoverage.ofArea worked them out, in its status: status.coverage
// (with the pupils that rest on teams in training), status.plan against
// the current target, and the OnTrack condition. When the current target
// passes is planRequeue's.
func recordPlan(area *mhstv1alpha1.LocalArea, p plan.Plan) {
	c := *p.Coverage.DeepCopy()
	area.Status.Coverage = &c
	status := p.Status
	area.Status.Plan = &status
	setCondition(&area.Status.Conditions, area.Generation, mhstv1alpha1.ConditionOnTrack,
		boolStatus(p.OnTrack.Status), p.OnTrack.Reason, p.OnTrack.Message)
}

// planRequeue is how long until the area's current target passes, from the
// plan recorded in its status; 0 when the area has no plan or its current
// target is coverageTarget. The end of a team's training needs no timer of
// the area's own: the team's Operational condition changes at that moment
// (the SupportTeam controller waits for it), and the area watches its teams.
func planRequeue(area *mhstv1alpha1.LocalArea, now time.Time) time.Duration {
	if area.Status.Plan == nil {
		return 0
	}
	_, passes := plan.CurrentTarget(area.Spec.Targets, coverage.TargetOf(area), now)
	return until(passes, now)
}
