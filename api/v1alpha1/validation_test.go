package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// goodArea is a LocalArea the API server accepts; every validation case
// changes one thing in it.
const goodArea = `
apiVersion: mhst.io/v1alpha1
kind: LocalArea
metadata:
  name: leeds
spec:
  displayName: Leeds
  localAuthorityCode: E08000035
  region: Yorkshire and The Humber
  integratedCareBoard: NHS West Yorkshire Integrated Care Board
  wave: 3
  governance:
    board:
      - kind: Group
        name: leeds-icb
        sector: Health
        role: Chair
      - kind: Group
        name: leeds-schools
        sector: Education
    leads:
      - kind: User
        name: mhst.manager@leeds.example
  coverageTarget: 100
  deletionPolicy: Retain
`

// goodTeam is a SupportTeam the API server accepts.
const goodTeam = `
apiVersion: mhst.io/v1alpha1
kind: SupportTeam
metadata:
  namespace: validation
  name: leeds-east
spec:
  displayName: Leeds East MHST
  staffing:
    educationMentalHealthPractitioners: 6
    seniorClinicians: 2
    higherLevelTherapists: 1
    vacancies: 1
  capacity:
    maxSettings: 20
    maxPupils: 8500
  interventions:
    - GuidedSelfHelp
    - GroupWork
  service:
    image: nginxinc/nginx-unprivileged:1.27
    replicas: 2
    port: 8080
`

// goodCoverage is a SchoolCoverage the API server accepts.
const goodCoverage = `
apiVersion: mhst.io/v1alpha1
kind: SchoolCoverage
metadata:
  namespace: validation
  name: leeds-east-2024
spec:
  teamRef:
    name: leeds-east
  agreement:
    decisionRef: Leeds MHST governance board, 14 March 2024, item 3
    agreedAt: "2024-03-14"
    agreedBy: Leeds MHST governance board
  settings:
    - urn: "107950"
      name: Primrose Lane Primary School
      phase: Primary
      pupils: 420
      disadvantagedPupils: 61
      sessionsPerWeek: 2
    - urn: "1000001"
      name: Leeds East Academy
      phase: Secondary
      pupils: 1150
      disadvantagedPupils: 390
      sessionsPerWeek: 4
      seniorMentalHealthLead: true
`

