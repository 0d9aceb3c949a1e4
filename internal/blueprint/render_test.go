package blueprint

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

const (
	testTeam      = "leeds-north"
	testNamespace = "mhst-leeds"
	testArea      = "leeds"
)

// teamInput is a defaulted SupportTeam as the controller would pass it.
func teamInput() Input {
	return Input{
		TeamName:  testTeam,
		Namespace: testNamespace,
		AreaName:  testArea,
		Wave:      2,
		Spec: mhstv1alpha1.SupportTeamSpec{
			DisplayName: "Leeds North MHST",
			Staffing:    mhstv1alpha1.Staffing{EducationMentalHealthPractitioners: 4, SeniorClinicians: 1},
			Capacity:    mhstv1alpha1.Capacity{MaxSettings: 20, MaxPupils: 8500},
			Interventions: []mhstv1alpha1.Intervention{
				mhstv1alpha1.InterventionGuidedSelfHelp, mhstv1alpha1.InterventionGroupWork,
			},
			Service: mhstv1alpha1.TeamService{Image: "registry.example/mhst/referrals:1.4.2", Replicas: ptr(int32(2)), Port: 8080},
		},
		AllowIngressFrom: []metav1.LabelSelector{
			{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}},
			{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"monitoring"}},
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func mustRender(t *testing.T, in Input) *Output {
	t.Helper()
	out, err := Render(in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return out
}

// typed returns the render's only object of the kind, converted to obj.
func typed(t *testing.T, out *Output, kind string, obj any) {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range out.Objects {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s, got %d", kind, len(found))
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(found[0].Object, obj); err != nil {
		t.Fatalf("convert %s: %v", kind, err)
	}
}

func kindsOf(out *Output) []string {
	var ks []string
	for _, o := range out.Objects {
		ks = append(ks, o.GetKind())
	}
	return ks
}

func TestRenderBuiltinContents(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Input)
		check func(t *testing.T, in Input, out *Output)
	}{
		{name: "objects, sorted by kind then name", check: checkObjects},
		{name: "restricted security context", check: checkSecurityContext},
		{name: "probes, container and service follow the port", edit: func(in *Input) { in.Spec.Service.Port = 9090 }, check: checkPort},
		{name: "network policy admits own namespace and allowed namespaces", edit: func(in *Input) { in.Spec.Service.Port = 9443 }, check: checkNetworkPolicy},
		{name: "network policy without allowIngressFrom", edit: func(in *Input) { in.AllowIngressFrom = nil }, check: checkNetworkPolicy},
		{name: "labels and selectors", check: checkLabels},
		{name: "name prefix and namespace", check: checkNamesAndNamespace},
		{name: "image, replicas and resources", edit: func(in *Input) {
			in.Spec.Service.Replicas = ptr(int32(5))
			in.Spec.Service.Resources = &corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
			}
		}, check: checkServiceSpec},
		{name: "blueprint's default resources when the team sets none", check: checkServiceSpec},
		{name: "undefaulted spec renders the CRD's defaults", edit: func(in *Input) {
			in.Spec.Service.Replicas = nil
			in.Spec.Service.Port = 0
		}, check: func(t *testing.T, _ Input, out *Output) {
			var d appsv1.Deployment
			typed(t, out, "Deployment", &d)
			if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 8080 {
				t.Errorf("replicas %d port %d, want 2 and 8080", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := teamInput()
			if tt.edit != nil {
				tt.edit(&in)
			}
			tt.check(t, in, mustRender(t, in))
		})
	}
}

func checkObjects(t *testing.T, _ Input, out *Output) {
	want := []string{"ConfigMap", "Deployment", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"}
	if got := kindsOf(out); !reflect.DeepEqual(got, want) {
		t.Errorf("kinds = %v, want %v", got, want)
	}
	if out.DeploymentName != testTeam+"-service" {
		t.Errorf("DeploymentName = %q", out.DeploymentName)
	}
}

func checkSecurityContext(t *testing.T, _ Input, out *Output) {
	var d appsv1.Deployment
	typed(t, out, "Deployment", &d)
	pod := d.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pod automountServiceAccountToken is not false")
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v is not restricted", psc)
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container has no security context")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("runAsNonRoot is not true")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem is not true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation is not false")
	case sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
		t.Errorf("capabilities %+v do not drop ALL", sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("seccompProfile is not RuntimeDefault")
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/tmp" ||
		len(pod.Volumes) != 1 || pod.Volumes[0].EmptyDir == nil || pod.Volumes[0].Name != c.VolumeMounts[0].Name {
		t.Errorf("no emptyDir at /tmp: mounts %+v volumes %+v", c.VolumeMounts, pod.Volumes)
	}
	var sa corev1.ServiceAccount
	typed(t, out, "ServiceAccount", &sa)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("service account automountServiceAccountToken is not false")
	}
	if pod.ServiceAccountName != sa.Name {
		t.Errorf("pod runs as %q, not the blueprint's service account %q", pod.ServiceAccountName, sa.Name)
	}
}

func checkPort(t *testing.T, in Input, out *Output) {
	var d appsv1.Deployment
	typed(t, out, "Deployment", &d)
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != in.Spec.Service.Port || c.Ports[0].Name != servicePortName {
		t.Fatalf("container ports %+v, want only %s=%d", c.Ports, servicePortName, in.Spec.Service.Port)
	}
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("%s probe is not an httpGet probe", name)
			continue
		}
		if got := resolvePort(c, probe.HTTPGet.Port); got != in.Spec.Service.Port {
			t.Errorf("%s probe on port %d, want %d", name, got, in.Spec.Service.Port)
		}
	}
	var s corev1.Service
	typed(t, out, "Service", &s)
	if got := resolvePort(c, s.Spec.Ports[0].TargetPort); got != in.Spec.Service.Port {
		t.Errorf("service targets port %d, want %d", got, in.Spec.Service.Port)
	}
	var cm corev1.ConfigMap
	typed(t, out, "ConfigMap", &cm)
	if cm.Data["PORT"] != "9090" {
		t.Errorf("PORT = %q, want 9090", cm.Data["PORT"])
	}
}

