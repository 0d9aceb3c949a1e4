package v1alpha1_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// The smallest objects the API server accepts: every optional field left out.
const (
	minimalArea = `
apiVersion: mhst.io/v1alpha1
kind: LocalArea
metadata:
  name: minimal
spec:
  displayName: Hartlepool
  localAuthorityCode: E06000001
  region: North East
  wave: 0
  governance:
    board:
      - kind: Group
        name: hartlepool-board
        sector: Health
`
	minimalTeam = `
apiVersion: mhst.io/v1alpha1
kind: SupportTeam
metadata:
  namespace: validation
  name: minimal
spec:
  service:
    image: nginxinc/nginx-unprivileged:1.27
`
	minimalCoverage = `
apiVersion: mhst.io/v1alpha1
kind: SchoolCoverage
metadata:
  namespace: validation
  name: minimal
spec:
  settings:
    - urn: "111640"
      name: Barnard Grove Primary School
      phase: Primary
      pupils: 420
`
)

func TestDefaults(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		mutate   []mutation
		path     string
		want     any
	}{
		{"capacity omitted: maxSettings", minimalTeam, nil, "spec.capacity.maxSettings", int64(20)},
		{"capacity omitted: maxPupils", minimalTeam, nil, "spec.capacity.maxPupils", int64(8500)},
		{"capacity partly given: maxPupils", minimalTeam, []mutation{set("spec.capacity.maxSettings", 15)}, "spec.capacity.maxPupils", int64(8500)},
		{"capacity partly given: maxSettings kept", minimalTeam, []mutation{set("spec.capacity.maxSettings", 15)}, "spec.capacity.maxSettings", int64(15)},
		{"yearRound", minimalTeam, nil, "spec.yearRound", true},
		{"yearRound false kept", minimalTeam, []mutation{set("spec.yearRound", false)}, "spec.yearRound", false},
		{"replicas", minimalTeam, nil, "spec.service.replicas", int64(2)},
		{"replicas 0 kept", minimalTeam, []mutation{set("spec.service.replicas", 0)}, "spec.service.replicas", int64(0)},
		{"port", minimalTeam, nil, "spec.service.port", int64(8080)},
		{"sessionsPerWeek", minimalCoverage, nil, "spec.settings.0.sessionsPerWeek", int64(2)},
		{"deletionPolicy", minimalArea, nil, "spec.deletionPolicy", "Retain"},
		{"coverageTarget", minimalArea, nil, "spec.coverageTarget", int64(100)},
		{"coverageTarget 0 kept", minimalArea, []mutation{set("spec.coverageTarget", 0)}, "spec.coverageTarget", int64(0)},
		{"board role", minimalArea, nil, "spec.governance.board.0.role", "Member"},
		{"board role Chair kept", minimalArea, []mutation{set("spec.governance.board.0.role", "Chair")}, "spec.governance.board.0.role", "Chair"},
		{"egress port protocol", minimalArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			map[string]any{"ipBlock": map[string]any{"cidr": "192.0.2.0/24"}, "ports": []any{map[string]any{"port": 443}}}})},
			"spec.tenancy.allowEgressTo.0.ports.0.protocol", "TCP"},
		{"egress port protocol UDP kept", minimalArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			map[string]any{"ipBlock": map[string]any{"cidr": "192.0.2.0/24"}, "ports": []any{map[string]any{"port": 514, "protocol": "UDP"}}}})},
			"spec.tenancy.allowEgressTo.0.ports.0.protocol", "UDP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(t, tc.manifest)
			for _, mutate := range tc.mutate {
				mutate(t, obj.Object)
			}
			if err := createDryRun(context.Background(), obj); err != nil {
				t.Fatalf("refused: %v", err)
			}
			got, found := field(t, obj, tc.path)
			if !found {
				t.Fatalf("%s is not set; want %v", tc.path, tc.want)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s = %#v; want %#v", tc.path, got, tc.want)
			}
		})
	}
}

// field returns the value at path (as for set) in obj.
func field(t *testing.T, obj *unstructured.Unstructured, path string) (any, bool) {
	t.Helper()
	parent, last := walk(t, obj.Object, path)
	switch p := parent.(type) {
	case map[string]any:
		v, ok := p[last]
		return v, ok
	case []any:
		return p[listIndex(t, path, last, len(p))], true
	}
	return nil, false
}

// TestDefaultsKeepExplicitZeros checks the same through the Go types that
// the operator and its users' tools use: the fields where 0 is meaningful
// are pointers, so an explicit 0 reaches the server and is not replaced by
// the default, while an absent value is.
func TestDefaultsKeepExplicitZeros(t *testing.T) {
	zero := int32(0)
	cases := []struct {
		name           string
		replicas       *int32
		coverageTarget *int32
		wantReplicas   int32
		wantTarget     int32
	}{
		{"absent", nil, nil, 2, 100},
		{"explicit zero", &zero, &zero, 0, 0},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			team := &mhstv1alpha1.SupportTeam{
				ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: "typed"},
				Spec: mhstv1alpha1.SupportTeamSpec{
					Service: mhstv1alpha1.TeamService{Image: "nginxinc/nginx-unprivileged:1.27", Replicas: tc.replicas},
				},
			}
			if err := createDryRun(ctx, team); err != nil {
				t.Fatalf("create team: %v", err)
			}
			if team.Spec.Service.Replicas == nil || *team.Spec.Service.Replicas != tc.wantReplicas {
				t.Errorf("replicas = %v; want %d", team.Spec.Service.Replicas, tc.wantReplicas)
			}

			area := &mhstv1alpha1.LocalArea{
				ObjectMeta: metav1.ObjectMeta{Name: "typed-" + strings.ReplaceAll(tc.name, " ", "-")},
				Spec: mhstv1alpha1.LocalAreaSpec{
					DisplayName:        "Hartlepool",
					LocalAuthorityCode: "E06000001",
					Region:             "North East",
					Governance: mhstv1alpha1.Governance{Board: []mhstv1alpha1.BoardMember{
						{Kind: mhstv1alpha1.SubjectGroup, Name: "board", Sector: mhstv1alpha1.SectorHealth},
					}},
					CoverageTarget: tc.coverageTarget,
				},
			}
			if err := createDryRun(ctx, area); err != nil {
				t.Fatalf("create area: %v", err)
			}
			if area.Spec.CoverageTarget == nil || *area.Spec.CoverageTarget != tc.wantTarget {
				t.Errorf("coverageTarget = %v; want %d", area.Spec.CoverageTarget, tc.wantTarget)
			}
		})
	}
}
