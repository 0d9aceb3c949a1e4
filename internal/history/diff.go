package history

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Diff is what changed from one snapshot (Before) to another (After).
//
// For two Area snapshots each setting is in at most one list:
//   - BecameCovered: in both, not covered before, covered after;
//   - StoppedBeingCovered: in both, covered before, not after;
//   - Reallocated: covered in both, but by another team or on another
//     board decision;
//   - Added: only in After (covered or not, as Claim says);
//   - Removed: only in Before.
//
// For two National snapshots, Areas lists each area whose figures changed,
// that appeared or that went. Figures always lists every figure of
// status.coverage.
type Diff struct {
	Scope               mhstv1alpha1.SnapshotScope `json:"scope"`
	Area                string                     `json:"area,omitempty"`
	Before              Side                       `json:"before"`
	After               Side                       `json:"after"`
	Figures             []FigureChange             `json:"figures"`
	BecameCovered       []SettingChange            `json:"becameCovered,omitempty"`
	StoppedBeingCovered []SettingChange            `json:"stoppedBeingCovered,omitempty"`
	Reallocated         []SettingChange            `json:"reallocated,omitempty"`
	Added               []SettingChange            `json:"added,omitempty"`
	Removed             []SettingChange            `json:"removed,omitempty"`
	Areas               []AreaChange               `json:"areas,omitempty"`
}

// Side names one of the two snapshots.
type Side struct {
	Name    string    `json:"name"`
	TakenAt time.Time `json:"takenAt"`
}

// FigureChange is one figure of status.coverage in both snapshots. Change
// is After − Before for counts ("+171", "-3", "0") and for percentages, in
// percentage points ("+7.1", "0.0"); for other figures it is "" when they
// are equal and "changed" when not. A figure a snapshot does not have is
// "-".
type FigureChange struct {
	Figure string `json:"figure"`
	Before string `json:"before"`
	After  string `json:"after"`
	Change string `json:"change"`
}

// Changed reports whether the figure differs between the snapshots.
func (f FigureChange) Changed() bool { return f.Before != f.After }

// SettingChange is one setting that changed, with how it was counted in
// each snapshot (nil where it is not listed).
type SettingChange struct {
	URN                 string `json:"urn"`
	Name                string `json:"name"`
	Pupils              int64  `json:"pupils"`
	DisadvantagedPupils *int64 `json:"disadvantagedPupils,omitempty"`
	Before              *Claim `json:"before,omitempty"`
	After               *Claim `json:"after,omitempty"`
}

// Claim is how a snapshot counted a setting.
type Claim struct {
	Covered     bool   `json:"covered"`
	Team        string `json:"team,omitempty"`
	Allocation  string `json:"allocation"`
	DecisionRef string `json:"decisionRef,omitempty"`
}

// AreaChange is one area of two National snapshots: the figures that
// changed, or that it is only in one of them.
type AreaChange struct {
	Name    string         `json:"name"`
	Added   bool           `json:"added,omitempty"`
	Removed bool           `json:"removed,omitempty"`
	Figures []FigureChange `json:"figures"`
}

// Compare works out the changes from before to after. Both must be taken
// and Ready, of the same scope, and for Area snapshots of the same area;
// otherwise the error says which is not.
func Compare(before, after *mhstv1alpha1.CoverageSnapshot) (Diff, error) {
	if err := errors.Join(recorded(before), recorded(after)); err != nil {
		return Diff{}, err
	}
	if before.Spec.Scope != after.Spec.Scope {
		return Diff{}, fmt.Errorf("%s is a%s snapshot and %s a%s one: compare two of one scope",
			before.Name, article(before.Spec.Scope), after.Name, article(after.Spec.Scope))
	}
	if before.Spec.Area != after.Spec.Area {
		return Diff{}, fmt.Errorf("%s records area %s and %s area %s: compare two snapshots of one area",
			before.Name, before.Spec.Area, after.Name, after.Spec.Area)
	}
	d := Diff{
		Scope:   before.Spec.Scope,
		Area:    before.Spec.Area,
		Before:  Side{Name: before.Name, TakenAt: before.Status.TakenAt.UTC()},
		After:   Side{Name: after.Name, TakenAt: after.Status.TakenAt.UTC()},
		Figures: figureChanges(before.Status.Coverage, after.Status.Coverage),
	}
	if d.Scope == mhstv1alpha1.ScopeArea {
		d.compareSettings(before.Status.Settings, after.Status.Settings)
	} else {
		d.Areas = areaChanges(before.Status.Areas, after.Status.Areas)
	}
	return d, nil
}

func article(scope mhstv1alpha1.SnapshotScope) string {
	if scope == mhstv1alpha1.ScopeArea {
		return "n Area"
	}
	return " " + string(scope)
}

