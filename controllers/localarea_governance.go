package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The ClusterRoles shipped in config/rbac/area_roles.yaml, bound in each
// area's namespace: the board reads the area and records its agreements,
// the leads manage teams and allocations.
const (
	areaBoardRole = "mhst-area-board"
	areaLeadRole  = "mhst-area-lead"
	// areaViewerRole is the RoleBinding the board had before it could
	// record agreements; it is removed from areas that still have it.
	areaViewerRole = "mhst-area-viewer"
)

// The operator grants exactly what it holds, never more: it binds the two
// shipped roles (the bind verb, limited to their names) and the per-area
// reader role (get and watch on one LocalArea, which the operator itself
// can do), so it needs no escalate permission. The admission policy
// mhst-operator-scope limits which roles its bindings may name.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=mhst-area-board;mhst-area-lead
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete

// syncGovernance keeps the admission policy's parameter current, then the
// access of the board and the leads. In that order: the policy
// mhst-board-agreement does not apply in a namespace without its parameter,
// so nobody may have access to an area's allocations before it is there.
func (r *LocalAreaReconciler) syncGovernance(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	if err := r.syncGovernanceParameters(ctx, area); err != nil {
		return err
	}
	return r.syncGovernanceAccess(ctx, area)
}

// syncGovernanceAccess gives the governance board read access to the area
// and the leads write access to its teams and allocations, in the area's
// namespace, and lets both read their own LocalArea object (and no other).
// Subjects are re-applied as a whole, so a member removed from the spec
// loses access at once.
func (r *LocalAreaReconciler) syncGovernanceAccess(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	board := boardSubjects(area.Spec.Governance.Board)
	leads := leadSubjects(area.Spec.Governance.Leads)
	reader := areaReaderName(area)
	return errors.Join(
		r.syncChild(ctx, area, &rbacv1.RoleBinding{ObjectMeta: childMeta(area, areaBoardRole)}, areaRoleBinding(area, areaBoardRole, board)),
		r.pruneChild(ctx, area, &rbacv1.RoleBinding{ObjectMeta: childMeta(area, areaViewerRole)}),
		r.syncLeadBinding(ctx, area, leads),
		r.syncChild(ctx, area, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: reader}}, areaReaderRole(area)),
		r.syncChild(ctx, area, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: reader}},
			areaReaderBinding(area, append(board, leadsNotOnBoard(leads, board)...))),
	)
}

// syncGovernanceParameters keeps the parameter of the admission policy
// mhst-board-agreement current in the area's namespace: who is on the
// board, who leads, one name a line. The API server reads it on every
// write of a SchoolCoverage there, so a member removed from the spec can no
// longer record an agreement the moment it is applied.
func (r *LocalAreaReconciler) syncGovernanceParameters(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	cm := &corev1.ConfigMap{ObjectMeta: childMeta(area, mhstv1alpha1.GovernanceConfigMapName)}
	return r.syncChild(ctx, area, cm, governanceParameters(area))
}

// governanceParameters is the ConfigMap mhst-board-agreement reads.
func governanceParameters(area *mhstv1alpha1.LocalArea) *corev1ac.ConfigMapApplyConfiguration {
	var boardUsers, boardGroups, leadUsers, leadGroups []string
	for _, m := range area.Spec.Governance.Board {
		if m.Kind == mhstv1alpha1.SubjectGroup {
			boardGroups = append(boardGroups, m.Name)
		} else {
			boardUsers = append(boardUsers, m.Name)
		}
	}
	for _, l := range area.Spec.Governance.Leads {
		if l.Kind == mhstv1alpha1.SubjectGroup {
			leadGroups = append(leadGroups, l.Name)
		} else {
			leadUsers = append(leadUsers, l.Name)
		}
	}
	labels := childLabels(area)
	labels[mhstv1alpha1.LabelConfigMap] = mhstv1alpha1.ConfigMapGovernance
	return corev1ac.ConfigMap(mhstv1alpha1.GovernanceConfigMapName, area.EffectiveNamespace()).
		WithLabels(labels).
		WithOwnerReferences(areaOwnerReference(area)).
		WithData(map[string]string{
			mhstv1alpha1.GovernanceKeyArea:        area.Name,
			mhstv1alpha1.GovernanceKeyBoardUsers:  oneALine(boardUsers),
			mhstv1alpha1.GovernanceKeyBoardGroups: oneALine(boardGroups),
			mhstv1alpha1.GovernanceKeyLeadUsers:   oneALine(leadUsers),
			mhstv1alpha1.GovernanceKeyLeadGroups:  oneALine(leadGroups),
		})
}

