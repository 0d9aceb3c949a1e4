package register

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// MaxSettingsPerList is the most settings one SchoolCoverage may list.
const MaxSettingsPerList = 500

// maxAreaNameLength keeps the default namespace, mhst-<name>, within the 63
// characters of a DNS label.
const maxAreaNameLength = 58

// AreaOptions are the parts of a LocalArea the register cannot know.
type AreaOptions struct {
	// Wave is the rollout wave the area joins in (0 is the 2019
	// trailblazer wave).
	Wave int32
	// Board is the governance board; at least one member is required.
	Board []mhstv1alpha1.BoardMember
	// Leads manage the area's teams and allocations.
	Leads []mhstv1alpha1.Subject
	// Targets are the area's dated coverage targets, in any order; the
	// LocalArea lists them in date order, as the API requires.
	Targets []mhstv1alpha1.DatedTarget
}

// Manifests are the objects that onboard one area.
type Manifests struct {
	// LocalArea is the area itself.
	LocalArea mhstv1alpha1.LocalArea
	// Coverages list every setting of the area, without a team, in URN
	// order, MaxSettingsPerList at most each.
	Coverages []mhstv1alpha1.SchoolCoverage
	// From is what the manifests were built from.
	From Area
}

// BuildManifests builds the LocalArea of an area and the SchoolCoverages,
// without teamRef, that list its settings, so that the area's coverage counts
// every pupil from the start. The output depends only on its input.
func BuildManifests(area Area, opts AreaOptions) (Manifests, error) {
	if err := validateGovernance(opts); err != nil {
		return Manifests{}, fmt.Errorf("area %s: %w", area.Authority.Name, err)
	}
	targets, err := orderedTargets(opts.Targets)
	if err != nil {
		return Manifests{}, fmt.Errorf("area %s: %w", area.Authority.Name, err)
	}
	if opts.Wave < 0 {
		return Manifests{}, fmt.Errorf("area %s: wave %d is negative", area.Authority.Name, opts.Wave)
	}
	if len(area.Schools) == 0 {
		return Manifests{}, fmt.Errorf("area %s has no settings to list", area.Authority.Name)
	}
	name, err := AreaName(area.Authority.Name)
	if err != nil {
		return Manifests{}, err
	}
	localArea := mhstv1alpha1.LocalArea{
		TypeMeta:   metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "LocalArea"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: mhstv1alpha1.LocalAreaSpec{
			DisplayName:        area.Authority.Name,
			LocalAuthorityCode: area.Authority.Code,
			Region:             area.Authority.RegionName,
			Wave:               opts.Wave,
			Governance: mhstv1alpha1.Governance{
				// Cloned so that areas built with the same options share nothing.
				Board: slices.Clone(opts.Board),
				Leads: slices.Clone(opts.Leads),
			},
			Targets: targets,
		},
	}
	return Manifests{
		LocalArea: localArea,
		Coverages: unallocatedLists(name, localArea.EffectiveNamespace(), area.Schools),
		From:      area,
	}, nil
}

// validateGovernance refuses what the API server would refuse, with a message
// about the board rather than a list index.
func validateGovernance(opts AreaOptions) error {
	if len(opts.Board) == 0 {
		return errors.New("the governance board has no members: a LocalArea needs at least one, and local governance must involve both health and education")
	}
	seen := map[string]bool{}
	for _, m := range opts.Board {
		key := string(m.Kind) + ":" + m.Name
		if seen[key] {
			return fmt.Errorf("board member %s is listed twice", key)
		}
		seen[key] = true
	}
	seen = map[string]bool{}
	for _, l := range opts.Leads {
		key := string(l.Kind) + ":" + l.Name
		if seen[key] {
			return fmt.Errorf("lead %s is listed twice", key)
		}
		seen[key] = true
	}
	return nil
}

// MaxTargets is the most dated targets a LocalArea may have.
const MaxTargets = 20

