package blueprint

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const customKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- hpa.yaml
`

const customDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: service
        image: placeholder
        ports:
        - name: http
          containerPort: 3000
        envFrom:
        - configMapRef:
            name: config
      - name: metrics-sidecar
        image: registry.example/metrics:2
`

const customHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 2
  maxReplicas: 6
`

// customFiles is a valid custom blueprint: a Deployment with a sidecar and
// an HPA, as a platform engineer might put in a ConfigMap.
func customFiles() map[string]string {
	return map[string]string{
		"kustomization.yaml": customKustomization,
		"deployment.yaml":    customDeployment,
		"hpa.yaml":           customHPA,
	}
}

// withResource returns customFiles plus one more resource file.
func withResource(name, content string) map[string]string {
	files := customFiles()
	files[name] = content
	files["kustomization.yaml"] += "- " + name + "\n"
	return files
}

func TestRenderCustomBlueprint(t *testing.T) {
	in := teamInput()
	in.Spec.Service.Port = 9090
	in.CustomFiles = customFiles()
	out := mustRender(t, in)

	wantKinds := []string{"ConfigMap", "Deployment", "HorizontalPodAutoscaler"}
	if got := kindsOf(out); !slices.Equal(got, wantKinds) {
		t.Fatalf("kinds = %v, want %v (no built-in objects, no PodDisruptionBudget)", got, wantKinds)
	}
	if out.DeploymentName != testTeam+"-web" {
		t.Errorf("DeploymentName = %q, want %q", out.DeploymentName, testTeam+"-web")
	}
	var d appsv1.Deployment
	typed(t, out, "Deployment", &d)
	containers := d.Spec.Template.Spec.Containers
	if len(containers) != 2 {
		t.Fatalf("containers = %+v, want the blueprint's two", containers)
	}
	svc, sidecar := containers[0], containers[1]
	if svc.Image != in.Spec.Service.Image || svc.Ports[0].ContainerPort != 9090 || len(svc.Ports) != 1 {
		t.Errorf("service container = %+v, want the team's image on port 9090", svc)
	}
	if sidecar.Image != "registry.example/metrics:2" {
		t.Errorf("sidecar image changed to %q", sidecar.Image)
	}
	if cm := configMapOf(t, out); svc.EnvFrom[0].ConfigMapRef.Name != cm.Name {
		t.Errorf("Deployment reads %q, want the generated %q", svc.EnvFrom[0].ConfigMapRef.Name, cm.Name)
	}
	if d.Spec.Selector.MatchLabels["mhst.io/team"] != testTeam || d.Spec.Selector.MatchLabels["app"] != "web" {
		t.Errorf("selector = %v, want the blueprint's and the team's labels", d.Spec.Selector.MatchLabels)
	}
	checkNamesAndNamespace(t, in, out)
}

func TestRenderCustomBlueprintRejected(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		wantObject string
		wantReason string
	}{
		{
			name: "cluster role binding",
			files: withResource("crb.yaml", `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: take-over
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: mhst-leeds}]
`),
			wantObject: `ClusterRoleBinding "leeds-north-take-over"`,
			wantReason: "cluster-scoped",
		},
		{
			name: "role binding",
			files: withResource("rb.yaml", `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: edit
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: default}]
`),
			wantObject: `RoleBinding "mhst-leeds/leeds-north-edit"`,
			wantReason: "RBAC",
		},
		{
			name: "object in another namespace",
			files: withResource("elsewhere.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: planted
  namespace: kube-system
data: {a: b}
`),
			wantObject: `ConfigMap "kube-system/leeds-north-planted"`,
			wantReason: `team's namespace "mhst-leeds"`,
		},
		{
			name: "kustomization moving everything to another namespace",
			files: func() map[string]string {
				f := customFiles()
				f["kustomization.yaml"] += "namespace: mhst-york\n"
				return f
			}(),
			wantObject: `Deployment "mhst-york/leeds-north-web"`,
			wantReason: "namespace",
		},
		{
			name: "namespaced kind outside the allowlist",
			files: withResource("secret.yaml", `apiVersion: v1
kind: Secret
metadata:
  name: token
`),
			wantObject: `Secret "mhst-leeds/leeds-north-token"`,
			wantReason: "not an allowed kind",
		},
		{
			name: "allowed kind at another version",
			files: withResource("hpa1.yaml", `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: old
spec: {maxReplicas: 3, scaleTargetRef: {kind: Deployment, name: web}}
`),
			wantObject: `HorizontalPodAutoscaler "mhst-leeds/leeds-north-old"`,
			wantReason: "autoscaling/v1 is not an allowed kind",
		},
		{
			name: "no deployment",
			files: map[string]string{
				"kustomization.yaml": "resources:\n- hpa.yaml\n",
				"hpa.yaml":           customHPA,
			},
			wantReason: "no Deployment",
		},
		{
			name:       "two deployments",
			files:      withResource("worker.yaml", strings.ReplaceAll(customDeployment, "name: web", "name: worker")),
			wantObject: `Deployment "mhst-leeds/leeds-north-worker"`,
			wantReason: "exactly one Deployment",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := teamInput()
			in.CustomFiles = tt.files
			out, err := Render(in)
			var rejected *RejectedError
			if !errors.As(err, &rejected) {
				t.Fatalf("Render = %v, %v; want a *RejectedError", out, err)
			}
			if out != nil {
				t.Error("a rejected render returned objects")
			}
			if rejected.Object != tt.wantObject {
				t.Errorf("Object = %q, want %q", rejected.Object, tt.wantObject)
			}
			if !strings.Contains(rejected.Reason, tt.wantReason) {
				t.Errorf("Reason = %q, want it to mention %q", rejected.Reason, tt.wantReason)
			}
			if tt.wantObject != "" && !strings.HasPrefix(rejected.Error(), tt.wantObject+" is not allowed: ") {
				t.Errorf("Error() = %q", rejected.Error())
			}
		})
	}
}

