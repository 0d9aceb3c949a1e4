package rollout

import (
	"os"
	"path/filepath"
	"testing"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/register"
)

// dataDir is the real register, kept in the repository.
const dataDir = "../../hack/data"

// readRegister reads the real DfE files.
func readRegister(t testing.TB) ([]register.School, register.Directory) {
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

// TestGenerateNational checks the national rollout on the real register:
// every state-funded setting listed exactly once, teams in the published
// proportion, about half of the pupils covered, and expected figures that
// add up to the register's.
func TestGenerateNational(t *testing.T) {
	schools, dir := readRegister(t)
	r, err := Generate(schools, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}

	stateFunded := map[string]register.School{}
	var registerPupils int64
	for _, s := range schools {
		if s.StateFunded() {
			stateFunded[s.URN] = s
			registerPupils += int64(s.Pupils)
		}
	}

	listed := map[string]int{}
	var teams, teamPupils int64
	var national mhstv1alpha1.AreaCoverage
	waves := map[int32]int{}
	for _, a := range r.Areas {
		waves[a.LocalArea.Spec.Wave]++
		for _, c := range a.Coverages {
			if len(c.Spec.Settings) > register.MaxSettingsPerList {
				t.Errorf("%s/%s lists %d settings", a.Namespace(), c.Name, len(c.Spec.Settings))
			}
			for _, s := range c.Spec.Settings {
				listed[s.URN]++
			}
			if c.Spec.TeamRef == nil {
				continue
			}
			teams++
			pupils := sumPupils(c.Spec.Settings)
			teamPupils += pupils
			if len(c.Spec.Settings) > 20 || pupils > 8500 && len(c.Spec.Settings) > 1 {
				t.Errorf("%s/%s: %d settings, %d pupils: above a team's capacity", a.Namespace(), c.Name, len(c.Spec.Settings), pupils)
			}
		}
		addCoverage(&national, a.Expected)
	}

	for urn := range stateFunded {
		if listed[urn] != 1 {
			t.Errorf("state-funded setting %s is listed %d times", urn, listed[urn])
		}
	}
	if len(listed) != len(stateFunded) {
		t.Errorf("listed %d settings, the register has %d state-funded ones", len(listed), len(stateFunded))
	}
	if national.Settings != int64(len(stateFunded)) || national.Pupils != registerPupils {
		t.Errorf("expected figures count %d settings and %d pupils, the register %d and %d",
			national.Settings, national.Pupils, len(stateFunded), registerPupils)
	}
	if len(r.Areas) < 150 {
		t.Errorf("%d areas, want every local authority (about 152)", len(r.Areas))
	}
	if waves[0] != 25 {
		t.Errorf("wave 0 has %d areas, want the 25 trailblazers", waves[0])
	}
	share := float64(national.PupilsCovered) / float64(national.Pupils)
	if share < 0.48 || share > 0.56 {
		t.Errorf("teams cover %.1f%% of pupils, want about 52%%", 100*share)
	}
	mean := teamPupils / teams
	if mean < 7500 || mean > 8500 {
		t.Errorf("a team serves %d pupils on average, want about 8,300", mean)
	}
	t.Logf("%d areas in waves %v, %d teams (%d pupils each on average), %d settings, %s%% of %d pupils covered",
		len(r.Areas), waves, teams, mean, national.Settings, Percent(national.PupilsCovered, national.Pupils), national.Pupils)
}

func sumPupils(settings []mhstv1alpha1.Setting) int64 {
	var n int64
	for _, s := range settings {
		n += int64(s.Pupils)
	}
	return n
}

func addCoverage(sum *mhstv1alpha1.AreaCoverage, c mhstv1alpha1.AreaCoverage) {
	sum.Settings += c.Settings
	sum.SettingsCovered += c.SettingsCovered
	sum.Pupils += c.Pupils
	sum.PupilsCovered += c.PupilsCovered
	sum.DisadvantagedPupils += c.DisadvantagedPupils
	sum.DisadvantagedPupilsCovered += c.DisadvantagedPupilsCovered
}
