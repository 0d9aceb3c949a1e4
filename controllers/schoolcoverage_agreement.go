package controllers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Reasons of the Events that record the board's decisions on an
// allocation: `kubectl events --for cov/<name>` reads as its history.
const (
	eventAgreementRecorded  = "AgreementRecorded"
	eventAgreementWithdrawn = "AgreementWithdrawn"
)

// Who may record an agreement is enforced by the admission policy
// mhst-board-agreement (config/admission/board_agreement_policy.yaml), before
// the change is stored; the controller only records that it happened.

// recordAgreementChange emits an Event when the allocation's agreement was
// given, changed or withdrawn since the status last recorded it. before is
// the allocation as its status stood; the Agreed condition it carries is
// what was agreed then. Who made the change is the user the admission
// policy made write their name in mhst.io/agreement-changed-by.
func recordAgreementChange(recorder events.EventRecorder, before, cov *mhstv1alpha1.SchoolCoverage) {
	was := meta.FindStatusCondition(before.Status.Conditions, mhstv1alpha1.ConditionAgreed)
	wasAgreed := was != nil && was.Status == metav1.ConditionTrue
	agreement := cov.Spec.Agreement
	by := agreementChangedBy(cov)
	switch {
	case agreement != nil && (!wasAgreed || was.Message != agreementMessage(agreement)):
		recorder.Eventf(cov, nil, corev1.EventTypeNormal, eventAgreementRecorded, "Agree",
			"The governance board's agreement was recorded by %s: %s", by, agreementMessage(agreement))
	case agreement == nil && wasAgreed:
		recorder.Eventf(cov, nil, corev1.EventTypeWarning, eventAgreementWithdrawn, "Withdraw",
			"The governance board's agreement was withdrawn by %s; the allocation is Proposed and its settings no longer count as covered. It was: %s", by, was.Message)
	}
}

// agreementChangedBy names whoever last changed the agreement. Only a
// trusted applier (a GitOps controller, an administrator) can leave the
// annotation out.
func agreementChangedBy(cov *mhstv1alpha1.SchoolCoverage) string {
	if by := cov.Annotations[mhstv1alpha1.AnnotationAgreementChangedBy]; by != "" {
		return fmt.Sprintf("%s (%s)", by, mhstv1alpha1.AnnotationAgreementChangedBy)
	}
	return "a trusted applier (no " + mhstv1alpha1.AnnotationAgreementChangedBy + " annotation)"
}