// resolvePort returns the number a probe or Service port means for c.
func resolvePort(c corev1.Container, p intstr.IntOrString) int32 {
	if p.StrVal == "" {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

func checkNetworkPolicy(t *testing.T, in Input, out *Output) {
	var np networkingv1.NetworkPolicy
	typed(t, out, "NetworkPolicy", &np)
	if len(np.Spec.Ingress) != 1 {
		t.Fatalf("want one ingress rule, got %+v", np.Spec.Ingress)
	}
	rule := np.Spec.Ingress[0]
	wantPeers := []metav1.LabelSelector{{MatchLabels: map[string]string{"kubernetes.io/metadata.name": testNamespace}}}
	wantPeers = append(wantPeers, in.AllowIngressFrom...)
	var gotPeers []metav1.LabelSelector
	for _, p := range rule.From {
		if p.PodSelector != nil || p.NamespaceSelector == nil {
			t.Errorf("peer %+v is not a namespace selector", p)
			continue
		}
		gotPeers = append(gotPeers, *p.NamespaceSelector)
	}
	if !reflect.DeepEqual(gotPeers, wantPeers) {
		t.Errorf("peers = %+v, want %+v", gotPeers, wantPeers)
	}
	if len(rule.Ports) != 1 || rule.Ports[0].Port.IntVal != in.Spec.Service.Port {
		t.Errorf("ports = %+v, want %d", rule.Ports, in.Spec.Service.Port)
	}
	if np.Spec.PodSelector.MatchLabels[mhstv1alpha1.LabelTeam] != testTeam {
		t.Errorf("policy selects %v, not the team's pods", np.Spec.PodSelector.MatchLabels)
	}
}

func checkLabels(t *testing.T, _ Input, out *Output) {
	want := map[string]string{
		mhstv1alpha1.LabelArea:      testArea,
		mhstv1alpha1.LabelTeam:      testTeam,
		mhstv1alpha1.LabelWave:      "2",
		mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue,
	}
	for _, o := range out.Objects {
		assertLabels(t, o.GetKind()+" labels", o.GetLabels(), want)
	}
	selectorSafe := map[string]string{
		mhstv1alpha1.LabelArea:      testArea,
		mhstv1alpha1.LabelTeam:      testTeam,
		mhstv1alpha1.LabelManagedBy: mhstv1alpha1.ManagedByValue,
	}
	var d appsv1.Deployment
	typed(t, out, "Deployment", &d)
	assertLabels(t, "pod template labels", d.Spec.Template.Labels, selectorSafe)
	assertLabels(t, "deployment selector", d.Spec.Selector.MatchLabels, selectorSafe)
	var s corev1.Service
	typed(t, out, "Service", &s)
	assertLabels(t, "service selector", s.Spec.Selector, selectorSafe)
	var pdb policyv1.PodDisruptionBudget
	typed(t, out, "PodDisruptionBudget", &pdb)
	assertLabels(t, "pdb selector", pdb.Spec.Selector.MatchLabels, selectorSafe)
	// The wave can change; an immutable selector must not depend on it.
	if _, ok := d.Spec.Selector.MatchLabels[mhstv1alpha1.LabelWave]; ok {
		t.Error("deployment selector includes the wave")
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template", k, v)
		}
	}
}

func assertLabels(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s=%q, want %q", what, k, got[k], v)
		}
	}
}

