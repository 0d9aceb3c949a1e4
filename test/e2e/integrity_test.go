//go:build e2e

package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/rollout"
	"github.com/mhst-io/mhst-operator/internal/rollout/converge"
)

// ownerKinds are the kinds that may own what the operator creates.
var ownerKinds = []schema.GroupVersionKind{
	mhstv1alpha1.GroupVersion.WithKind("LocalArea"),
	mhstv1alpha1.GroupVersion.WithKind("SupportTeam"),
	mhstv1alpha1.GroupVersion.WithKind("SchoolCoverage"),
	{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
}

func (e *env) list(gvk schema.GroupVersionKind, opts ...client.ListOption) []unstructured.Unstructured {
	e.t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := e.client.List(e.ctx, list, opts...); err != nil {
		e.t.Fatalf("list %s: %v", gvk.Kind, err)
	}
	return list.Items
}

// checkIntegrity fails the test when the operator left duplicates or
// orphans behind. What it made must be exactly:
//   - one namespace per area, and no other namespace of its own;
//   - in every area's namespace the same area-level objects (kinds and
//     counts) as in every other area, since every generated area has the
//     same tenancy: a duplicate made by a crashed pass shows up as an area
//     with more;
//   - for every team, the objects labelled with its name are exactly the
//     inventory in its status, and the same kinds and counts for every team;
//   - no object whose owner reference names an object that does not exist.
func (e *env) checkIntegrity(areas []rollout.Area) {
	e.t.Helper()
	managed := client.MatchingLabels{mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue}
	var made []unstructured.Unstructured
	for _, gvk := range converge.OperatorKinds {
		made = append(made, e.list(gvk, managed)...)
	}
	e.checkNamespaces(areas, made)
	e.checkAreaLevel(areas, made)
	e.checkTeams(areas, made)
	e.checkOwners(made)
}

func (e *env) checkNamespaces(areas []rollout.Area, made []unstructured.Unstructured) {
	want := map[string]bool{}
	for _, a := range areas {
		want[a.Namespace()] = true
	}
	got := map[string]bool{}
	for _, obj := range made {
		if obj.GetKind() == "Namespace" {
			got[obj.GetName()] = true
		}
	}
	if !reflect.DeepEqual(got, want) {
		e.t.Errorf("the operator's namespaces are %v, want one per area %v", sortedKeys(got), sortedKeys(want))
	}
}

// kindCounts is a "Kind=n" summary, for comparing sets of objects.
func kindCounts(objs []unstructured.Unstructured) string {
	counts := map[string]int{}
	for _, obj := range objs {
		counts[obj.GetKind()]++
	}
	var parts []string
	for _, kind := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s=%d", kind, counts[kind]))
	}
	return strings.Join(parts, " ")
}

func (e *env) checkAreaLevel(areas []rollout.Area, made []unstructured.Unstructured) {
	byNamespace := map[string][]unstructured.Unstructured{}
	for _, obj := range made {
		if obj.GetNamespace() != "" && obj.GetLabels()[mhstv1alpha1.LabelTeam] == "" {
			byNamespace[obj.GetNamespace()] = append(byNamespace[obj.GetNamespace()], obj)
		}
	}
	first := kindCounts(byNamespace[areas[0].Namespace()])
	if first == "" {
		e.t.Errorf("the operator made nothing in %s", areas[0].Namespace())
	}
	for _, a := range areas[1:] {
		if got := kindCounts(byNamespace[a.Namespace()]); got != first {
			e.t.Errorf("area-level objects in %s: %s; in %s: %s (a duplicate or a missing object)", a.Namespace(), got, areas[0].Namespace(), first)
		}
	}
}

func (e *env) checkTeams(areas []rollout.Area, made []unstructured.Unstructured) {
	byTeam := map[types.NamespacedName][]unstructured.Unstructured{}
	for _, obj := range made {
		if team := obj.GetLabels()[mhstv1alpha1.LabelTeam]; team != "" {
			key := types.NamespacedName{Namespace: obj.GetNamespace(), Name: team}
			byTeam[key] = append(byTeam[key], obj)
		}
	}
	var reference string
	teams := 0
	for _, a := range areas {
		var list mhstv1alpha1.SupportTeamList
		if err := e.client.List(e.ctx, &list, client.InNamespace(a.Namespace())); err != nil {
			e.t.Fatal(err)
		}
		for _, team := range list.Items {
			teams++
			key := types.NamespacedName{Namespace: team.Namespace, Name: team.Name}
			objs := byTeam[key]
			delete(byTeam, key)
			if got, want := namesOf(objs), inventoryOf(team); !reflect.DeepEqual(got, want) {
				e.t.Errorf("team %s: objects %v, inventory %v", key, got, want)
			}
			counts := kindCounts(objs)
			if reference == "" {
				reference = counts
			} else if counts != reference {
				e.t.Errorf("team %s has %s, other teams %s", key, counts, reference)
			}
		}
	}
	if teams == 0 {
		e.t.Error("no teams")
	}
	for key, objs := range byTeam {
		e.t.Errorf("%d objects labelled for team %s, which does not exist (orphans): %v", len(objs), key, namesOf(objs))
	}
}

func namesOf(objs []unstructured.Unstructured) []string {
	names := []string{}
	for _, obj := range objs {
		names = append(names, obj.GetKind()+"/"+obj.GetName())
	}
	sort.Strings(names)
	return names
}

func inventoryOf(team mhstv1alpha1.SupportTeam) []string {
	names := []string{}
	for _, entry := range team.Status.Inventory {
		names = append(names, entry.Kind+"/"+entry.Name)
	}
	sort.Strings(names)
	return names
}

// checkOwners fails on owner references to objects that do not exist.
func (e *env) checkOwners(made []unstructured.Unstructured) {
	exists := map[types.UID]bool{}
	for _, gvk := range ownerKinds {
		for _, obj := range e.list(gvk) {
			exists[obj.GetUID()] = true
		}
	}
	for _, obj := range made {
		for _, ref := range obj.GetOwnerReferences() {
			if !exists[ref.UID] {
				e.t.Errorf("%s %s/%s is owned by %s %s (uid %s), which does not exist", obj.GetKind(), obj.GetNamespace(), obj.GetName(), ref.Kind, ref.Name, ref.UID)
			}
		}
	}
}