// TestValidationAcceptsGoodObjects makes sure that every refusal below is
// caused by its mutation, not by the object it starts from, and that the
// limits of each rule are themselves allowed.
func TestValidationAcceptsGoodObjects(t *testing.T) {
	cases := []struct {
		name   string
		good   string
		mutate []mutation
	}{
		{"good area", goodArea, nil},
		{"good team", goodTeam, nil},
		{"good coverage", goodCoverage, nil},
		{"trailblazer wave", goodArea, []mutation{set("spec.wave", 0)}},
		{"coverage target 0", goodArea, []mutation{set("spec.coverageTarget", 0)}},
		{"name of 59 characters with a namespace", goodArea, []mutation{
			set("metadata.name", strings.Repeat("a", 59)), set("spec.namespace", "mhst-long-name")}},
		{"namespace of the area's choosing", goodArea, []mutation{set("spec.namespace", "leeds-mhst")}},
		{"board of one member", goodArea, []mutation{set("spec.governance.board", []any{
			map[string]any{"kind": "User", "name": "chair@leeds.example", "sector": "Health"}})}},
		{"dated targets in date order, 0 and 100", goodArea, []mutation{set("spec.targets", []any{
			target("2025-03-31", 0), target("2026-03-31", 50), target("2028-02-29", 100)})}},
		{"20 targets", goodArea, []mutation{set("spec.targets", targets(20))}},
		{"team in training", goodTeam, []mutation{set("spec.operationalFrom", "2025-09-01")}},
		{"no replicas", goodTeam, []mutation{set("spec.service.replicas", 0)}},
		{"team name with mhst- inside", goodTeam, []mutation{set("metadata.name", "leeds-mhst-1")}},
		{"port 65535", goodTeam, []mutation{set("spec.service.port", 65535)}},
		{"list of settings no team covers yet", goodCoverage, []mutation{remove("spec.teamRef"), remove("spec.agreement")}},
		{"agreement with only a decisionRef", goodCoverage, []mutation{
			remove("spec.agreement.agreedAt"), remove("spec.agreement.agreedBy")}},
		{"urn of 7 digits", goodCoverage, []mutation{set("spec.settings.0.urn", "1234567")}},
		{"disadvantaged pupils unknown", goodCoverage, []mutation{remove("spec.settings.0.disadvantagedPupils")}},
		{"every pupil disadvantaged", goodCoverage, []mutation{set("spec.settings.0.disadvantagedPupils", 420)}},
		{"empty setting", goodCoverage, []mutation{set("spec.settings.0.pupils", 0), set("spec.settings.0.disadvantagedPupils", 0)}},
		{"1 session a week", goodCoverage, []mutation{set("spec.settings.0.sessionsPerWeek", 1)}},
		{"10 sessions a week", goodCoverage, []mutation{set("spec.settings.0.sessionsPerWeek", 10)}},
		{"500 settings", goodCoverage, []mutation{set("spec.settings", settings(500))}},
		{"egress to a trust's range and a namespace", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			ipBlock("192.0.2.0/24", "192.0.2.128/25", "192.0.2.64/26"),
			map[string]any{
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "nhs-gateway"}},
				"ports":             []any{port(443, "TCP"), port(443, "UDP"), port(65535, "SCTP"), map[string]any{"port": 1}},
			},
		})}},
		{"egress to one address", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("192.0.2.10/32")})}},
		{"egress to an IPv6 range", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("2001:db8:10::/48", "2001:db8:10:ff::/64")})}},
		{"egress to every namespace", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{map[string]any{"namespaceSelector": map[string]any{}}})}},
		{"20 egress destinations", goodArea, []mutation{set("spec.tenancy.allowEgressTo", destinations(20))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(t, tc.good)
			for _, mutate := range tc.mutate {
				mutate(t, obj.Object)
			}
			if err := createDryRun(context.Background(), obj); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

func TestValidationRefusesBadObjects(t *testing.T) {
	cases := []struct {
		name   string
		good   string
		mutate []mutation
		// want are what the API server's error must say: first the path of
		// the field it is about, then substrings of its message.
		want []string
	}{
		// SchoolCoverage settings.
		{"urn of 5 digits", goodCoverage, []mutation{set("spec.settings.0.urn", "10795")},
			[]string{"spec.settings[0].urn", "should match '^[0-9]{6,7}$'"}},
		{"urn with letters", goodCoverage, []mutation{set("spec.settings.0.urn", "10795A")},
			[]string{"spec.settings[0].urn", "should match"}},
		{"urn of 8 digits", goodCoverage, []mutation{set("spec.settings.0.urn", "10795012")},
			[]string{"spec.settings[0].urn", "may not be more than 7 bytes"}},
		{"more disadvantaged pupils than pupils", goodCoverage, []mutation{set("spec.settings.1.disadvantagedPupils", 1151)},
			[]string{"spec.settings[1].disadvantagedPupils", "disadvantagedPupils cannot be more than pupils"}},
		{"negative disadvantaged pupils", goodCoverage, []mutation{set("spec.settings.0.disadvantagedPupils", -1)},
			[]string{"spec.settings[0].disadvantagedPupils", "greater than or equal to 0"}},
		{"no sessions a week", goodCoverage, []mutation{set("spec.settings.0.sessionsPerWeek", 0)},
			[]string{"spec.settings[0].sessionsPerWeek", "greater than or equal to 1"}},
		{"11 sessions a week", goodCoverage, []mutation{set("spec.settings.0.sessionsPerWeek", 11)},
			[]string{"spec.settings[0].sessionsPerWeek", "less than or equal to 10"}},
		{"negative pupils", goodCoverage, []mutation{set("spec.settings.0.pupils", -1)},
			[]string{"spec.settings[0].pupils", "greater than or equal to 0"}},
		{"unknown phase", goodCoverage, []mutation{set("spec.settings.0.phase", "University")},
			[]string{"spec.settings[0].phase", `Unsupported value: "University"`, `"Primary"`}},
		{"setting without name", goodCoverage, []mutation{remove("spec.settings.0.name")},
			[]string{"spec.settings[0].name", "Required value"}},
		{"setting without phase", goodCoverage, []mutation{remove("spec.settings.0.phase")},
			[]string{"spec.settings[0].phase", "Required value"}},
		{"setting without urn", goodCoverage, []mutation{remove("spec.settings.0.urn")},
			[]string{"spec.settings[0].urn", "Required value"}},
		{"setting without pupils", goodCoverage, []mutation{remove("spec.settings.0.pupils")},
			[]string{"spec.settings[0].pupils", "Required value"}},
		{"the same urn twice", goodCoverage, []mutation{set("spec.settings.1.urn", "107950")},
			[]string{"spec.settings[1]", "Duplicate value", `"urn":"107950"`}},
		{"no settings", goodCoverage, []mutation{set("spec.settings", []any{})},
			[]string{"spec.settings", "at least 1 items"}},
		{"settings missing", goodCoverage, []mutation{remove("spec.settings")},
			[]string{"spec.settings", "Required value"}},
		{"501 settings", goodCoverage, []mutation{set("spec.settings", settings(501))},
			[]string{"spec.settings", "must have at most 500 items"}},
		// SchoolCoverage agreement and team.
		{"agreement without decisionRef", goodCoverage, []mutation{remove("spec.agreement.decisionRef")},
			[]string{"spec.agreement.decisionRef", "Required value"}},
		{"agreement with an empty decisionRef", goodCoverage, []mutation{set("spec.agreement.decisionRef", "")},
			[]string{"spec.agreement.decisionRef", "at least 1 chars long"}},
		{"agreedAt not a date", goodCoverage, []mutation{set("spec.agreement.agreedAt", "14 March 2024")},
			[]string{"spec.agreement.agreedAt", "must be of type date"}},
		{"agreedAt a time, not a date", goodCoverage, []mutation{set("spec.agreement.agreedAt", "2024-03-14T10:00:00Z")},
			[]string{"spec.agreement.agreedAt", "must be of type date"}},
		{"teamRef without name", goodCoverage, []mutation{set("spec.teamRef", map[string]any{})},
			[]string{"spec.teamRef.name", "Required value"}},
		// SupportTeam names: mhst- is the area's children's.
		{"team named like an area child", goodTeam, []mutation{set("metadata.name", "mhst-area")},
			[]string{"cannot begin with mhst-"}},
		// Board and lead names are one line each: the admission policy's
		// parameter lists them one a line.
		{"board member name of two lines", goodArea, []mutation{set("spec.governance.board.0.name", "leeds-icb\nmallory")},
			[]string{"spec.governance.board[0].name", "should match"}},
		{"lead name of two lines", goodArea, []mutation{set("spec.governance.leads.0.name", "lead\rmallory")},
			[]string{"spec.governance.leads[0].name", "should match"}},

		// LocalArea.
		{"Welsh ONS code", goodArea, []mutation{set("spec.localAuthorityCode", "W06000001")},
			[]string{"spec.localAuthorityCode", "should match '^E(06|07|08|09|10)[0-9]{6}$'"}},
		{"Scottish ONS code", goodArea, []mutation{set("spec.localAuthorityCode", "S12000033")},
			[]string{"spec.localAuthorityCode", "should match"}},
		{"ONS code of an English ward", goodArea, []mutation{set("spec.localAuthorityCode", "E05000001")},
			[]string{"spec.localAuthorityCode", "should match"}},
		{"name too long for the default namespace", goodArea, []mutation{set("metadata.name", strings.Repeat("a", 59))},
			[]string{"spec.namespace", "Required value", "longer than 58 characters must set spec.namespace"}},
		{"namespace not a DNS label", goodArea, []mutation{set("spec.namespace", "Leeds_MHST")},
			[]string{"spec.namespace", "should match"}},
		{"unknown sector", goodArea, []mutation{set("spec.governance.board.1.sector", "Police")},
			[]string{"spec.governance.board[1].sector", `Unsupported value: "Police"`, `"Education"`}},
		{"unknown board member kind", goodArea, []mutation{set("spec.governance.board.0.kind", "ServiceAccount")},
			[]string{"spec.governance.board[0].kind", `Unsupported value: "ServiceAccount"`, `"User", "Group"`}},
		{"role neither Chair nor Member", goodArea, []mutation{set("spec.governance.board.0.role", "ViceChair")},
			[]string{"spec.governance.board[0].role", `Unsupported value: "ViceChair"`, `"Chair", "Member"`}},
		{"the same member twice", goodArea, []mutation{set("spec.governance.board.1.name", "leeds-icb"), set("spec.governance.board.1.kind", "Group")},
			[]string{"spec.governance.board[1]", "Duplicate value"}},
		{"empty board", goodArea, []mutation{set("spec.governance.board", []any{})},
			[]string{"spec.governance.board", "at least 1 items"}},
		{"board missing", goodArea, []mutation{remove("spec.governance.board")},
			[]string{"spec.governance.board", "Required value"}},
		{"lead of unknown kind", goodArea, []mutation{set("spec.governance.leads.0.kind", "Team")},
			[]string{"spec.governance.leads[0].kind", `Unsupported value: "Team"`}},
		{"negative wave", goodArea, []mutation{set("spec.wave", -1)},
			[]string{"spec.wave", "greater than or equal to 0"}},
		{"coverage target above 100", goodArea, []mutation{set("spec.coverageTarget", 101)},
			[]string{"spec.coverageTarget", "less than or equal to 100"}},
		{"negative coverage target", goodArea, []mutation{set("spec.coverageTarget", -1)},
			[]string{"spec.coverageTarget", "greater than or equal to 0"}},
		{"deletion policy Purge", goodArea, []mutation{set("spec.deletionPolicy", "Purge")},
			[]string{"spec.deletionPolicy", `Unsupported value: "Purge"`, `"Retain", "Delete"`}},
		{"targets out of date order", goodArea, []mutation{set("spec.targets", []any{target("2026-03-31", 100), target("2025-03-31", 50)})},
			[]string{"spec.targets", "spec.targets must be in date order, earliest first"}},
		{"two targets for one date", goodArea, []mutation{set("spec.targets", []any{target("2025-03-31", 50), target("2025-03-31", 60)})},
			[]string{"spec.targets[1]", "Duplicate value"}},
		{"target date not a date", goodArea, []mutation{set("spec.targets", []any{target("31/03/2025", 50)})},
			[]string{"spec.targets[0].by", "must be of type date"}},
		{"target on 30 February", goodArea, []mutation{set("spec.targets", []any{target("2025-02-30", 50)})},
			[]string{"spec.targets[0].by", "must be of type date"}},
		{"target date with a time", goodArea, []mutation{set("spec.targets", []any{target("2025-03-31T00:00:00Z", 50)})},
			[]string{"spec.targets[0].by"}},
		{"target above 100", goodArea, []mutation{set("spec.targets", []any{target("2025-03-31", 101)})},
			[]string{"spec.targets[0].percent", "less than or equal to 100"}},
		{"negative target", goodArea, []mutation{set("spec.targets", []any{target("2025-03-31", -1)})},
			[]string{"spec.targets[0].percent", "greater than or equal to 0"}},
		{"target without percent", goodArea, []mutation{set("spec.targets", []any{map[string]any{"by": "2025-03-31"}})},
			[]string{"spec.targets[0].percent", "Required value"}},
		{"21 targets", goodArea, []mutation{set("spec.targets", targets(21))},
			[]string{"spec.targets", "must have at most 20 items"}},
		{"without displayName", goodArea, []mutation{remove("spec.displayName")},
			[]string{"spec.displayName", "Required value"}},
		{"without localAuthorityCode", goodArea, []mutation{remove("spec.localAuthorityCode")},
			[]string{"spec.localAuthorityCode", "Required value"}},
		{"without region", goodArea, []mutation{remove("spec.region")},
			[]string{"spec.region", "Required value"}},
		{"without wave", goodArea, []mutation{remove("spec.wave")},
			[]string{"spec.wave", "Required value"}},
		{"without governance", goodArea, []mutation{remove("spec.governance")},
			[]string{"spec.governance", "Required value"}},
		{"without spec", goodArea, []mutation{remove("spec")},
			[]string{"spec", "Required value"}},

		// LocalArea egress.
		{"egress destination with a namespace and a range", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			map[string]any{"namespaceSelector": map[string]any{}, "ipBlock": map[string]any{"cidr": "192.0.2.0/24"}}})},
			[]string{"spec.tenancy.allowEgressTo[0]", "set exactly one of namespaceSelector (namespaces of the cluster) and ipBlock (addresses outside it)"}},
		{"egress destination with only ports", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			map[string]any{"ports": []any{port(443, "TCP")}}})},
			[]string{"spec.tenancy.allowEgressTo[0]", "set exactly one of namespaceSelector"}},
		{"egress range that is an address", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("192.0.2.10")})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.cidr", "cidr must be an IPv4 or IPv6 range in CIDR notation"}},
		{"egress range that is a name", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("epr.trust.nhs.uk/32")})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.cidr", "cidr must be an IPv4 or IPv6 range"}},
		{"egress range with a prefix too long", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("192.0.2.0/33")})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.cidr", "cidr must be an IPv4 or IPv6 range"}},
		{"egress range with host bits", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("192.0.2.10/24")})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.cidr", "cidr 192.0.2.10/24 has bits set after its prefix length: set them to zero"}},
		{"egress range without cidr", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{map[string]any{"ipBlock": map[string]any{}}})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.cidr", "Required value"}},
		{"egress exception outside the range", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("192.0.2.0/24", "198.51.100.0/25")})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.except", "every range in except must lie inside cidr and be smaller than it"}},
		{"egress exception as large as the range", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("192.0.2.0/24", "192.0.2.0/24")})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.except", "must lie inside cidr and be smaller than it"}},
		{"egress exception of the other IP family", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("192.0.2.0/24", "2001:db8::/64")})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.except", "must lie inside cidr"}},
		{"egress exception that is not a range", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{ipBlock("192.0.2.0/24", "192.0.2.300/25")})},
			[]string{"spec.tenancy.allowEgressTo[0].ipBlock.except[0]", "every range in except must be an IPv4 or IPv6 range in CIDR notation"}},
		{"egress port 0", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			map[string]any{"ipBlock": map[string]any{"cidr": "192.0.2.0/24"}, "ports": []any{port(0, "TCP")}}})},
			[]string{"spec.tenancy.allowEgressTo[0].ports[0].port", "greater than or equal to 1"}},
		{"egress port 65536", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			map[string]any{"ipBlock": map[string]any{"cidr": "192.0.2.0/24"}, "ports": []any{port(65536, "TCP")}}})},
			[]string{"spec.tenancy.allowEgressTo[0].ports[0].port", "less than or equal to 65535"}},
		{"egress protocol ICMP", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			map[string]any{"ipBlock": map[string]any{"cidr": "192.0.2.0/24"}, "ports": []any{port(443, "ICMP")}}})},
			[]string{"spec.tenancy.allowEgressTo[0].ports[0].protocol", `Unsupported value: "ICMP"`, `"TCP", "UDP", "SCTP"`}},
		{"egress port listed twice", goodArea, []mutation{set("spec.tenancy.allowEgressTo", []any{
			map[string]any{"ipBlock": map[string]any{"cidr": "192.0.2.0/24"}, "ports": []any{port(443, "TCP"), map[string]any{"port": 443}}}})},
			[]string{"spec.tenancy.allowEgressTo[0].ports[1]", "Duplicate value"}},
		{"21 egress destinations", goodArea, []mutation{set("spec.tenancy.allowEgressTo", destinations(21))},
			[]string{"spec.tenancy.allowEgressTo", "must have at most 20 items"}},

		// SupportTeam.
		{"operationalFrom not a date", goodTeam, []mutation{set("spec.operationalFrom", "September 2025")},
			[]string{"spec.operationalFrom", "must be of type date"}},
		{"negative replicas", goodTeam, []mutation{set("spec.service.replicas", -1)},
			[]string{"spec.service.replicas", "greater than or equal to 0"}},
		{"port 0", goodTeam, []mutation{set("spec.service.port", 0)},
			[]string{"spec.service.port", "greater than or equal to 1"}},
		{"port 70000", goodTeam, []mutation{set("spec.service.port", 70000)},
			[]string{"spec.service.port", "less than or equal to 65535"}},
		{"maxSettings 0", goodTeam, []mutation{set("spec.capacity.maxSettings", 0)},
			[]string{"spec.capacity.maxSettings", "greater than or equal to 1"}},
		{"maxPupils 0", goodTeam, []mutation{set("spec.capacity.maxPupils", 0)},
			[]string{"spec.capacity.maxPupils", "greater than or equal to 1"}},
		{"negative practitioners", goodTeam, []mutation{set("spec.staffing.educationMentalHealthPractitioners", -1)},
			[]string{"spec.staffing.educationMentalHealthPractitioners", "greater than or equal to 0"}},
		{"negative vacancies", goodTeam, []mutation{set("spec.staffing.vacancies", -2)},
			[]string{"spec.staffing.vacancies", "greater than or equal to 0"}},
		{"unknown intervention", goodTeam, []mutation{set("spec.interventions.1", "Hypnosis")},
			[]string{"spec.interventions[1]", `Unsupported value: "Hypnosis"`, `"GuidedSelfHelp"`}},
		{"the same intervention twice", goodTeam, []mutation{set("spec.interventions.1", "GuidedSelfHelp")},
			[]string{"spec.interventions[1]", `Duplicate value: "GuidedSelfHelp"`}},
		{"without service", goodTeam, []mutation{remove("spec.service")},
			[]string{"spec.service", "Required value"}},
		{"service without image", goodTeam, []mutation{remove("spec.service.image")},
			[]string{"spec.service.image", "Required value"}},
		{"service with an empty image", goodTeam, []mutation{set("spec.service.image", "")},
			[]string{"spec.service.image", "at least 1 chars long"}},
		{"blueprint without configMapRef", goodTeam, []mutation{set("spec.blueprint", map[string]any{})},
			[]string{"spec.blueprint.configMapRef", "Required value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(t, tc.good)
			for _, mutate := range tc.mutate {
				mutate(t, obj.Object)
			}
			err := createDryRun(context.Background(), obj)
			assertRefused(t, err, tc.want)
		})
	}
}