// oneALine sorts names and puts one on each line, so that the parameter
// only changes when the people do.
func oneALine(names []string) string {
	slices.Sort(names)
	return strings.Join(slices.Compact(names), "\n")
}

// syncLeadBinding binds the lead role to the leads, and deletes the binding
// when there are none: a binding without subjects would be applied without
// its subjects field, which would leave the last lead's access in place.
func (r *LocalAreaReconciler) syncLeadBinding(ctx context.Context, area *mhstv1alpha1.LocalArea, leads []*rbacv1ac.SubjectApplyConfiguration) error {
	binding := &rbacv1.RoleBinding{ObjectMeta: childMeta(area, areaLeadRole)}
	if len(leads) == 0 {
		return r.pruneChild(ctx, area, binding)
	}
	return r.syncChild(ctx, area, binding, areaRoleBinding(area, areaLeadRole, leads))
}

// removeGovernanceAccess deletes the access the area gave: it is tied to the
// area and goes with it, whatever the deletion policy. (Owner references
// would let the garbage collector do the same, but only after the area is
// gone; deleting here means no one keeps access to a retained namespace.)
func (r *LocalAreaReconciler) removeGovernanceAccess(ctx context.Context, area *mhstv1alpha1.LocalArea) error {
	reader := areaReaderName(area)
	var errs []error
	for _, obj := range []client.Object{
		&rbacv1.RoleBinding{ObjectMeta: childMeta(area, areaBoardRole)},
		&rbacv1.RoleBinding{ObjectMeta: childMeta(area, areaViewerRole)},
		&rbacv1.RoleBinding{ObjectMeta: childMeta(area, areaLeadRole)},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: reader}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: reader}},
	} {
		errs = append(errs, r.pruneChild(ctx, area, obj))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The policy's parameter last: without it the policy no longer applies
	// in the namespace, which is safe only once nobody has access there.
	return r.pruneChild(ctx, area, &corev1.ConfigMap{ObjectMeta: childMeta(area, mhstv1alpha1.GovernanceConfigMapName)})
}

// areaReaderName names the ClusterRole and ClusterRoleBinding that let the
// area's people read their LocalArea.
func areaReaderName(area *mhstv1alpha1.LocalArea) string {
	return "mhst-area-" + area.Name + "-reader"
}

// areaRoleBinding binds one of the shipped area roles in the area's
// namespace.
func areaRoleBinding(area *mhstv1alpha1.LocalArea, role string, subjects []*rbacv1ac.SubjectApplyConfiguration) *rbacv1ac.RoleBindingApplyConfiguration {
	return rbacv1ac.RoleBinding(role, area.EffectiveNamespace()).
		WithLabels(childLabels(area)).
		WithOwnerReferences(areaOwnerReference(area)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(role)).
		WithSubjects(subjects...)
}

// areaReaderRole may get and watch this LocalArea only. (list cannot be
// limited to names, so it is not granted: `kubectl get area <name>` works,
// `kubectl get areas` does not.)
func areaReaderRole(area *mhstv1alpha1.LocalArea) *rbacv1ac.ClusterRoleApplyConfiguration {
	return rbacv1ac.ClusterRole(areaReaderName(area)).
		WithLabels(childLabels(area)).
		WithOwnerReferences(areaOwnerReference(area)).
		WithRules(rbacv1ac.PolicyRule().
			WithAPIGroups(mhstv1alpha1.GroupVersion.Group).
			WithResources("localareas").
			WithResourceNames(area.Name).
			WithVerbs("get", "watch"))
}

