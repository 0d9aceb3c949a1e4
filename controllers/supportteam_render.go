package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
	"github.com/mhst-io/mhst-operator/internal/blueprint"
)

// render renders the team's service. When the service cannot be rendered
// because of something a person must fix (the blueprint ConfigMap is
// missing, rejected or does not build), it returns no output and a Stalled
// readiness that says what to fix; err is only for failures worth retrying.
func (r *SupportTeamReconciler) render(ctx context.Context, team *mhstv1alpha1.SupportTeam, area *mhstv1alpha1.LocalArea) (*blueprint.Output, *readiness, error) {
	files, missing, err := r.blueprintFiles(ctx, team)
	if err != nil || missing != nil {
		return nil, missing, err
	}
	out, err := r.renders.render(client.ObjectKeyFromObject(team), blueprint.Input{
		TeamName:               team.Name,
		Namespace:              team.Namespace,
		AreaName:               area.Name,
		Wave:                   area.Spec.Wave,
		Spec:                   team.Spec,
		AllowIngressFrom:       area.Spec.Tenancy.AllowIngressFrom,
		AllowEgressTo:          egressPeers(area.Spec.Tenancy.AllowEgressTo),
		AllowedPriorityClasses: r.AllowedPriorityClasses,
		CustomFiles:            files,
	})
	if err != nil {
		return nil, renderRefusal(err), nil
	}
	return out, nil, nil
}

// renderRefusal turns a render error into the Stalled readiness the team
// reports. The renderer's message names the offending object or file.
func renderRefusal(err error) *readiness {
	var rejected *blueprint.RejectedError
	var invalid *blueprint.InvalidError
	switch {
	case errors.As(err, &rejected):
		return blocked(stalled(mhstv1alpha1.ReasonBlueprintRejected, err.Error()+"; nothing of this render was applied"))
	case errors.As(err, &invalid):
		return blocked(stalled(mhstv1alpha1.ReasonBlueprintInvalid, err.Error()+"; nothing of this render was applied"))
	default:
		return blocked(stalled(mhstv1alpha1.ReasonRenderFailed, err.Error()))
	}
}

// announceRefusal emits a Warning Event when a render is refused for a
// reason the team did not report before: the Ready condition keeps the
// message, the Event makes it show in kubectl get events and alerting. A
// team refused again for the same reason (every later reconcile) emits
// nothing more.
func (r *SupportTeamReconciler) announceRefusal(team *mhstv1alpha1.SupportTeam, refused readiness) {
	switch refused.reason {
	case mhstv1alpha1.ReasonBlueprintRejected, mhstv1alpha1.ReasonBlueprintInvalid, mhstv1alpha1.ReasonOwnershipConflict:
	default:
		return
	}
	if previous := meta.FindStatusCondition(team.Status.Conditions, mhstv1alpha1.ConditionReady); previous != nil &&
		previous.Reason == refused.reason && previous.Message == refused.message {
		return
	}
	r.Recorder.Eventf(team, nil, corev1.EventTypeWarning, refused.reason, "Render", "%s", eventNote(refused.message))
}

// eventNoteLimit is the longest note the API server accepts in an Event.
const eventNoteLimit = 1024

// eventNote shortens a message to fit an Event's note, at a character
// boundary; the Ready condition keeps the whole message.
func eventNote(message string) string {
	if len(message) <= eventNoteLimit {
		return message
	}
	const more = "... (the team's Ready condition has the whole message)"
	cut := eventNoteLimit - len(more)
	for cut > 0 && !utf8.RuneStart(message[cut]) {
		cut--
	}
	return message[:cut] + more
}

// blueprintFiles returns the files of the team's custom blueprint, or nil
// for the built-in one. When the ConfigMap is not in the cache, it asks the
// API server once to tell the user precisely what is wrong: the cache holds
// only ConfigMaps labelled mhst.io/configmap, so a blueprint without the
// label exists but is invisible to the operator.
func (r *SupportTeamReconciler) blueprintFiles(ctx context.Context, team *mhstv1alpha1.SupportTeam) (map[string]string, *readiness, error) {
	if team.Spec.Blueprint == nil {
		return nil, nil, nil
	}
	key := client.ObjectKey{Namespace: team.Namespace, Name: team.Spec.Blueprint.ConfigMapRef.Name}
	var cm corev1.ConfigMap
	err := r.Get(ctx, key, &cm)
	switch {
	case err == nil && cm.Labels[mhstv1alpha1.LabelConfigMap] == mhstv1alpha1.ConfigMapBlueprint:
		return blueprintData(&cm), nil, nil
	case err == nil:
		return nil, blocked(stalled(mhstv1alpha1.ReasonBlueprintNotFound, unlabelledBlueprint(key))), nil
	case !apierrors.IsNotFound(err):
		return nil, nil, fmt.Errorf("get blueprint ConfigMap %s: %w", key, err)
	}
	err = r.APIReader.Get(ctx, key, &cm)
	switch {
	case apierrors.IsNotFound(err):
		return nil, blocked(stalled(mhstv1alpha1.ReasonBlueprintNotFound, fmt.Sprintf(
			"blueprint ConfigMap %s does not exist: create it in the team's namespace, labelled %s=%s",
			key, mhstv1alpha1.LabelConfigMap, mhstv1alpha1.ConfigMapBlueprint))), nil
	case err != nil:
		return nil, nil, fmt.Errorf("get blueprint ConfigMap %s from the API server: %w", key, err)
	default:
		return nil, blocked(stalled(mhstv1alpha1.ReasonBlueprintNotFound, unlabelledBlueprint(key))), nil
	}
}

