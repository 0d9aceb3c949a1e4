package drift

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestContains(t *testing.T) {
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := decode(t, tt.live)
			applied := decode(t, tt.applied)
			if got := Contains(live, applied); got != tt.want {
				t.Errorf("Contains(%s, %s) = %v, want %v", tt.live, tt.applied, got, tt.want)
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
	if !Contains(liveJSON, applied) {
		t.Fatal("a live object holding the render is reported as drift")
	}
	replicas = 5
	if liveJSON, err = Normalize(live); err != nil {
		t.Fatal(err)
	}
	if Contains(liveJSON, applied) {
		t.Fatal("a hand-scaled Deployment is not reported as drift")
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
