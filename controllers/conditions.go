package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// readiness is the summary of one reconcile, as kstatus reads it: Ready,
// plus Reconciling while work is under way and Stalled when only a person
// can move the object forward. Flux and Argo CD gate waves on it.
type readiness struct {
	status  metav1.ConditionStatus
	reason  string
	message string
	// stalled: the spec cannot be satisfied until someone acts.
	stalled bool
	// reconciling: the operator is still converging (or waiting for a
	// child, such as a Deployment becoming available).
	reconciling bool
}

// ready is a reconcile that reached the desired state.
func ready(reason, message string) readiness {
	return readiness{status: metav1.ConditionTrue, reason: reason, message: message}
}

// progressing is a reconcile that is still converging.
func progressing(reason, message string) readiness {
	return readiness{status: metav1.ConditionFalse, reason: reason, message: message, reconciling: true}
}

// stalled is a reconcile that cannot go on until a person fixes the spec.
func stalled(reason, message string) readiness {
	return readiness{status: metav1.ConditionFalse, reason: reason, message: message, stalled: true}
}

// notReady is a settled state that is not ready and needs no work, such as
// a suspended object.
func notReady(reason, message string) readiness {
	return readiness{status: metav1.ConditionFalse, reason: reason, message: message}
}

// setReadiness records r in conds. Reconciling and Stalled are removed when
// they do not apply, as kstatus recommends for abnormal-true conditions.
// meta.SetStatusCondition keeps lastTransitionTime when the status does not
// change, so repeated reconciles of a settled object change nothing.
func setReadiness(conds *[]metav1.Condition, generation int64, r readiness) {
	setCondition(conds, generation, mhstv1alpha1.ConditionReady, r.status, r.reason, r.message)
	if r.reconciling {
		setCondition(conds, generation, mhstv1alpha1.ConditionReconciling, metav1.ConditionTrue, r.reason, r.message)
	} else {
		meta.RemoveStatusCondition(conds, mhstv1alpha1.ConditionReconciling)
	}
	if r.stalled {
		setCondition(conds, generation, mhstv1alpha1.ConditionStalled, metav1.ConditionTrue, r.reason, r.message)
	} else {
		meta.RemoveStatusCondition(conds, mhstv1alpha1.ConditionStalled)
	}
}

// setCondition sets one condition with the object's generation.
func setCondition(conds *[]metav1.Condition, generation int64, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
	})
}

// boolStatus turns a bool into a condition status.
func boolStatus(b bool) metav1.ConditionStatus {
	if b {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}
