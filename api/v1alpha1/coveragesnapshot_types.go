package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SnapshotScope is what a CoverageSnapshot records: one area, or England.
// +kubebuilder:validation:Enum=Area;National
type SnapshotScope string

const (
	// ScopeArea records one LocalArea: its coverage and every setting.
	ScopeArea SnapshotScope = "Area"
	// ScopeNational records the national sums and every area's coverage.
	ScopeNational SnapshotScope = "National"
)

// Limits of a snapshot's lists. They keep the largest snapshot well inside
// the 1.5 MiB the API server stores per object: an Area snapshot of
// Lancashire, the largest local authority (628 settings), takes about
// 166 KiB of JSON and 274 KiB as the API server stores it; a National
// snapshot of the 152 areas about 54 KiB (docs/coverage.md, "Retention and
// size").
const (
	// MaxSnapshotSettings is the most settings an Area snapshot lists.
	MaxSnapshotSettings = 3000
	// MaxSnapshotAreas is the most areas a National snapshot lists.
	MaxSnapshotAreas = 1000
)

// Labels of the snapshots the operator takes on schedule.
const (
	// LabelSnapshotDate is the date (YYYY-MM-DD) a scheduled snapshot was
	// taken for; status.takenAt is when it really was.
	LabelSnapshotDate = "mhst.io/snapshot-date"
)

// CoverageSnapshotSpec says what to record. It cannot change: a snapshot
// records one moment, and another moment is another snapshot.
// +kubebuilder:validation:XValidation:rule="self.scope != 'Area' || has(self.area)",message="spec.area is required when scope is Area: name the LocalArea to record",fieldPath=".area",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="self.scope != 'National' || !has(self.area)",message="spec.area must be absent when scope is National: a National snapshot records every area",fieldPath=".area",reason=FieldValueForbidden
type CoverageSnapshotSpec struct {
	// scope is Area (one LocalArea: its coverage and every one of its
	// settings) or National (the national sums and every area's coverage).
	// +required
	Scope SnapshotScope `json:"scope"`
	// area is the name of the LocalArea to record; required when scope is
	// Area, absent when it is National.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Area string `json:"area,omitempty"`
}

// SnapshotSetting is one setting of the area as it was counted when the
// snapshot was taken, with the figures of the claim that counted it.
type SnapshotSetting struct {
	// urn is the setting's Unique Reference Number in the DfE register.
	// +required
	// +kubebuilder:validation:MaxLength=7
	URN string `json:"urn"`
	// name of the setting.
	// +required
	// +kubebuilder:validation:MaxLength=200
	Name string `json:"name"`
	// pupils is the setting's headcount of pupils.
	// +required
	Pupils int64 `json:"pupils"`
	// disadvantagedPupils is the number of its pupils eligible for free
	// school meals; absent when the register suppresses the count.
	// +optional
	DisadvantagedPupils *int64 `json:"disadvantagedPupils,omitempty"`
	// covered is true when the setting could reach a Mental Health Support
	// Team: the allocation that counted it was agreed by the board and its
	// team existed and was not suspended.
	// +required
	Covered bool `json:"covered"`
	// team is the SupportTeam of the allocation that counted the setting;
	// absent when that allocation named none.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Team string `json:"team,omitempty"`
	// allocation is the name of the SchoolCoverage whose claim counted the
	// setting.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Allocation string `json:"allocation"`
	// decisionRef is the governance board's decision that allocation rested
	// on (its spec.agreement.decisionRef); absent when it was not agreed.
	// +optional
	// +kubebuilder:validation:MaxLength=500
	DecisionRef string `json:"decisionRef,omitempty"`
}

// SnapshotArea is one area's coverage in a National snapshot.
type SnapshotArea struct {
	// name of the LocalArea.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// coverage is the area's status.coverage when the snapshot was taken;
	// absent when the area had not reported coverage yet (it was not yet
	// provisioned).
	// +optional
	Coverage *AreaCoverage `json:"coverage,omitempty"`
}

// CoverageSnapshotStatus is the record. The operator writes it once, when it
// takes the snapshot, and the API server refuses any change to it after
// that, from anyone.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.takenAt) || self == oldSelf",message="a CoverageSnapshot's status is written once, when it is taken, and cannot change: take another snapshot instead"
type CoverageSnapshotStatus struct {
	// observedGeneration is the generation of the spec the snapshot was
	// taken for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready is True once the snapshot is taken, and False with
	// reason AreaNotFound or AreaNotActive (and Stalled) when the area
	// could not be recorded. Either way the record is final.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// takenAt is the moment the operator took the snapshot (or found that it
	// could not).
	// +optional
	TakenAt *metav1.Time `json:"takenAt,omitempty"`
	// coverage holds the figures of LocalArea status.coverage at that
	// moment, every one of them: the area's for an Area snapshot
	// (pupilsCoveredByTeamsInTraining counts the teams in training at
	// takenAt, as the area's status does), the national sums (with the
	// percentages and the equity index worked out from the sums and
	// targetMet against the national target) for a National one.
	// +optional
	Coverage *AreaCoverage `json:"coverage,omitempty"`
	// settings lists every setting of the area, keyed by URN, in URN order
	// (Area snapshots only).
	// +optional
	// +listType=map
	// +listMapKey=urn
	// +kubebuilder:validation:MaxItems=3000
	Settings []SnapshotSetting `json:"settings,omitempty"`
	// areas lists every LocalArea and its coverage, keyed by name, in name
	// order (National snapshots only).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=1000
	Areas []SnapshotArea `json:"areas,omitempty"`
	// digest is the SHA-256, in lower-case hex, of the canonical JSON of
	// coverage and settings (Area) or areas and coverage (National), so
	// that a published figure can be checked against the record
	// (docs/coverage.md, "Checking a published figure").
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{64}$`
	Digest string `json:"digest,omitempty"`
}

// CoverageSnapshot is a record of coverage at one moment that nobody can
// change afterwards: what auditors and ministers quote. Create one with a
// spec to take it at once; the operator also takes a National snapshot and
// one per active area at 00:00 UTC of each date of --snapshot-dates.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=coveragesnapshots,scope=Cluster,shortName=snap,categories=mhst
// +kubebuilder:printcolumn:name="Scope",type=string,JSONPath=`.spec.scope`
// +kubebuilder:printcolumn:name="Area",type=string,JSONPath=`.spec.area`
// +kubebuilder:printcolumn:name="Taken",type=string,JSONPath=`.status.takenAt`,description="When the snapshot was taken (UTC)"
// +kubebuilder:printcolumn:name="Pupils Covered %",type=string,JSONPath=`.status.coverage.pupilsCoveredPercent`,description="Percent of pupils covered when it was taken"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.takenAt) || has(self.status)",message="a CoverageSnapshot's status is written once, when it is taken, and cannot be removed"
type CoverageSnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says what the snapshot records; it cannot change.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a CoverageSnapshot's spec cannot change: a snapshot records one moment; create another one"
	Spec CoverageSnapshotSpec `json:"spec"`
	// status is the record, written once by the operator when it takes the
	// snapshot; the API server refuses any change to it after that.
	// +optional
	Status CoverageSnapshotStatus `json:"status,omitempty"`
}

// CoverageSnapshotList is a list of CoverageSnapshots.
//
// +kubebuilder:object:root=true
type CoverageSnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CoverageSnapshot `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CoverageSnapshot{}, &CoverageSnapshotList{})
}