func checkNamesAndNamespace(t *testing.T, _ Input, out *Output) {
	for _, o := range out.Objects {
		if !strings.HasPrefix(o.GetName(), testTeam+"-") {
			t.Errorf("%s %q lacks the team prefix", o.GetKind(), o.GetName())
		}
		if o.GetNamespace() != testNamespace {
			t.Errorf("%s %q in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
}

func checkServiceSpec(t *testing.T, in Input, out *Output) {
	var d appsv1.Deployment
	typed(t, out, "Deployment", &d)
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != in.Spec.Service.Image {
		t.Errorf("image = %q, want %q", c.Image, in.Spec.Service.Image)
	}
	if *d.Spec.Replicas != *in.Spec.Service.Replicas {
		t.Errorf("replicas = %d, want %d", *d.Spec.Replicas, *in.Spec.Service.Replicas)
	}
	want := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	if in.Spec.Service.Resources != nil {
		// Replaced whole: the blueprint's limits must not survive beside
		// the team's requests.
		want = *in.Spec.Service.Resources
	}
	if !equalResources(c.Resources.Requests, want.Requests) || !equalResources(c.Resources.Limits, want.Limits) {
		t.Errorf("resources = %+v, want %+v", c.Resources, want)
	}
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestRenderPodDisruptionBudgetOnlyWithSeveralReplicas(t *testing.T) {
	tests := []struct {
		replicas *int32
		wantPDB  bool
	}{
		{replicas: ptr(int32(0)), wantPDB: false},
		{replicas: ptr(int32(1)), wantPDB: false},
		{replicas: ptr(int32(2)), wantPDB: true},
		{replicas: ptr(int32(7)), wantPDB: true},
		{replicas: nil, wantPDB: true}, // the default is 2
	}
	for _, tt := range tests {
		in := teamInput()
		in.Spec.Service.Replicas = tt.replicas
		out := mustRender(t, in)
		got := strings.Contains(strings.Join(kindsOf(out), ","), "PodDisruptionBudget")
		if got != tt.wantPDB {
			t.Errorf("replicas %v: PodDisruptionBudget rendered = %v, want %v", tt.replicas, got, tt.wantPDB)
		}
	}
}

func TestRenderConfigMapHashFollowsConfiguration(t *testing.T) {
	base := mustRender(t, teamInput())
	baseName := configMapOf(t, base).Name
	tests := []struct {
		name        string
		edit        func(*Input)
		wantChanged bool
	}{
		{name: "staffing", edit: func(in *Input) { in.Spec.Staffing.EducationMentalHealthPractitioners = 5 }, wantChanged: true},
		{name: "vacancies", edit: func(in *Input) { in.Spec.Staffing.Vacancies = 2 }, wantChanged: true},
		{name: "display name", edit: func(in *Input) { in.Spec.DisplayName = "Leeds North" }, wantChanged: true},
		{name: "year round", edit: func(in *Input) { in.Spec.YearRound = ptr(false) }, wantChanged: true},
		{name: "max pupils", edit: func(in *Input) { in.Spec.Capacity.MaxPupils = 9000 }, wantChanged: true},
		{name: "wave", edit: func(in *Input) { in.Wave = 3 }, wantChanged: true},
		{name: "interventions reordered", edit: func(in *Input) {
			in.Spec.Interventions = []mhstv1alpha1.Intervention{
				mhstv1alpha1.InterventionGroupWork, mhstv1alpha1.InterventionGuidedSelfHelp,
			}
		}, wantChanged: false},
		{name: "replicas", edit: func(in *Input) { in.Spec.Service.Replicas = ptr(int32(3)) }, wantChanged: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := teamInput()
			tt.edit(&in)
			out := mustRender(t, in)
			cm := configMapOf(t, out)
			if changed := cm.Name != baseName; changed != tt.wantChanged {
				t.Errorf("ConfigMap name %q (was %q): changed = %v, want %v", cm.Name, baseName, changed, tt.wantChanged)
			}
			if !strings.HasPrefix(cm.Name, testTeam+"-config-") {
				t.Errorf("ConfigMap name %q is not the team's hashed config", cm.Name)
			}
			var d appsv1.Deployment
			typed(t, out, "Deployment", &d)
			ref := d.Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef
			if ref == nil || ref.Name != cm.Name {
				t.Errorf("Deployment reads %+v, want ConfigMap %q", ref, cm.Name)
			}
		})
	}
}

func TestRenderConfigMapData(t *testing.T) {
	in := teamInput()
	// Quotes and "=" must survive kustomize's literal parsing.
	in.Spec.DisplayName = `"Leeds" = North`
	cm := configMapOf(t, mustRender(t, in))
	want := map[string]string{
		"MHST_TEAM":          testTeam,
		"MHST_AREA":          testArea,
		"MHST_NAMESPACE":     testNamespace,
		"MHST_WAVE":          "2",
		"MHST_DISPLAY_NAME":  `"Leeds" = North`,
		"MHST_YEAR_ROUND":    "true",
		"MHST_INTERVENTIONS": "GroupWork,GuidedSelfHelp",
		"MHST_EDUCATION_MENTAL_HEALTH_PRACTITIONERS": "4",
		"MHST_SENIOR_CLINICIANS":                     "1",
		"MHST_HIGHER_LEVEL_THERAPISTS":               "0",
		"MHST_VACANCIES":                             "0",
		"MHST_MAX_SETTINGS":                          "20",
		"MHST_MAX_PUPILS":                            "8500",
		"PORT":                                       "8080",
	}
	if !reflect.DeepEqual(cm.Data, want) {
		t.Errorf("data = %v\nwant %v", cm.Data, want)
	}
}

func configMapOf(t *testing.T, out *Output) corev1.ConfigMap {
	t.Helper()
	var cm corev1.ConfigMap
	typed(t, out, "ConfigMap", &cm)
	return cm
}

func TestRenderIsDeterministic(t *testing.T) {
	for _, custom := range []map[string]string{nil, customFiles()} {
		in := teamInput()
		in.CustomFiles = custom
		first := mustRender(t, in)
		for range 3 {
			if again := mustRender(t, in); !reflect.DeepEqual(first, again) {
				t.Fatalf("custom=%v: two renders of the same input differ", custom != nil)
			}
		}
	}
}

func TestRenderErrorsWrapContext(t *testing.T) {
	in := teamInput()
	in.CustomFiles = map[string]string{"deployment.yaml": "kind: Deployment"}
	_, err := Render(in)
	var invalid *InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want *InvalidError", err)
	}
	if !strings.Contains(err.Error(), testNamespace+"/"+testTeam) {
		t.Errorf("error %q does not name the team", err)
	}
}

func BenchmarkRenderBuiltin(b *testing.B) {
	in := teamInput()
	for b.Loop() {
		if _, err := Render(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenderRefusesUnusableInput(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Input)
		want string
	}{
		{name: "no namespace", edit: func(in *Input) { in.Namespace = "" }, want: "no namespace"},
		{name: "no image", edit: func(in *Input) { in.Spec.Service.Image = "" }, want: "image"},
		{name: "no team", edit: func(in *Input) { in.TeamName = "" }, want: "team name is empty"},
		{name: "area name too long for a label", edit: func(in *Input) { in.AreaName = strings.Repeat("a", 64) }, want: "area name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := teamInput()
			tt.edit(&in)
			_, err := Render(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render error = %v, want one mentioning %q", err, tt.want)
			}
			var invalid *InvalidError
			var rejected *RejectedError
			if errors.As(err, &invalid) || errors.As(err, &rejected) {
				t.Errorf("a caller's mistake is reported as the blueprint's: %v", err)
			}
		})
	}
}
