package snapshot

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/coverage"
	"github.com/mhst-io/mhst-operator/internal/plan"
	"github.com/mhst-io/mhst-operator/internal/register"
	"github.com/mhst-io/mhst-operator/internal/report"
)

// The size of snapshots, measured on the DfE register (Contains public
// sector information licensed under the Open Government Licence v3.0.).
// docs/coverage.md ("Retention and size") quotes what these tests log:
//
//	go test ./internal/snapshot -run TestSnapshotSize -v

const dataDir = "../../hack/data"

// lancashire is the largest local authority of the register.
const lancashire = "E10000017"

// sizeBound is what a test asserts an Area snapshot of the largest area
// stays under: a third of the 1.5 MiB the API server stores per object.
const sizeBound = 512 << 10

func readRegister(t *testing.T) ([]register.School, register.Directory) {
	t.Helper()
	schoolsFile, err := os.Open(filepath.Join(dataDir, "schools-england-2022-23.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = schoolsFile.Close() }()
	file, err := register.ReadSchools(schoolsFile, register.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	laFile, err := os.Open(filepath.Join(dataDir, "local-authorities-england.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = laFile.Close() }()
	authorities, err := register.ReadAuthorities(laFile)
	if err != nil {
		t.Fatal(err)
	}
	return file.Schools, register.NewDirectory(authorities)
}

// allocatedArea is an area whose every setting is allocated, 20 to a team,
// by an agreed allocation: the most a snapshot records per setting (a team,
// an allocation and a board decision each). The names are as long as the
// operator's own samples use.
func allocatedArea(area register.Area) ([]mhstv1alpha1.SchoolCoverage, []mhstv1alpha1.SupportTeam, string) {
	name, _ := register.AreaName(area.Authority.Name)
	settings := register.Settings(area.Schools)
	var covs []mhstv1alpha1.SchoolCoverage
	var teams []mhstv1alpha1.SupportTeam
	for i := 0; i*20 < len(settings); i++ {
		team := fmt.Sprintf("%s-mhst-%d", name, i+1)
		teams = append(teams, mhstv1alpha1.SupportTeam{ObjectMeta: metav1.ObjectMeta{Name: team}})
		covs = append(covs, mhstv1alpha1.SchoolCoverage{
			ObjectMeta: metav1.ObjectMeta{Name: team + "-2025", CreationTimestamp: metav1.NewTime(time.Date(2025, 3, 1, 0, i, 0, 0, time.UTC))},
			Spec: mhstv1alpha1.SchoolCoverageSpec{
				TeamRef: &mhstv1alpha1.TeamReference{Name: team},
				Agreement: &mhstv1alpha1.Agreement{
					DecisionRef: fmt.Sprintf("%s MHST governance board, minutes of 12 March 2025, item %d", area.Authority.Name, i+4),
				},
				Settings: settings[i*20 : min(len(settings), (i+1)*20)],
			},
		})
	}
	return covs, teams, name
}

// snapshotObject is the whole object as the API server stores it.
func snapshotObject(t *testing.T, name string, scope mhstv1alpha1.SnapshotScope, status mhstv1alpha1.CoverageSnapshotStatus) []byte {
	t.Helper()
	digest, err := Digest(scope, &status)
	if err != nil {
		t.Fatal(err)
	}
	status.Digest = digest
	taken := metav1.NewTime(time.Date(2026, 3, 31, 0, 0, 1, 0, time.UTC))
	status.TakenAt = &taken
	status.ObservedGeneration = 1
	status.Conditions = []metav1.Condition{{Type: mhstv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: mhstv1alpha1.ReasonTaken,
		Message: "Taken: the coverage of every setting at this moment.", LastTransitionTime: taken, ObservedGeneration: 1}}
	obj := mhstv1alpha1.CoverageSnapshot{
		TypeMeta: metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "CoverageSnapshot"},
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: "9d4c3a5e-2f7b-4b8e-9a61-0c2d7e5f8a13", ResourceVersion: "123456789", Generation: 1,
			CreationTimestamp: taken, Labels: map[string]string{mhstv1alpha1.LabelSnapshotDate: "2026-03-31"}},
		Spec:   mhstv1alpha1.CoverageSnapshotSpec{Scope: scope},
		Status: status,
	}
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSnapshotSize(t *testing.T) {
	schools, dir := readRegister(t)
	areas := map[string]register.Area{}
	for _, s := range schools {
		code := s.LACode
		if a, ok := dir.Resolve(s); ok {
			code = a.Code
		}
		if _, done := areas[code]; done {
			continue
		}
		area, err := register.SelectArea(schools, dir, code, register.SelectOptions{})
		if err != nil {
			continue // an authority with independent schools only
		}
		areas[code] = area
	}

	var total, largest int
	var largestName string
	var localAreas []mhstv1alpha1.LocalArea
	for _, area := range areas {
		covs, teams, name := allocatedArea(area)
		res := coverage.Compute(covs, teams, 100)
		c, settings := Area(res, plan.ForArea(&mhstv1alpha1.LocalArea{}, res, teams, time.Date(2026, 3, 31, 0, 0, 1, 0, time.UTC)))
		size := len(snapshotObject(t, name+"-2026-03-31", mhstv1alpha1.ScopeArea, mhstv1alpha1.CoverageSnapshotStatus{Coverage: &c, Settings: settings}))
		total += size
		if size > largest {
			largest, largestName = size, name
		}
		localAreas = append(localAreas, mhstv1alpha1.LocalArea{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: mhstv1alpha1.LocalAreaStatus{Coverage: &c}})
		if area.Authority.Code == lancashire {
			t.Logf("Lancashire (%s): %d settings, Area snapshot %d bytes (%.0f KiB)", lancashire, len(settings), size, float64(size)/1024)
			if len(settings) != 628 {
				t.Errorf("Lancashire lists %d settings; the register has 628", len(settings))
			}
			if size >= sizeBound {
				t.Errorf("Lancashire's snapshot takes %d bytes; it must stay under %d", size, sizeBound)
			}
		}
	}
	if largestName != "lancashire" {
		t.Errorf("the largest snapshot is %s's; Lancashire's was expected", largestName)
	}
	c, rows := National(report.National(localAreas, nil, 100))
	national := len(snapshotObject(t, "national-2026-03-31", mhstv1alpha1.ScopeNational, mhstv1alpha1.CoverageSnapshotStatus{Coverage: &c, Areas: rows}))
	t.Logf("%d areas: Area snapshots %d bytes in all (%.1f MiB), the National snapshot %d bytes (%.0f KiB)",
		len(areas), total, float64(total)/(1<<20), national, float64(national)/1024)
	t.Logf("one date (National + every area): %.1f MiB", float64(total+national)/(1<<20))
}