func unlabelledBlueprint(key client.ObjectKey) string {
	return fmt.Sprintf("blueprint ConfigMap %s exists but is not labelled %s=%s, so the operator does not read it: "+
		"add the label (kubectl label configmap -n %s %s %s=%s)",
		key, mhstv1alpha1.LabelConfigMap, mhstv1alpha1.ConfigMapBlueprint,
		key.Namespace, key.Name, mhstv1alpha1.LabelConfigMap, mhstv1alpha1.ConfigMapBlueprint)
}

// blueprintData returns the ConfigMap's files. It is never nil, because nil
// would select the built-in blueprint: an empty ConfigMap must be reported
// as a blueprint that does not build.
func blueprintData(cm *corev1.ConfigMap) map[string]string {
	files := make(map[string]string, len(cm.Data))
	for name, content := range cm.Data {
		files[name] = content
	}
	return files
}

// renderMemo remembers each team's last successful render with the input it
// came from. A render runs kustomize and costs tens of milliseconds, while
// most reconciles (a Deployment's status changed, an allocation was added)
// render the same input again; blueprint.Render is deterministic, so the
// remembered objects are exactly what it would return. The zero value is
// ready to use.
//
// It also remembers whether the render was applied in full: a render of an
// unchanged input that was applied is settled, and an object found not
// holding it was changed by someone else (drift). The memo is the
// process's own, so after a restart no render is settled until applied
// once: a change made while the operator was down is put back without
// being called drift, rather than a change of the render being called
// drift.
type renderMemo struct {
	mu     sync.Mutex
	byTeam map[client.ObjectKey]memoEntry
}

// memoEntry keeps a render as JSON: every caller decodes its own objects,
// free to change them (applying an object writes the server's answer into
// it).
type memoEntry struct {
	input          string
	objects        [][]byte
	deploymentName string
	// applied: every object of this render was applied.
	applied bool
}

// render returns the render of in, from memory when the team's input has
// not changed.
func (m *renderMemo) render(team client.ObjectKey, in blueprint.Input) (*blueprint.Output, error) {
	key, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode render input of team %s: %w", team, err)
	}
	m.mu.Lock()
	entry, ok := m.byTeam[team]
	m.mu.Unlock()
	if !ok || entry.input != string(key) {
		out, err := blueprint.Render(in)
		if err != nil {
			return nil, err
		}
		if entry, err = newMemoEntry(string(key), out); err != nil {
			return nil, fmt.Errorf("remember render of team %s: %w", team, err)
		}
		m.mu.Lock()
		if m.byTeam == nil {
			m.byTeam = map[client.ObjectKey]memoEntry{}
		}
		m.byTeam[team] = entry
		m.mu.Unlock()
	}
	return entry.output()
}

// settled reports whether the team's remembered render (the one render
// last returned) was applied in full.
func (m *renderMemo) settled(team client.ObjectKey) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byTeam[team].applied
}

// markApplied records that the team's remembered render was applied in
// full.
func (m *renderMemo) markApplied(team client.ObjectKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if entry, ok := m.byTeam[team]; ok {
		entry.applied = true
		m.byTeam[team] = entry
	}
}

// forget drops a deleted team's render.
func (m *renderMemo) forget(team client.ObjectKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byTeam, team)
}

func newMemoEntry(input string, out *blueprint.Output) (memoEntry, error) {
	entry := memoEntry{input: input, deploymentName: out.DeploymentName, objects: make([][]byte, len(out.Objects))}
	for i, obj := range out.Objects {
		data, err := json.Marshal(obj.Object)
		if err != nil {
			return memoEntry{}, fmt.Errorf("encode %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		entry.objects[i] = data
	}
	return entry, nil
}

func (e memoEntry) output() (*blueprint.Output, error) {
	out := &blueprint.Output{DeploymentName: e.deploymentName, Objects: make([]*unstructured.Unstructured, len(e.objects))}
	for i, data := range e.objects {
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("decode remembered render: %w", err)
		}
		out.Objects[i] = obj
	}
	return out, nil
}

// egressPeers are the destinations of the area's spec.tenancy.allowEgressTo
// as NetworkPolicy peers: a team's own policies may allow egress to these
// (and to its namespace and the cluster DNS), and nowhere else.
func egressPeers(destinations []mhstv1alpha1.EgressDestination) []networkingv1.NetworkPolicyPeer {
	peers := make([]networkingv1.NetworkPolicyPeer, 0, len(destinations))
	for _, d := range destinations {
		var peer networkingv1.NetworkPolicyPeer
		switch {
		case d.NamespaceSelector != nil:
			peer.NamespaceSelector = d.NamespaceSelector.DeepCopy()
		case d.IPBlock != nil:
			peer.IPBlock = &networkingv1.IPBlock{CIDR: d.IPBlock.CIDR, Except: slices.Clone(d.IPBlock.Except)}
		default:
			continue
		}
		peers = append(peers, peer)
	}
	return peers
}
