package v1alpha1_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"
)

// crd is the part of a generated CustomResourceDefinition these tests read.
type crd struct {
	Spec struct {
		Versions []struct {
			Name                     string          `json:"name"`
			AdditionalPrinterColumns []printerColumn `json:"additionalPrinterColumns"`
			Schema                   struct {
				OpenAPIV3Schema schema `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

type printerColumn struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	JSONPath string `json:"jsonPath"`
	Priority int32  `json:"priority"`
}

type schema struct {
	Description string            `json:"description"`
	Properties  map[string]schema `json:"properties"`
	Items       *schema           `json:"items"`
}

// readCRD reads the generated CRD of a kind's plural from config/crd/bases.
func readCRD(t *testing.T, plural string) crd {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../config/crd/bases", "mhst.io_"+plural+".yaml"))
	if err != nil {
		t.Fatalf("read CRD: %v", err)
	}
	var c crd
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("parse CRD of %s: %v", plural, err)
	}
	if len(c.Spec.Versions) != 1 || c.Spec.Versions[0].Name != "v1alpha1" {
		t.Fatalf("CRD of %s: want the one version v1alpha1, have %d versions", plural, len(c.Spec.Versions))
	}
	return c
}

// readyColumn is the JSONPath kstatus-aware tools and people read Ready from.
const readyColumn = `.status.conditions[?(@.type=="Ready")].status`

// defaultColumns are the printer columns `kubectl get` shows without -o wide.
var defaultColumns = []struct {
	plural  string
	columns []printerColumn
}{
	{"localareas", []printerColumn{
		{Name: "Wave", Type: "integer", JSONPath: ".spec.wave"},
		{Name: "Namespace", Type: "string", JSONPath: ".status.namespace"},
		{Name: "Teams", Type: "integer", JSONPath: ".status.teams.total"},
		{Name: "Coverage", Type: "string", JSONPath: ".status.coverage.pupilsCoveredPercent"},
		{Name: "Target", Type: "integer", JSONPath: ".status.plan.target.percent"},
		{Name: "OnTrack", Type: "string", JSONPath: `.status.conditions[?(@.type=="OnTrack")].status`},
		{Name: "Ready", Type: "string", JSONPath: readyColumn},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	}},
	{"supportteams", []printerColumn{
		{Name: "Settings", Type: "integer", JSONPath: ".status.allocation.settings"},
		{Name: "Pupils", Type: "integer", JSONPath: ".status.allocation.pupils"},
		{Name: "Capacity", Type: "string", JSONPath: ".status.allocation.capacityUsedPercent"},
		{Name: "Operational", Type: "string", JSONPath: `.status.conditions[?(@.type=="Operational")].status`},
		{Name: "Ready", Type: "string", JSONPath: readyColumn},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	}},
	{"schoolcoverages", []printerColumn{
		{Name: "Team", Type: "string", JSONPath: ".spec.teamRef.name"},
		{Name: "Settings", Type: "integer", JSONPath: ".status.settings"},
		{Name: "Pupils", Type: "integer", JSONPath: ".status.pupils"},
		{Name: "Agreed", Type: "string", JSONPath: `.status.conditions[?(@.type=="Agreed")].status`},
		{Name: "Ready", Type: "string", JSONPath: readyColumn},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	}},
	{"coveragesnapshots", []printerColumn{
		{Name: "Scope", Type: "string", JSONPath: ".spec.scope"},
		{Name: "Area", Type: "string", JSONPath: ".spec.area"},
		{Name: "Taken", Type: "string", JSONPath: ".status.takenAt"},
		{Name: "Pupils Covered %", Type: "string", JSONPath: ".status.coverage.pupilsCoveredPercent"},
		{Name: "Ready", Type: "string", JSONPath: readyColumn},
		{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
	}},
}

func TestPrinterColumns(t *testing.T) {
	for _, tc := range defaultColumns {
		t.Run(tc.plural, func(t *testing.T) {
			var got []printerColumn
			for _, c := range readCRD(t, tc.plural).Spec.Versions[0].AdditionalPrinterColumns {
				if c.Priority == 0 {
					got = append(got, printerColumn{Name: c.Name, Type: c.Type, JSONPath: c.JSONPath})
				}
			}
			if !reflect.DeepEqual(got, tc.columns) {
				t.Errorf("default printer columns:\n got %+v\nwant %+v", got, tc.columns)
			}
		})
	}
}

// TestServerPrintsColumns asks the API server for the table `kubectl get`
// prints, to see that it serves the CRDs' columns in order.
func TestServerPrintsColumns(t *testing.T) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	for _, tc := range defaultColumns {
		t.Run(tc.plural, func(t *testing.T) {
			path := "/apis/mhst.io/v1alpha1/" + tc.plural
			data, err := dc.RESTClient().Get().AbsPath(path).
				SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
				DoRaw(context.Background())
			if err != nil {
				t.Fatalf("get table of %s: %v", tc.plural, err)
			}
			var table metav1.Table
			if err := json.Unmarshal(data, &table); err != nil {
				t.Fatalf("decode table: %v", err)
			}
			got := []string{}
			for _, c := range table.ColumnDefinitions {
				if c.Priority == 0 {
					got = append(got, c.Name)
				}
			}
			want := []string{"Name"}
			for _, c := range tc.columns {
				want = append(want, c.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("columns = %v; want %v", got, want)
			}
		})
	}
}

// TestDiscovery reads the API's resources as kubectl does: short names
// (kubectl get area), the category mhst (kubectl get mhst -A), scope and
// the status subresource.
func TestDiscovery(t *testing.T) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	list, err := dc.ServerResourcesForGroupVersion("mhst.io/v1alpha1")
	if err != nil {
		t.Fatalf("discover mhst.io/v1alpha1: %v", err)
	}
	resources := map[string]metav1.APIResource{}
	for _, r := range list.APIResources {
		resources[r.Name] = r
	}
	cases := []struct {
		plural     string
		kind       string
		shortName  string
		namespaced bool
	}{
		{"localareas", "LocalArea", "area", false},
		{"supportteams", "SupportTeam", "team", true},
		{"schoolcoverages", "SchoolCoverage", "cov", true},
		{"coveragesnapshots", "CoverageSnapshot", "snap", false},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			r, ok := resources[tc.plural]
			if !ok {
				t.Fatalf("%s is not served", tc.plural)
			}
			if r.Kind != tc.kind {
				t.Errorf("kind = %s; want %s", r.Kind, tc.kind)
			}
			if !slices.Equal(r.ShortNames, []string{tc.shortName}) {
				t.Errorf("short names = %v; want [%s]", r.ShortNames, tc.shortName)
			}
			if !slices.Equal(r.Categories, []string{"mhst"}) {
				t.Errorf("categories = %v; want [mhst]", r.Categories)
			}
			if r.Namespaced != tc.namespaced {
				t.Errorf("namespaced = %v; want %v", r.Namespaced, tc.namespaced)
			}
			if _, ok := resources[tc.plural+"/status"]; !ok {
				t.Errorf("%s/status is not served", tc.plural)
			}
		})
	}
}

// TestSchemaExplainsItself reads the descriptions `kubectl explain` shows,
// which come from the Go types' godoc: the fields users have to get right
// must say what they mean in the programme's own words.
func TestSchemaExplainsItself(t *testing.T) {
	cases := []struct {
		plural string
		path   string
		want   []string
	}{
		{"localareas", "spec.governance", []string{"governance board", "leads"}},
		{"localareas", "spec.governance.board", []string{"governance board", "both health and education", "GovernanceReady"}},
		{"localareas", "spec.wave", []string{"trailblazer"}},
		{"localareas", "spec.namespace", []string{"mhst-<name>", "cannot change once set"}},
		{"localareas", "spec.coverageTarget", []string{"percent", "pupils"}},
		{"schoolcoverages", "spec.agreement", []string{"governance board", "Proposed"}},
		{"schoolcoverages", "spec.settings.sessionsPerWeek", []string{"half-day", "2 is one day a week"}},
		{"schoolcoverages", "spec.settings.disadvantagedPupils", []string{"free school meals"}},
		{"supportteams", "spec.staffing.educationMentalHealthPractitioners", []string{"practitioners", "guided self-help"}},
		{"supportteams", "spec.yearRound", []string{"outside term time"}},
		{"coveragesnapshots", "spec", []string{"cannot change"}},
		{"coveragesnapshots", "status", []string{"written once", "refuses any change"}},
		{"coveragesnapshots", "status.digest", []string{"SHA-256", "canonical JSON"}},
		{"coveragesnapshots", "status.settings.decisionRef", []string{"governance board"}},
	}
	for _, tc := range cases {
		t.Run(tc.plural+"/"+tc.path, func(t *testing.T) {
			s := readCRD(t, tc.plural).Spec.Versions[0].Schema.OpenAPIV3Schema
			for _, key := range strings.Split(tc.path, ".") {
				if s.Items != nil {
					s = *s.Items
				}
				next, ok := s.Properties[key]
				if !ok {
					t.Fatalf("schema has no %s", tc.path)
				}
				s = next
			}
			for _, w := range tc.want {
				if !strings.Contains(s.Description, w) {
					t.Errorf("description %q\ndoes not say %q", s.Description, w)
				}
			}
		})
	}
}

// TestEveryFieldIsDescribed walks each schema: a field without godoc is a
// field `kubectl explain` cannot explain.
func TestEveryFieldIsDescribed(t *testing.T) {
	for _, plural := range []string{"localareas", "supportteams", "schoolcoverages", "coveragesnapshots"} {
		t.Run(plural, func(t *testing.T) {
			root := readCRD(t, plural).Spec.Versions[0].Schema.OpenAPIV3Schema
			for _, path := range undescribed(root, "") {
				t.Errorf("%s has no description", path)
			}
		})
	}
}

// undescribed returns the paths of the properties under s without a
// description. metadata is left out: its schema is the API server's own.
func undescribed(s schema, path string) []string {
	var missing []string
	if s.Items != nil {
		missing = append(missing, undescribed(*s.Items, path+"[]")...)
	}
	for _, key := range slices.Sorted(maps.Keys(s.Properties)) {
		child := s.Properties[key]
		childPath := strings.TrimPrefix(path+"."+key, ".")
		if childPath == "metadata" {
			continue
		}
		if strings.TrimSpace(child.Description) == "" {
			missing = append(missing, childPath)
		}
		missing = append(missing, undescribed(child, childPath)...)
	}
	return missing
}