// recorded is nil when the snapshot holds a record to compare.
func recorded(snap *mhstv1alpha1.CoverageSnapshot) error {
	if snap.Status.TakenAt == nil {
		return fmt.Errorf("snapshot %s is not taken yet", snap.Name)
	}
	ready := meta.FindStatusCondition(snap.Status.Conditions, mhstv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || snap.Status.Coverage == nil {
		why := "no Ready condition"
		if ready != nil {
			why = ready.Reason + ": " + ready.Message
		}
		return fmt.Errorf("snapshot %s recorded nothing (%s)", snap.Name, why)
	}
	return nil
}

func (d *Diff) compareSettings(before, after []mhstv1alpha1.SnapshotSetting) {
	old := map[string]mhstv1alpha1.SnapshotSetting{}
	for _, s := range before {
		old[s.URN] = s
	}
	seen := map[string]bool{}
	for _, s := range after {
		seen[s.URN] = true
		was, listed := old[s.URN]
		change := SettingChange{URN: s.URN, Name: s.Name, Pupils: s.Pupils, DisadvantagedPupils: s.DisadvantagedPupils, After: claimOf(s)}
		if listed {
			change.Before = claimOf(was)
		}
		switch {
		case !listed:
			d.Added = append(d.Added, change)
		case !was.Covered && s.Covered:
			d.BecameCovered = append(d.BecameCovered, change)
		case was.Covered && !s.Covered:
			d.StoppedBeingCovered = append(d.StoppedBeingCovered, change)
		case was.Covered && s.Covered && (was.Team != s.Team || was.DecisionRef != s.DecisionRef):
			d.Reallocated = append(d.Reallocated, change)
		}
	}
	for _, s := range before {
		if !seen[s.URN] {
			d.Removed = append(d.Removed, SettingChange{URN: s.URN, Name: s.Name, Pupils: s.Pupils, DisadvantagedPupils: s.DisadvantagedPupils, Before: claimOf(s)})
		}
	}
	for _, list := range [][]SettingChange{d.Added, d.BecameCovered, d.StoppedBeingCovered, d.Reallocated, d.Removed} {
		slices.SortFunc(list, byName(func(c SettingChange) string { return c.URN }))
	}
}

func claimOf(s mhstv1alpha1.SnapshotSetting) *Claim {
	return &Claim{Covered: s.Covered, Team: s.Team, Allocation: s.Allocation, DecisionRef: s.DecisionRef}
}

func areaChanges(before, after []mhstv1alpha1.SnapshotArea) []AreaChange {
	old := map[string]*mhstv1alpha1.AreaCoverage{}
	for _, a := range before {
		old[a.Name] = a.Coverage
	}
	var changes []AreaChange
	seen := map[string]bool{}
	for _, a := range after {
		seen[a.Name] = true
		was, listed := old[a.Name]
		change := AreaChange{Name: a.Name, Added: !listed}
		for _, f := range figureChanges(was, a.Coverage) {
			if f.Changed() {
				change.Figures = append(change.Figures, f)
			}
		}
		if change.Added || len(change.Figures) > 0 {
			changes = append(changes, change)
		}
	}
	for _, a := range before {
		if !seen[a.Name] {
			changes = append(changes, AreaChange{Name: a.Name, Removed: true, Figures: figureChanges(a.Coverage, nil)})
		}
	}
	slices.SortFunc(changes, byName(func(c AreaChange) string { return c.Name }))
	return changes
}

// figureChanges compares every field of AreaCoverage, in the order the API
// declares them, so that a figure added to status.coverage is compared
// without a change here.
func figureChanges(before, after *mhstv1alpha1.AreaCoverage) []FigureChange {
	typ := reflect.TypeFor[mhstv1alpha1.AreaCoverage]()
	changes := make([]FigureChange, 0, typ.NumField())
	for i := range typ.NumField() {
		field := typ.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		b, a := figure(before, i), figure(after, i)
		changes = append(changes, FigureChange{Figure: name, Before: text(b), After: text(a), Change: change(b, a)})
	}
	return changes
}

// figure is field i of c, dereferenced; the zero Value when c is nil or the
// field is an absent pointer.
func figure(c *mhstv1alpha1.AreaCoverage, i int) reflect.Value {
	if c == nil {
		return reflect.Value{}
	}
	v := reflect.ValueOf(*c).Field(i)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

func text(v reflect.Value) string {
	if !v.IsValid() {
		return "-"
	}
	return fmt.Sprint(v.Interface())
}

func change(before, after reflect.Value) string {
	if !before.IsValid() || !after.IsValid() {
		if before.IsValid() != after.IsValid() {
			return "changed"
		}
		return ""
	}
	switch before.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return signed(after.Int()-before.Int(), 0)
	case reflect.String:
		b, okB := tenths(before.String())
		a, okA := tenths(after.String())
		if okB && okA {
			return signed(a-b, 1)
		}
	}
	if before.Interface() == after.Interface() {
		return ""
	}
	return "changed"
}

// tenths reads a percentage with one decimal ("52.3") as tenths (523).
func tenths(s string) (int64, bool) {
	units, tenth, ok := strings.Cut(s, ".")
	if !ok || len(tenth) != 1 {
		return 0, false
	}
	u, err := strconv.ParseInt(units, 10, 64)
	if err != nil || u < 0 {
		return 0, false
	}
	t, err := strconv.ParseInt(tenth, 10, 64)
	if err != nil || t < 0 {
		return 0, false
	}
	return u*10 + t, true
}

// signed writes n (in units of 10^-decimals) with its sign: "+171", "-3",
// "0", "+7.1", "-0.4", "0.0".
func signed(n int64, decimals int) string {
	sign := ""
	switch {
	case n > 0:
		sign = "+"
	case n < 0:
		sign, n = "-", -n
	}
	if decimals == 0 {
		return sign + strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%s%d.%d", sign, n/10, n%10)
}
