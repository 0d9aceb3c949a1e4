package apply

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHolds: the drift rule, field by field.
func TestHolds(t *testing.T) {
	tests := []struct {
		name    string
		live    string
		applied string
		want    bool
	}{
		{"identical", `{"a":1,"b":"x"}`, `{"a":1,"b":"x"}`, true},
		{"live has defaulted extra fields", `{"a":1,"b":"x","c":true}`, `{"a":1}`, true},
		{"value changed by hand", `{"a":2}`, `{"a":1}`, false},
		{"field removed by hand", `{"b":"x"}`, `{"a":1,"b":"x"}`, false},
		{"applied null is unset", `{"b":"x"}`, `{"a":null,"b":"x"}`, true},
		{"nested map", `{"spec":{"replicas":3,"x":1}}`, `{"spec":{"replicas":2}}`, false},
		{"list element with defaulted fields", `{"c":[{"name":"s","image":"i:1","tmp":"/dev"}]}`, `{"c":[{"name":"s","image":"i:1"}]}`, true},
		{"list element changed", `{"c":[{"name":"s","image":"i:2"}]}`, `{"c":[{"name":"s","image":"i:1"}]}`, false},
		{"list grew", `{"c":[1,2]}`, `{"c":[1]}`, false},
		{"list shrank", `{"c":[1]}`, `{"c":[1,2]}`, false},
		{"type changed", `{"a":"1"}`, `{"a":1}`, false},
		{"map replaced by scalar", `{"a":1}`, `{"a":{"b":1}}`, false},
		{"empty applied map", `{"a":{"b":1}}`, `{"a":{}}`, true},
		{"empty wanted map holds when absent", `{"b":1}`, `{"a":{}}`, true},
		{"empty wanted list holds when absent", `{"b":1}`, `{"a":[]}`, true},
		{"empty wanted list and a list someone filled", `{"a":[1]}`, `{"a":[]}`, false},
		{"labels others add are theirs", `{"metadata":{"labels":{"a":"1","x":"y"}}}`, `{"metadata":{"labels":{"a":"1"}}}`, true},
		{"a label the operator sets removed", `{"metadata":{"labels":{"x":"y"}}}`, `{"metadata":{"labels":{"a":"1"}}}`, false},
		{"owner reference among others", `{"metadata":{"ownerReferences":[{"uid":"2","kind":"X"},{"uid":"1","kind":"LocalArea","controller":true}]}}`,
			`{"metadata":{"ownerReferences":[{"uid":"1","kind":"LocalArea","controller":true}]}}`, true},
		{"owner reference no longer the controller", `{"metadata":{"ownerReferences":[{"uid":"1","kind":"LocalArea","controller":false}]}}`,
			`{"metadata":{"ownerReferences":[{"uid":"1","kind":"LocalArea","controller":true}]}}`, false},
		{"owner reference removed", `{"metadata":{"ownerReferences":[{"uid":"2"}]}}`, `{"metadata":{"ownerReferences":[{"uid":"1"}]}}`, false},
		{"status is not compared", `{"status":{"a":2}}`, `{"status":{"a":1}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := decode(t, tt.live)
			applied := decode(t, tt.applied)
			if got := Holds(live.(map[string]any), applied.(map[string]any)); got != tt.want {
				t.Errorf("Holds(%s, %s) = %v, want %v", tt.live, tt.applied, got, tt.want)
			}
		})
	}
}

// A typed object read from the cache and an unstructured render compare by
// value once both are normalised, whatever Go number types they hold.
func TestNormalizeTypedAgainstRender(t *testing.T) {
	replicas := int32(2)
	live := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "team-service", Namespace: "mhst-leeds", ResourceVersion: "42"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "service", Image: "i:1", TerminationMessagePath: "/dev/termination-log",
			}}}},
		},
	}
	render := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "team-service", "namespace": "mhst-leeds", "creationTimestamp": nil},
		"spec": map[string]any{
			"replicas": int64(2),
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "service", "image": "i:1"},
			}}},
		},
	}
	liveJSON, err := Normalize(live)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := Normalize(render)
	if err != nil {
		t.Fatal(err)
	}
	if !Holds(liveJSON, applied) {
		t.Fatal("a live object holding the render is reported as drift")
	}
	replicas = 5
	if liveJSON, err = Normalize(live); err != nil {
		t.Fatal(err)
	}
	if Holds(liveJSON, applied) {
		t.Fatal("a hand-scaled Deployment is not reported as drift")
	}
}

// TestHoldsExactly: for the kinds owned whole, a field someone adds is
// drift too; metadata and status still are not.
func TestHoldsExactly(t *testing.T) {
	tests := []struct {
		name, live, want string
		holds            bool
	}{
		{"the same", `{"spec":{"hard":{"pods":"10"}}}`, `{"spec":{"hard":{"pods":"10"}}}`, true},
		{"a quota someone added", `{"spec":{"hard":{"pods":"10","services":"1"}}}`, `{"spec":{"hard":{"pods":"10"}}}`, false},
		{"a data key someone added", `{"data":{"a":"1","b":"2"}}`, `{"data":{"a":"1"}}`, false},
		{"a label someone added", `{"metadata":{"labels":{"a":"1","x":"y"}},"data":{"a":"1"}}`, `{"metadata":{"labels":{"a":"1"}},"data":{"a":"1"}}`, true},
		{"a selector narrowed", `{"spec":{"podSelector":{"matchLabels":{"app":"x"}}}}`, `{"spec":{"podSelector":{}}}`, false},
		{"status the server writes", `{"spec":{"a":1},"status":{"used":{}}}`, `{"spec":{"a":1}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HoldsExactly(decode(t, tt.live).(map[string]any), decode(t, tt.want).(map[string]any)); got != tt.holds {
				t.Errorf("HoldsExactly(%s, %s) = %v, want %v", tt.live, tt.want, got, tt.holds)
			}
		})
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	out, err := Normalize(jsonRaw(s))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonRaw lets a test write objects as JSON text.
type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }
