package controllers

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/plan"
)

// recordOperational records the team's Operational condition: False with
// reason InTraining before spec.operationalFrom, True from 00:00 UTC of that
// date (or when it has none). It returns how long until the team leaves
// training, 0 when it is not in training: the reconciler requeues for that
// moment instead of polling.
//
// A team in training still counts towards coverage, and is Ready as soon as
// its service is: training is about the practitioners, not the service.
func recordOperational(team *mhstv1alpha1.SupportTeam, now time.Time) (requeueAfter time.Duration) {
	training, ends := plan.InTraining(team, now)
	if training {
		setCondition(&team.Status.Conditions, team.Generation, mhstv1alpha1.ConditionOperational,
			metav1.ConditionFalse, mhstv1alpha1.ReasonInTraining, fmt.Sprintf(
				"The team is in training until spec.operationalFrom (%s): the settings allocated to it count as covered, "+
					"and its area's status.coverage.pupilsCoveredByTeamsInTraining says how many pupils that is.", team.Spec.OperationalFrom))
		return until(ends, now)
	}
	message := "The team is operational."
	if team.Spec.OperationalFrom != "" {
		message = fmt.Sprintf("The team is operational since %s.", team.Spec.OperationalFrom)
	}
	setCondition(&team.Status.Conditions, team.Generation, mhstv1alpha1.ConditionOperational,
		metav1.ConditionTrue, mhstv1alpha1.ReasonOperational, message)
	return 0
}
