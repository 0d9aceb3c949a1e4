package main

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/rollout"
)

func TestParseScales(t *testing.T) {
	tests := []struct {
		text    string
		want    []int
		wantErr bool
	}{
		{text: "10,50,all", want: []int{10, 50, 0}},
		{text: " 3 ", want: []int{3}},
		{text: "0", wantErr: true},
		{text: "ten", wantErr: true},
		{text: "10,", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseScales(tt.text)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseScales(%q) = %v, %v; want %v (error: %v)", tt.text, got, err, tt.want, tt.wantErr)
		}
	}
}

func area(name string, wave int32, settings int64) rollout.Area {
	var a rollout.Area
	a.LocalArea.Name = name
	a.LocalArea.Spec.Wave = wave
	a.Expected = mhstv1alpha1.AreaCoverage{Settings: settings}
	return a
}

func TestSubset(t *testing.T) {
	areas := []rollout.Area{area("a", 2, 10), area("b", 0, 20), area("big", 3, 600), area("c", 0, 5)}
	tests := []struct {
		n    int
		want []string
	}{
		{n: 1, want: []string{"big"}},
		{n: 3, want: []string{"big", "b", "c"}},
		{n: 0, want: []string{"big", "b", "c", "a"}},
		{n: 9, want: []string{"big", "b", "c", "a"}},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range subset(areas, tt.n) {
			got = append(got, a.LocalArea.Name)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("subset(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestFloorCopy(t *testing.T) {
	service := unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{
			"name": "team-01", "namespace": "mhst-leeds", "uid": "1234", "resourceVersion": "9",
			"labels": map[string]any{"app": "x"}, "annotations": map[string]any{"note": "y"},
			"ownerReferences": []any{map[string]any{"name": "team-01"}},
		},
		"spec":   map[string]any{"clusterIP": "10.0.0.7", "clusterIPs": []any{"10.0.0.7"}, "ports": []any{map[string]any{"port": int64(80)}}},
		"status": map[string]any{"loadBalancer": map[string]any{}},
	}}
	got := floorCopy(service)
	want := map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{
			"name": "team-01", "namespace": "floor-mhst-leeds",
			"labels": map[string]any{"app": "x"}, "annotations": map[string]any{"note": "y"},
		},
		"spec": map[string]any{"ports": []any{map[string]any{"port": int64(80)}}},
	}
	if !reflect.DeepEqual(got.Object, want) {
		t.Errorf("floor copy of a Service:\n%v\nwant\n%v", got.Object, want)
	}

	namespace := unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "mhst-leeds"},
	}}
	if name := floorCopy(namespace).GetName(); name != "floor-mhst-leeds" {
		t.Errorf("floor copy of a namespace is named %s", name)
	}
}