// orderedTargets checks the targets as the API server would, with messages
// about the targets rather than list indexes, and sorts them by date. It
// returns nil for none, so the manifest has no empty list.
func orderedTargets(targets []mhstv1alpha1.DatedTarget) ([]mhstv1alpha1.DatedTarget, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	if len(targets) > MaxTargets {
		return nil, fmt.Errorf("%d targets: a LocalArea has at most %d", len(targets), MaxTargets)
	}
	seen := map[string]bool{}
	for _, t := range targets {
		if _, err := time.Parse(time.DateOnly, t.By); err != nil {
			return nil, fmt.Errorf("target date %q is not a date written YYYY-MM-DD, such as 2026-03-31", t.By)
		}
		if t.Percent < 0 || t.Percent > 100 {
			return nil, fmt.Errorf("target %s: %d is not a percentage from 0 to 100", t.By, t.Percent)
		}
		if seen[t.By] {
			return nil, fmt.Errorf("two targets for %s: give each date one target", t.By)
		}
		seen[t.By] = true
	}
	sorted := slices.Clone(targets)
	slices.SortFunc(sorted, func(a, b mhstv1alpha1.DatedTarget) int { return strings.Compare(a.By, b.By) })
	return sorted, nil
}

// MissingSectors returns the sectors a governance board must involve (Health
// and Education) that it lacks. The API accepts such a board but reports the
// area's GovernanceReady condition False, so importers warn about it early.
func MissingSectors(board []mhstv1alpha1.BoardMember) []mhstv1alpha1.Sector {
	var missing []mhstv1alpha1.Sector
	for _, required := range []mhstv1alpha1.Sector{mhstv1alpha1.SectorHealth, mhstv1alpha1.SectorEducation} {
		found := false
		for _, m := range board {
			found = found || m.Sector == required
		}
		if !found {
			missing = append(missing, required)
		}
	}
	return missing
}

