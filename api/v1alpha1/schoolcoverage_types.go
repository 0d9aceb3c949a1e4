package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SettingPhase is the phase of education of a school or college.
// +kubebuilder:validation:Enum=Nursery;Primary;Middle;Secondary;AllThrough;Special;AlternativeProvision;FurtherEducation
type SettingPhase string

const (
	PhaseNursery              SettingPhase = "Nursery"
	PhasePrimary              SettingPhase = "Primary"
	PhaseMiddle               SettingPhase = "Middle"
	PhaseSecondary            SettingPhase = "Secondary"
	PhaseAllThrough           SettingPhase = "AllThrough"
	PhaseSpecial              SettingPhase = "Special"
	PhaseAlternativeProvision SettingPhase = "AlternativeProvision"
	PhaseFurtherEducation     SettingPhase = "FurtherEducation"
)

// TeamReference names a SupportTeam in the same namespace.
type TeamReference struct {
	// name of the SupportTeam.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// Agreement records the governance board's decision to allocate the team's
// time to these settings. The allocation of team time must be transparent
// and agreed by the local governance board.
type Agreement struct {
	// decisionRef points to the board's decision, for example the minute
	// "GB-2025-03 item 4" or a link to the published minutes.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=500
	DecisionRef string `json:"decisionRef"`
	// agreedAt is the date of the decision, as YYYY-MM-DD.
	// +optional
	// +kubebuilder:validation:Format=date
	AgreedAt string `json:"agreedAt,omitempty"`
	// agreedBy is who agreed it, for example "Leeds MHST governance board".
	// +optional
	// +kubebuilder:validation:MaxLength=200
	AgreedBy string `json:"agreedBy,omitempty"`
}

// Setting is one school or college (an education setting) and the team time
// it gets.
// +kubebuilder:validation:XValidation:rule="!has(self.disadvantagedPupils) || self.disadvantagedPupils <= self.pupils",message="disadvantagedPupils cannot be more than pupils",fieldPath=".disadvantagedPupils"
type Setting struct {
	// urn is the setting's Unique Reference Number in the DfE register
	// (6 or 7 digits). A setting is counted once in an area.
	// +required
	// +kubebuilder:validation:Pattern=`^[0-9]{6,7}$`
	// +kubebuilder:validation:MaxLength=7
	URN string `json:"urn"`
	// name of the setting, as in the DfE register.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	Name string `json:"name"`
	// phase of education: Nursery, Primary, Middle, Secondary, AllThrough,
	// Special, AlternativeProvision or FurtherEducation.
	// +required
	Phase SettingPhase `json:"phase"`
	// pupils is the setting's headcount of pupils.
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	Pupils int32 `json:"pupils"`
	// disadvantagedPupils is the number of pupils known to be eligible for
	// free school meals, the usual measure of disadvantage. At most pupils.
	// Absent when not known (the register suppresses it for some settings);
	// an unknown count adds nothing to the disadvantaged figures, and reports
	// say how many settings it is unknown for.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	DisadvantagedPupils *int32 `json:"disadvantagedPupils,omitempty"`
	// sessionsPerWeek is the team time the setting gets, in half-day sessions
	// a week (2 is one day a week; 10 is every day).
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	SessionsPerWeek int32 `json:"sessionsPerWeek,omitempty"`
	// seniorMentalHealthLead is true when the setting has a trained senior
	// mental health lead, who builds its whole-school approach with the team.
	// +optional
	SeniorMentalHealthLead bool `json:"seniorMentalHealthLead,omitempty"`
}

// SchoolCoverageSpec is an allocation of a team's time to settings.
type SchoolCoverageSpec struct {
	// teamRef names the SupportTeam whose time these settings get. Without
	// it, the list records settings of the area that no team covers yet, so
	// that the area's coverage figures count every pupil.
	// +optional
	TeamRef *TeamReference `json:"teamRef,omitempty"`
	// agreement records the governance board's decision. Without it the
	// allocation is Proposed and its settings do not count as covered.
	// +optional
	Agreement *Agreement `json:"agreement,omitempty"`
	// settings are the schools and colleges of the allocation, keyed by URN.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=500
	// +listType=map
	// +listMapKey=urn
	Settings []Setting `json:"settings"`
}

// Conflict is a setting this allocation lists that an older allocation of
// another team in the same area already claims.
type Conflict struct {
	// urn of the setting.
	URN string `json:"urn"`
	// claimedBy is the name of the SchoolCoverage whose claim counts.
	ClaimedBy string `json:"claimedBy"`
}

// SchoolCoverageStatus is the observed state of an allocation.
type SchoolCoverageStatus struct {
	// observedGeneration is the generation of the spec last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready, Agreed, Conflicted, Reconciling, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// settings is the number of settings this allocation counts for in its
	// area: the ones it lists, less those whose claim is held by another
	// allocation.
	// +optional
	Settings int64 `json:"settings"`
	// pupils is the number of pupils in those settings.
	// +optional
	Pupils int64 `json:"pupils"`
	// disadvantagedPupils is the number of those eligible for free school
	// meals.
	// +optional
	DisadvantagedPupils int64 `json:"disadvantagedPupils"`
	// conflicts are the settings this allocation lists that an older
	// allocation of another team holds.
	// +optional
	// +listType=atomic
	Conflicts []Conflict `json:"conflicts,omitempty"`
}

// SchoolCoverage is an allocation: a set of schools and colleges in the area
// and the SupportTeam whose time they get, agreed by the governance board.
// Without a teamRef it lists settings that no team covers yet.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=cov,categories=mhst
// +kubebuilder:printcolumn:name="Team",type=string,JSONPath=`.spec.teamRef.name`
// +kubebuilder:printcolumn:name="Settings",type=integer,JSONPath=`.status.settings`
// +kubebuilder:printcolumn:name="Pupils",type=integer,JSONPath=`.status.pupils`
// +kubebuilder:printcolumn:name="Agreed",type=string,JSONPath=`.status.conditions[?(@.type=="Agreed")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SchoolCoverage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SchoolCoverageSpec `json:"spec"`
	// +optional
	Status SchoolCoverageStatus `json:"status,omitempty"`
}

// SchoolCoverageList is a list of SchoolCoverages.
//
// +kubebuilder:object:root=true
type SchoolCoverageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SchoolCoverage `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SchoolCoverage{}, &SchoolCoverageList{})
}
