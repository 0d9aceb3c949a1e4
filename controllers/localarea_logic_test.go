package controllers

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/apply"
	"github.com/mhst-io/mhst-operator/internal/kinds"
)

func TestLocalAreaGovernanceCondition(t *testing.T) {
	member := func(sector mhstv1alpha1.Sector) mhstv1alpha1.BoardMember {
		return mhstv1alpha1.BoardMember{Kind: mhstv1alpha1.SubjectUser, Name: string(sector), Sector: sector}
	}
	tests := []struct {
		name        string
		board       []mhstv1alpha1.BoardMember
		status      metav1.ConditionStatus
		reason      string
		messageSays []string
	}{
		{"both sectors", []mhstv1alpha1.BoardMember{member(mhstv1alpha1.SectorHealth), member(mhstv1alpha1.SectorEducation)},
			metav1.ConditionTrue, mhstv1alpha1.ReasonBoardComplete, []string{"2 members"}},
		{"no education", []mhstv1alpha1.BoardMember{member(mhstv1alpha1.SectorHealth), member(mhstv1alpha1.SectorLocalAuthority)},
			metav1.ConditionFalse, mhstv1alpha1.ReasonMissingEducation, []string{"no Education member"}},
		{"no health", []mhstv1alpha1.BoardMember{member(mhstv1alpha1.SectorEducation), member(mhstv1alpha1.SectorYoungPeople)},
			metav1.ConditionFalse, mhstv1alpha1.ReasonMissingHealth, []string{"no Health member"}},
		{"neither", []mhstv1alpha1.BoardMember{member(mhstv1alpha1.SectorParentsCarers)},
			metav1.ConditionFalse, mhstv1alpha1.ReasonMissingHealth, []string{"no Health member", "no Education member"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reason, message := governanceCondition(tt.board)
			if status != tt.status || reason != tt.reason {
				t.Errorf("got %s/%s, want %s/%s", status, reason, tt.status, tt.reason)
			}
			if !containsAll(message, tt.messageSays...) {
				t.Errorf("message %q does not say %q", message, tt.messageSays)
			}
		})
	}
}

func TestLocalAreaClaimNamespace(t *testing.T) {
	area := &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "leeds"}}
	held := area.DeepCopy()
	held.Status.Namespace = "mhst-leeds"
	namespace := func(labels, annotations map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mhst-leeds", Labels: labels, Annotations: annotations}}
	}
	tests := []struct {
		name      string
		area      *mhstv1alpha1.LocalArea
		ns        *corev1.Namespace
		conflicts string // part of the conflict message; "" when claimable
	}{
		{"labelled for the area", area, namespace(map[string]string{mhstv1alpha1.LabelArea: "leeds"}, nil), ""},
		{"released by the area", area, namespace(nil, map[string]string{annotationReleasedBy: "leeds"}), ""},
		{"held, label removed by hand", held, namespace(nil, nil), ""},
		{"another area's", area, namespace(map[string]string{mhstv1alpha1.LabelArea: "york"}, nil), "belongs to LocalArea york"},
		{"another area's, even if held", held, namespace(map[string]string{mhstv1alpha1.LabelArea: "york"}, nil), "belongs to LocalArea york"},
		{"released by another area", area, namespace(nil, map[string]string{annotationReleasedBy: "york"}), "released by LocalArea york"},
		{"never managed", area, namespace(map[string]string{"team": "x"}, nil), "not managed by mhst-operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := claimNamespace(tt.area, tt.ns)
			switch {
			case tt.conflicts == "" && err != nil:
				t.Errorf("want claimable, got %v", err)
			case tt.conflicts != "" && (err == nil || !strings.Contains(err.Error(), tt.conflicts)):
				t.Errorf("want a conflict saying %q, got %v", tt.conflicts, err)
			}
		})
	}
}