func TestRenderCustomBlueprintInvalid(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantMsg string
	}{
		{
			name:    "no kustomization.yaml",
			files:   map[string]string{"deployment.yaml": customDeployment},
			wantMsg: "no kustomization.yaml",
		},
		{
			name:    "empty blueprint",
			files:   map[string]string{},
			wantMsg: "no kustomization.yaml",
		},
		{
			name: "missing resource file",
			files: map[string]string{
				"kustomization.yaml": customKustomization,
				"deployment.yaml":    customDeployment,
			},
			wantMsg: `"hpa.yaml"`,
		},
		{
			name: "bad YAML in a resource",
			files: func() map[string]string {
				f := customFiles()
				f["hpa.yaml"] = "kind: HorizontalPodAutoscaler\n  metadata: [unclosed\n"
				return f
			}(),
			wantMsg: "hpa.yaml",
		},
		{
			name: "bad YAML in the kustomization",
			files: func() map[string]string {
				f := customFiles()
				f["kustomization.yaml"] = "resources: [deployment.yaml\n"
				return f
			}(),
			wantMsg: "kustomization.yaml",
		},
		{
			name:    "remote resource",
			files:   withResource("https://example.com/rbac.yaml", ""),
			wantMsg: "file name",
		},
		{
			name: "remote resource without a file of that name",
			files: func() map[string]string {
				f := customFiles()
				f["kustomization.yaml"] += "- github.com/example/blueprints//evil?ref=main\n"
				return f
			}(),
			wantMsg: "github.com/example/blueprints",
		},
		{
			name: "parent directory",
			files: func() map[string]string {
				f := customFiles()
				f["kustomization.yaml"] += "components:\n- ../pdb\n"
				return f
			}(),
			wantMsg: `"../pdb"`,
		},
		{
			name: "generator reading a file it does not have",
			files: func() map[string]string {
				f := customFiles()
				f["kustomization.yaml"] += "configMapGenerator:\n- name: extra\n  files:\n  - key=/etc/passwd\n"
				return f
			}(),
			wantMsg: `"/etc/passwd"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := teamInput()
			in.CustomFiles = tt.files
			out, err := Render(in)
			var invalid *InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("Render = %v, %v; want an *InvalidError", out, err)
			}
			if invalid.Err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestAllowedKinds(t *testing.T) {
	got := AllowedKinds()
	want := []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Version: "v1", Kind: "Service"},
		{Version: "v1", Kind: "ServiceAccount"},
		{Version: "v1", Kind: "ConfigMap"},
		{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
		{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
		{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("AllowedKinds() = %v, want %v", got, want)
	}
	got[0].Kind = "ClusterRole"
	if AllowedKinds()[0].Kind != "Deployment" {
		t.Error("AllowedKinds returns the package's own slice")
	}
	// Everything the built-in blueprint renders must be allowed.
	for _, obj := range mustRender(t, teamInput()).Objects {
		if !slices.Contains(want, obj.GroupVersionKind()) {
			t.Errorf("built-in renders %v, which is not allowed", obj.GroupVersionKind())
		}
	}
}

// TestRenderDocumentedExample renders the worked example of
// docs/blueprints.md (copied to testdata) and checks what the docs promise.
func TestRenderDocumentedExample(t *testing.T) {
	dir := "testdata/referrals-blueprint"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		content, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(content)
	}
	in := teamInput()
	in.CustomFiles = files
	out := mustRender(t, in)

	var got []string
	for _, o := range out.Objects {
		got = append(got, o.GetKind()+" "+o.GetName())
	}
	want := []string{
		"ConfigMap " + configMapOf(t, out).Name,
		"Deployment leeds-north-referrals",
		"HorizontalPodAutoscaler leeds-north-referrals",
		"NetworkPolicy leeds-north-service",
		"Service leeds-north-referrals",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("objects = %v, want %v", got, want)
	}
	hpa := out.Objects[2]
	if target, _, _ := unstructured.NestedString(hpa.Object, "spec", "scaleTargetRef", "name"); target != out.DeploymentName {
		t.Errorf("HPA targets %q, want %q", target, out.DeploymentName)
	}
	var np networkingv1.NetworkPolicy
	typed(t, out, "NetworkPolicy", &np)
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 1+len(in.AllowIngressFrom) {
		t.Errorf("ingress = %+v, want the team's peers", np.Spec.Ingress)
	}
}