// areaReaderBinding grants the reader role to the board and the leads.
func areaReaderBinding(area *mhstv1alpha1.LocalArea, subjects []*rbacv1ac.SubjectApplyConfiguration) *rbacv1ac.ClusterRoleBindingApplyConfiguration {
	return rbacv1ac.ClusterRoleBinding(areaReaderName(area)).
		WithLabels(childLabels(area)).
		WithOwnerReferences(areaOwnerReference(area)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(areaReaderName(area))).
		WithSubjects(subjects...)
}

// areaOwnerReference makes the area the controller of an object made for
// it (an access object, its coverage report), so that the garbage collector
// removes the object with the area, even should the area vanish without its
// finalizer running.
func areaOwnerReference(area *mhstv1alpha1.LocalArea) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(mhstv1alpha1.GroupVersion.String()).
		WithKind("LocalArea").
		WithName(area.Name).
		WithUID(area.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

func boardSubjects(board []mhstv1alpha1.BoardMember) []*rbacv1ac.SubjectApplyConfiguration {
	subjects := make([]*rbacv1ac.SubjectApplyConfiguration, 0, len(board))
	for _, m := range board {
		subjects = append(subjects, rbacSubject(m.Kind, m.Name))
	}
	return subjects
}

func leadSubjects(leads []mhstv1alpha1.Subject) []*rbacv1ac.SubjectApplyConfiguration {
	subjects := make([]*rbacv1ac.SubjectApplyConfiguration, 0, len(leads))
	for _, l := range leads {
		subjects = append(subjects, rbacSubject(l.Kind, l.Name))
	}
	return subjects
}

// leadsNotOnBoard drops the leads who also sit on the board, so that a
// binding names each person once.
func leadsNotOnBoard(leads, board []*rbacv1ac.SubjectApplyConfiguration) []*rbacv1ac.SubjectApplyConfiguration {
	onBoard := map[[2]string]bool{}
	for _, s := range board {
		onBoard[[2]string{*s.Kind, *s.Name}] = true
	}
	var rest []*rbacv1ac.SubjectApplyConfiguration
	for _, s := range leads {
		if !onBoard[[2]string{*s.Kind, *s.Name}] {
			rest = append(rest, s)
		}
	}
	return rest
}

func rbacSubject(kind mhstv1alpha1.SubjectKind, name string) *rbacv1ac.SubjectApplyConfiguration {
	return rbacv1ac.Subject().WithKind(string(kind)).WithAPIGroup(rbacv1.GroupName).WithName(name)
}

// governanceCondition checks that the board involves both health and
// education, as local governance of the teams must. When both are missing
// the reason names health and the message says both.
func governanceCondition(board []mhstv1alpha1.BoardMember) (metav1.ConditionStatus, string, string) {
	var health, education bool
	for _, m := range board {
		health = health || m.Sector == mhstv1alpha1.SectorHealth
		education = education || m.Sector == mhstv1alpha1.SectorEducation
	}
	const ask = "local governance must involve both health and education: add a member of the missing sector to spec.governance.board"
	switch {
	case !health && !education:
		return metav1.ConditionFalse, mhstv1alpha1.ReasonMissingHealth,
			"The governance board has no Health member and no Education member; " + ask
	case !health:
		return metav1.ConditionFalse, mhstv1alpha1.ReasonMissingHealth,
			"The governance board has no Health member; " + ask
	case !education:
		return metav1.ConditionFalse, mhstv1alpha1.ReasonMissingEducation,
			"The governance board has no Education member; " + ask
	default:
		return metav1.ConditionTrue, mhstv1alpha1.ReasonBoardComplete,
			fmt.Sprintf("The governance board of %d members involves both health and education.", len(board))
	}
}