// assertRefused checks that err is the API server's refusal of an invalid
// object, reported against the field path want[0] (so that a client, or
// kubectl, can point at the field), and that its message says the rest of
// want.
func assertRefused(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want a refusal saying %q", want)
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("refused with %v (reason %s); want Invalid", err, apierrors.ReasonForError(err))
	}
	if field := want[0] + ": "; !strings.Contains(err.Error(), field) {
		t.Errorf("error %q\nis not about field %s", err.Error(), want[0])
	}
	for _, w := range want[1:] {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not say %q", err.Error(), w)
		}
	}
	t.Logf("refused: %v", err)
}

// ipBlock is an egress destination of the range cidr, less except.
func ipBlock(cidr string, except ...string) map[string]any {
	block := map[string]any{"cidr": cidr}
	if len(except) > 0 {
		list := make([]any, len(except))
		for i, e := range except {
			list[i] = e
		}
		block["except"] = list
	}
	return map[string]any{"ipBlock": block}
}

func target(by string, percent int) map[string]any {
	return map[string]any{"by": by, "percent": percent}
}

// targets are n targets on the 31 March of successive years.
func targets(n int) []any {
	out := make([]any, 0, n)
	for i := range n {
		out = append(out, target(fmt.Sprintf("%d-03-31", 2025+i), min(100, 10*(i+1))))
	}
	return out
}

func port(number int, protocol string) map[string]any {
	return map[string]any{"port": number, "protocol": protocol}
}

// destinations returns n distinct, valid egress destinations.
func destinations(n int) []any {
	list := make([]any, n)
	for i := range list {
		list[i] = ipBlock(fmt.Sprintf("10.%d.0.0/16", i))
	}
	return list
}

// settings returns n distinct, valid settings.
func settings(n int) []any {
	list := make([]any, n)
	for i := range list {
		list[i] = map[string]any{
			"urn":    fmt.Sprintf("%06d", 100000+i),
			"name":   fmt.Sprintf("School %d", i),
			"phase":  "Primary",
			"pupils": 200,
		}
	}
	return list
}

// TestNamespaceIsImmutable creates areas for real and updates their
// spec.namespace: an area's namespace cannot change once set, and the
// default, mhst-<name>, may only be written down as it is.
func TestNamespaceIsImmutable(t *testing.T) {
	const refusal = "spec.namespace is immutable"
	cases := []struct {
		name   string
		area   string
		before string // "" leaves spec.namespace unset
		after  string
		want   []string // nil: the update is allowed
	}{
		{"set, then changed", "ns-set-changed", "leeds-mhst", "leeds-mhst-2", []string{"spec.namespace", refusal}},
		{"set, then unset", "ns-set-unset", "leeds-mhst", "", []string{"spec.namespace", refusal}},
		{"set, then kept", "ns-set-kept", "leeds-mhst", "leeds-mhst", nil},
		{"unset, then set to another", "ns-unset-other", "", "leeds-mhst", []string{"spec.namespace", refusal}},
		{"unset, then set to the default", "ns-unset-default", "", "mhst-ns-unset-default", nil},
		{"unset, then kept unset", "ns-unset-kept", "", "", nil},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			area := object(t, goodArea)
			area.SetName(tc.area)
			setNamespace(area, tc.before)
			if err := k8sClient.Create(ctx, area); err != nil {
				t.Fatalf("create area: %v", err)
			}
			t.Cleanup(func() { deleteObject(t, area) })

			setNamespace(area, tc.after)
			err := k8sClient.Update(ctx, area)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("update refused: %v", err)
				}
				return
			}
			assertRefused(t, err, tc.want)
		})
	}
}

func setNamespace(area *unstructured.Unstructured, namespace string) {
	if namespace == "" {
		unstructured.RemoveNestedField(area.Object, "spec", "namespace")
		return
	}
	area.Object["spec"].(map[string]any)["namespace"] = namespace
}

// deleteObject deletes what a test created, so that names can be reused.
func deleteObject(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8sClient.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete %s: %v", obj.GetName(), err)
	}
}