func TestLocalAreaActivationDelay(t *testing.T) {
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	tests := []struct {
		name        string
		activateAt  *metav1.Time
		activatedAt *metav1.Time
		want        time.Duration
	}{
		{"no schedule", nil, nil, 0},
		{"in the future", at(time.Hour), nil, time.Hour},
		{"passed", at(-time.Minute), nil, 0},
		{"moved later after activation", at(time.Hour), at(-time.Hour), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			area := &mhstv1alpha1.LocalArea{}
			area.Spec.ActivateAt, area.Status.ActivatedAt = tt.activateAt, tt.activatedAt
			if got := activationDelay(area, now); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLocalAreaCountTeams(t *testing.T) {
	team := func(ready metav1.ConditionStatus) mhstv1alpha1.SupportTeam {
		var st mhstv1alpha1.SupportTeam
		if ready != "" {
			st.Status.Conditions = []metav1.Condition{{Type: mhstv1alpha1.ConditionReady, Status: ready}}
		}
		return st
	}
	tests := []struct {
		name  string
		teams []mhstv1alpha1.SupportTeam
		want  mhstv1alpha1.TeamCounts
	}{
		{"none", nil, mhstv1alpha1.TeamCounts{}},
		{"mixed", []mhstv1alpha1.SupportTeam{team(metav1.ConditionTrue), team(metav1.ConditionFalse), team(""), team(metav1.ConditionTrue)},
			mhstv1alpha1.TeamCounts{Total: 4, Ready: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countTeams(tt.teams); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLocalAreaCovers checks the comparison that keeps a converged area
// silent: it must see every change the operator would undo, and nothing
// that applying would leave as it is.
func TestLocalAreaMatches(t *testing.T) {
	area := &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "leeds", UID: "uid-1"}}
	quota := func(pods string, labels map[string]string, extra ...corev1.ResourceName) *corev1.ResourceQuota {
		q := &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: areaQuotaName, Namespace: "mhst-leeds", Labels: labels},
			Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse(pods)}},
		}
		for _, name := range extra {
			q.Spec.Hard[name] = resource.MustParse("1")
		}
		return q
	}
	wantQuota := corev1ac.ResourceQuota(areaQuotaName, "mhst-leeds").WithLabels(childLabels(area)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(corev1.ResourceList{corev1.ResourcePods: resource.MustParse("100")}))
	policy := func(mutate func(*networkingv1.NetworkPolicy)) *networkingv1.NetworkPolicy {
		p := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: policyAllowSameNamespace, Namespace: "mhst-leeds", Labels: childLabels(area)},
			Spec: networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
			},
		}
		mutate(p)
		return p
	}
	area.Spec.Namespace = "mhst-leeds"
	wantPolicy := allowSameNamespacePolicy(area)
	wantRole := areaReaderRole(area)
	role := func(owners ...metav1.OwnerReference) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: areaReaderName(area), Labels: childLabels(area), OwnerReferences: owners},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"mhst.io"}, Resources: []string{"localareas"},
				ResourceNames: []string{"leeds"}, Verbs: []string{"get", "watch"}}},
		}
	}
	owner := metav1.OwnerReference{APIVersion: "mhst.io/v1alpha1", Kind: "LocalArea", Name: "leeds", UID: "uid-1", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "uid-2"}

	tests := []struct {
		name    string
		have    client.Object
		want    runtime.ApplyConfiguration
		matches bool
	}{
		{"same quota", quota("100", childLabels(area)), wantQuota, true},
		{"extra labels are someone else's", quota("100", merged(childLabels(area), map[string]string{"x": "y"})), wantQuota, true},
		{"the quota is the operator's whole", quota("100", childLabels(area), corev1.ResourceServices), wantQuota, false},
		{"quota raised", quota("1000", childLabels(area)), wantQuota, false},
		{"managed-by label removed", quota("100", map[string]string{mhstv1alpha1.LabelArea: "leeds"}), wantQuota, false},
		{"same policy, server defaults", policy(func(*networkingv1.NetworkPolicy) {}), wantPolicy, true},
		{"rule added by hand", policy(func(p *networkingv1.NetworkPolicy) {
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
		}), wantPolicy, false},
		{"peer narrowed by hand", policy(func(p *networkingv1.NetworkPolicy) {
			p.Spec.Ingress[0].From[0].PodSelector.MatchLabels = map[string]string{"app": "x"}
		}), wantPolicy, false},
		{"namespace with what the server adds", &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "mhst-leeds", Labels: merged(namespaceLabels(area), map[string]string{"kubernetes.io/metadata.name": "mhst-leeds"})},
			Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		}, desiredNamespace(area, false), true},
		{"namespace without its pod security label", &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: "mhst-leeds", Labels: childLabels(area)},
		}, desiredNamespace(area, false), false},
		{"owner reference among others", role(other, owner), wantRole, true},
		{"owner reference removed", role(other), wantRole, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := apply.Normalize(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			have, err := apply.Normalize(tt.have)
			if err != nil {
				t.Fatal(err)
			}
			// The rule the engine applies to the area's children.
			got := apply.Holds(have, want)
			if kinds.OwnedWhole(schema.FromAPIVersionAndKind(want["apiVersion"].(string), want["kind"].(string)), kinds.Area) {
				got = apply.HoldsExactly(have, want)
			}
			if got != tt.matches {
				t.Errorf("matches = %v, want %v", got, tt.matches)
			}
		})
	}
}

func merged(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// TestAreaControls: which existing objects an area may write to.
func TestAreaControls(t *testing.T) {
	area := &mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: "leeds", UID: "uid-area"}}
	controller := func(kind, name, uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "mhst.io/v1alpha1", Kind: kind, Name: name, UID: types.UID(uid), Controller: ptr.To(true)}}
	}
	binding := func(labels map[string]string, owners []metav1.OwnerReference) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "mhst-leeds", Name: areaLeadRole, Labels: labels, OwnerReferences: owners}}
	}
	tests := []struct {
		name     string
		obj      client.Object
		conflict string // "" when the area may write to it
	}{
		{"controlled by the area", binding(childLabels(area), controller("LocalArea", "leeds", "uid-area")), ""},
		{"the operator's, without an owner (isolation objects)", binding(childLabels(area), nil), ""},
		{"the managed-by label removed by hand", binding(map[string]string{mhstv1alpha1.LabelArea: "leeds"}, nil), ""},
		{"left by an area that released the namespace", binding(map[string]string{mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue, mhstv1alpha1.LabelArea: "york"}, nil), ""},
		{"made by someone", binding(map[string]string{"team": "tools"}, nil),
			"RoleBinding mhst-leeds/mhst-area-lead was not made by mhst-operator for LocalArea leeds, and the operator never writes to what it did not make: the area needs that name, so delete that RoleBinding"},
		{"a team's", binding(map[string]string{mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue}, controller("SupportTeam", "north", "uid-team")),
			"RoleBinding mhst-leeds/mhst-area-lead belongs to SupportTeam north"},
		{"labelled as the area's but controlled by another", binding(childLabels(area), controller("LocalArea", "leeds", "uid-earlier")),
			"belongs to LocalArea leeds"},
		{"a cluster-scoped object made by someone", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "mhst-area-leeds-reader"}},
			"ClusterRole mhst-area-leeds-reader was not made by mhst-operator for LocalArea leeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := areaControls(area, tt.obj)
			switch {
			case tt.conflict == "" && err != nil:
				t.Errorf("areaControls = %v, want the area's", err)
			case tt.conflict != "" && (err == nil || !strings.Contains(err.Error(), tt.conflict)):
				t.Errorf("areaControls = %v, want a conflict saying %q", err, tt.conflict)
			case tt.conflict != "" && len(ownershipConflicts(fmt.Errorf("step: %w", errors.Join(errors.New("other"), err)))) != 1:
				t.Errorf("the conflict is not found among joined and wrapped errors")
			}
		})
	}
}
