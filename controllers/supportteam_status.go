package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
)

// recordAllocation records what the area's allocations give the team
// (status.allocation) and the WithinCapacity condition. The figures come
// from the coverage rules applied to every SchoolCoverage and SupportTeam of
// the namespace, because which team holds a setting depends on the other
// allocations (the oldest claim wins).
func (r *SupportTeamReconciler) recordAllocation(ctx context.Context, team *mhstv1alpha1.SupportTeam, area *mhstv1alpha1.LocalArea) error {
	// The area's coverage target does not change a team's figures, but
	// asking with it shares the computation the area and its allocations
	// make.
	target := coverage.DefaultCoverageTarget
	if area != nil {
		target = coverage.TargetOf(area)
	}
	computed, err := r.Coverage.ofNamespace(ctx, team.Namespace, target)
	if err != nil {
		return err
	}
	figures, ok := computed.result.Teams[team.Name]
	if !ok {
		// The team is reconciled from the cache's own event, so the cache
		// holds it; should it not, it has nothing allocated yet, and its
		// creation in the cache wakes it again.
		figures = coverage.Compute(nil, []mhstv1alpha1.SupportTeam{*team}, coverage.DefaultCoverageTarget).Teams[team.Name]
	}
	team.Status.Allocation = &mhstv1alpha1.TeamAllocation{
		Settings:            figures.Settings,
		Pupils:              figures.Pupils,
		CapacityUsedPercent: figures.CapacityUsedPercent,
	}
	setCondition(&team.Status.Conditions, team.Generation, mhstv1alpha1.ConditionWithinCapacity,
		boolStatus(!figures.OverCapacity), capacityReason(figures), capacityMessage(figures))
	return nil
}

func capacityReason(t coverage.Team) string {
	if t.OverCapacity {
		return mhstv1alpha1.ReasonOverCapacity
	}
	return mhstv1alpha1.ReasonWithinCapacity
}

func capacityMessage(t coverage.Team) string {
	figures := fmt.Sprintf("%d settings (at most %d) and %d pupils (at most %d) allocated by agreed SchoolCoverages",
		t.Settings, t.MaxSettings, t.Pupils, t.MaxPupils)
	if t.OverCapacity {
		return "over capacity: " + figures +
			"; ask the governance board to move settings to another team, or raise spec.capacity"
	}
	return figures
}

// observeService reports the team's Deployment (status.service and the
// ServiceAvailable condition) from the Deployment's own status, and returns
// what it means for the team's readiness.
func (r *SupportTeamReconciler) observeService(ctx context.Context, team *mhstv1alpha1.SupportTeam, name string) (readiness, error) {
	if name == "" {
		team.Status.Service = nil
		message := "no service has been deployed for the team"
		setCondition(&team.Status.Conditions, team.Generation, mhstv1alpha1.ConditionServiceAvailable,
			metav1.ConditionFalse, mhstv1alpha1.ReasonNotDeployed, message)
		return progressing(mhstv1alpha1.ReasonNotDeployed, message), nil
	}
	var d appsv1.Deployment
	err := r.Get(ctx, client.ObjectKey{Namespace: team.Namespace, Name: name}, &d)
	switch {
	case apierrors.IsNotFound(err):
		team.Status.Service = &mhstv1alpha1.ServiceStatus{Name: name}
		message := fmt.Sprintf("Deployment %s does not exist yet", name)
		setCondition(&team.Status.Conditions, team.Generation, mhstv1alpha1.ConditionServiceAvailable,
			metav1.ConditionFalse, mhstv1alpha1.ReasonDeploymentPending, message)
		return progressing(mhstv1alpha1.ReasonDeploymentPending, message), nil
	case err != nil:
		return readiness{}, fmt.Errorf("get Deployment %s/%s: %w", team.Namespace, name, err)
	}
	team.Status.Service = &mhstv1alpha1.ServiceStatus{
		Name:          name,
		Replicas:      desiredReplicas(&d),
		ReadyReplicas: d.Status.ReadyReplicas,
	}
	available := serviceAvailability(&d)
	setCondition(&team.Status.Conditions, team.Generation, mhstv1alpha1.ConditionServiceAvailable,
		available.status, available.reason, available.message)
	return serviceReadiness(&d, available), nil
}

