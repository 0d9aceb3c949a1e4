// Package v1alpha1 contains the mhst.io/v1alpha1 API: LocalArea (a local area
// taking part in the Mental Health Support Team rollout, and its governance
// board), SupportTeam (one Mental Health Support Team and its service) and
// SchoolCoverage (an allocation of a team's time to schools and colleges).
//
// +kubebuilder:object:generate=true
// +groupName=mhst.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "mhst.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
