package apply

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Holds reports whether live holds every field of want: the drift rule of
// the package doc. Both are objects as JSON decodes them (map[string]any,
// []any, string, float64, bool, nil); Normalize makes them so.
func Holds(live, want map[string]any) bool {
	liveMeta, _ := live["metadata"].(map[string]any)
	wantMeta, _ := want["metadata"].(map[string]any)
	for _, field := range []string{"labels", "annotations"} {
		if !holds(liveMeta[field], wantMeta[field]) {
			return false
		}
	}
	if !holdsOwnerReferences(liveMeta["ownerReferences"], wantMeta["ownerReferences"]) {
		return false
	}
	for field, value := range want {
		if isMetaField(field) {
			continue
		}
		if !holds(live[field], value) {
			return false
		}
	}
	return true
}

// HoldsExactly reports whether live holds want and sets nothing besides it
// outside metadata and status: the rule for the kinds the operator owns
// whole, where a field someone adds (a rule, a quota, a data key) is drift.
func HoldsExactly(live, want map[string]any) bool {
	if !Holds(live, want) {
		return false
	}
	for field, value := range live {
		if !isMetaField(field) && !holds(want[field], value) {
			return false
		}
	}
	return true
}

// holds reports whether have contains want: every key of a wanted map with
// a value it holds, a wanted list element for element (the same length,
// each element holding the wanted one), a scalar equal. A wanted null, and
// an empty map or list, hold when the field is absent.
func holds(have, want any) bool {
	switch w := want.(type) {
	case nil:
		return true
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return have == nil && len(w) == 0
		}
		for k, v := range w {
			if !holds(h[k], v) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return have == nil && len(w) == 0
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !holds(h[i], w[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(have, want)
	}
}

// holdsOwnerReferences reports whether every wanted owner reference is
// among the object's, matched by uid, as server-side apply merges them:
// another owner (the garbage collector's, someone's) is not drift.
func holdsOwnerReferences(have, want any) bool {
	wanted, _ := want.([]any)
	present, _ := have.([]any)
	for _, w := range wanted {
		wm, _ := w.(map[string]any)
		found := false
		for _, h := range present {
			if hm, ok := h.(map[string]any); ok && hm["uid"] == wm["uid"] && holds(hm, wm) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// isMetaField tells the top-level fields that are not the object's content.
func isMetaField(field string) bool {
	switch field {
	case "apiVersion", "kind", "metadata", "status":
		return true
	}
	return false
}

// Normalize turns any object (typed, unstructured content, an apply
// configuration) into the generic JSON form Holds compares: the same
// numbers and empty values, whatever Go types held them.
func Normalize(obj any) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode object: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	return out, nil
}