// desiredReplicas is the Deployment's spec.replicas (1 when unset, as the
// API server defaults it).
func desiredReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// availability is the ServiceAvailable condition.
type availability struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

// serviceAvailability mirrors the Deployment's Available condition. A
// Deployment scaled to zero (spec.service.replicas 0) serves nobody, so it
// is not available, with its own reason.
func serviceAvailability(d *appsv1.Deployment) availability {
	if desiredReplicas(d) == 0 {
		return availability{metav1.ConditionFalse, mhstv1alpha1.ReasonScaledToZero,
			fmt.Sprintf("Deployment %s is scaled to zero (spec.service.replicas is 0): the service is down on purpose", d.Name)}
	}
	counts := fmt.Sprintf("%d of %d replicas ready", d.Status.ReadyReplicas, desiredReplicas(d))
	cond := deploymentCondition(d, appsv1.DeploymentAvailable)
	if cond != nil && cond.Status == corev1.ConditionTrue {
		return availability{metav1.ConditionTrue, mhstv1alpha1.ReasonDeploymentAvailable,
			fmt.Sprintf("Deployment %s is available: %s", d.Name, counts)}
	}
	message := fmt.Sprintf("Deployment %s is not available: %s", d.Name, counts)
	if cond != nil && cond.Message != "" {
		message += ": " + cond.Message
	}
	return availability{metav1.ConditionFalse, mhstv1alpha1.ReasonDeploymentPending, message}
}

func deploymentCondition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == typ {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// serviceReadiness is what the Deployment means for the team's Ready.
//
// A team scaled to zero on purpose is Ready (reason ScaledToZero): its
// desired state, no pods, is reached, and a rollout gated on the team's
// readiness must not wait for pods that were asked not to run.
// ServiceAvailable stays False so that nobody mistakes it for a serving
// team. Otherwise the team is Ready once the Deployment controller has
// seen the Deployment's current spec and reports it Available.
func serviceReadiness(d *appsv1.Deployment, available availability) readiness {
	switch {
	case available.reason == mhstv1alpha1.ReasonScaledToZero:
		return ready(mhstv1alpha1.ReasonScaledToZero, available.message)
	case d.Status.ObservedGeneration < d.Generation:
		return progressing(mhstv1alpha1.ReasonProgressing, fmt.Sprintf(
			"Deployment %s is rolling out generation %d", d.Name, d.Generation))
	case available.status == metav1.ConditionTrue:
		return ready(mhstv1alpha1.ReasonReconciled, "the team's service is deployed and "+available.message)
	default:
		return progressing(mhstv1alpha1.ReasonDeploymentPending, available.message)
	}
}

// teamReadiness sums the team up in Ready. What stopped the service from
// being deployed comes first, then staffing, then the service itself.
//
// A team with no education mental health practitioners in post cannot see
// children, so it is not Ready (reason NoPractitionersInPost), but its
// service is deployed so that it is there when they start (ServiceAvailable
// reports it). Capacity is reported by WithinCapacity only: an
// over-allocated team still serves its settings.
func teamReadiness(team *mhstv1alpha1.SupportTeam, d deployOutcome, service readiness) readiness {
	if d.blocked != nil {
		return *d.blocked
	}
	if team.Spec.Staffing.EducationMentalHealthPractitioners == 0 {
		return notReady(mhstv1alpha1.ReasonNoPractitioners,
			"no education mental health practitioners in post (spec.staffing.educationMentalHealthPractitioners is 0): "+
				"the team's service is deployed, but the team cannot see children until practitioners start")
	}
	return service
}