// AreaName derives a LocalArea name (a DNS-1123 label) from an authority's
// name: "Kingston upon Hull, City of" becomes "kingston-upon-hull-city-of".
func AreaName(displayName string) (string, error) {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(displayName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	name := b.String()
	if len(name) > maxAreaNameLength {
		name = strings.TrimRight(name[:maxAreaNameLength], "-")
	}
	if name == "" {
		return "", fmt.Errorf("cannot derive an area name from %q: it has no letters or digits", displayName)
	}
	return name, nil
}

// unallocatedLists splits the settings (already sorted by URN) into
// SchoolCoverages named <area>-unallocated-1, -2, ...
func unallocatedLists(area, namespace string, schools []School) []mhstv1alpha1.SchoolCoverage {
	var lists []mhstv1alpha1.SchoolCoverage
	for start := 0; start < len(schools); start += MaxSettingsPerList {
		end := min(start+MaxSettingsPerList, len(schools))
		lists = append(lists, mhstv1alpha1.SchoolCoverage{
			TypeMeta: metav1.TypeMeta{APIVersion: mhstv1alpha1.GroupVersion.String(), Kind: "SchoolCoverage"},
			ObjectMeta: metav1.ObjectMeta{
				Name:      fmt.Sprintf("%s-unallocated-%d", area, len(lists)+1),
				Namespace: namespace,
			},
			Spec: mhstv1alpha1.SchoolCoverageSpec{Settings: Settings(schools[start:end])},
		})
	}
	return lists
}

// Settings turns schools into the settings of a SchoolCoverage, leaving
// sessionsPerWeek to the API's default.
func Settings(schools []School) []mhstv1alpha1.Setting {
	settings := make([]mhstv1alpha1.Setting, 0, len(schools))
	for _, s := range schools {
		settings = append(settings, mhstv1alpha1.Setting{
			URN:                 s.URN,
			Name:                s.Name,
			Phase:               s.Phase,
			Pupils:              s.Pupils,
			DisadvantagedPupils: s.DisadvantagedPupils,
		})
	}
	return settings
}

// Totals sums the area's settings.
type Totals struct {
	Settings            int
	Pupils              int64
	DisadvantagedPupils int64
	// DisadvantagedUnknown is the number of settings whose free school meals
	// count the register suppresses.
	DisadvantagedUnknown int
}

// Totals sums the settings the area lists.
func (a Area) Totals() Totals {
	t := Totals{Settings: len(a.Schools)}
	for _, s := range a.Schools {
		t.Pupils += int64(s.Pupils)
		if s.DisadvantagedPupils == nil {
			t.DisadvantagedUnknown++
			continue
		}
		t.DisadvantagedPupils += int64(*s.DisadvantagedPupils)
	}
	return t
}

// WriteYAML writes the manifests as a YAML stream: a leading comment that
// says where they come from, with the Open Government Licence attribution,
// then the LocalArea and its SchoolCoverages. source names the schools file.
// Status and empty creation timestamps are left out: they are not the
// user's to write.
func (m Manifests) WriteYAML(w io.Writer, source string) error {
	if _, err := io.WriteString(w, m.comment(source)); err != nil {
		return fmt.Errorf("write manifests of %s: %w", m.LocalArea.Name, err)
	}
	objects := []any{&m.LocalArea}
	for i := range m.Coverages {
		objects = append(objects, &m.Coverages[i])
	}
	for i, obj := range objects {
		doc, err := ManifestYAML(obj)
		if err != nil {
			return fmt.Errorf("write manifests of %s: %w", m.LocalArea.Name, err)
		}
		if i > 0 {
			doc = append([]byte("---\n"), doc...)
		}
		if _, err := w.Write(doc); err != nil {
			return fmt.Errorf("write manifests of %s: %w", m.LocalArea.Name, err)
		}
	}
	return nil
}

// comment is the YAML comment that opens an area's manifests.
func (m Manifests) comment(source string) string {
	a := m.From.Authority
	t := m.From.Totals()
	lines := []string{
		fmt.Sprintf("LocalArea %s: %s (%s), %s.", m.LocalArea.Name, a.Name, a.Code, a.RegionName),
		fmt.Sprintf("Generated by kubectl mhst import from %s (DfE, Schools, pupils and their characteristics).", source),
		fmt.Sprintf("%s, %d pupils, %d eligible for free school meals (unknown for %s).",
			count(t.Settings, "setting"), t.Pupils, t.DisadvantagedPupils, count(t.DisadvantagedUnknown, "setting")),
		"Listed without a team in " + strings.Join(m.coverageNames(), ", ") + ".",
	}
	if m.From.SkippedIndependent > 0 {
		lines = append(lines, fmt.Sprintf("Skipped %s: the programme is for state-funded schools and colleges.",
			count(m.From.SkippedIndependent, "independent school")))
	}
	lines = append(lines, Attribution)
	return "# " + strings.Join(lines, "\n# ") + "\n"
}

// dropEmptyObjects deletes the fields holding an empty object, such as
// "tenancy: {}": Go structs cannot be omitted when empty, and an empty object
// in a manifest only makes the reader wonder what was meant to be in it.
func dropEmptyObjects(fields map[string]any) {
	for key, value := range fields {
		child, ok := value.(map[string]any)
		if !ok {
			continue
		}
		dropEmptyObjects(child)
		if len(child) == 0 {
			delete(fields, key)
		}
	}
}

// count writes "1 setting", "2 settings".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// coverageNames are the names of the SchoolCoverages.
func (m Manifests) coverageNames() []string {
	names := make([]string, 0, len(m.Coverages))
	for _, c := range m.Coverages {
		names = append(names, c.Name)
	}
	return names
}

// ManifestYAML renders a typed object as a manifest: without its status,
// empty objects and the "creationTimestamp: null" that typed objects always
// carry.
func ManifestYAML(obj any) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	delete(fields, "status")
	if metadata, ok := fields["metadata"].(map[string]any); ok {
		delete(metadata, "creationTimestamp")
	}
	dropEmptyObjects(fields)
	out, err := yaml.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return out, nil
}
