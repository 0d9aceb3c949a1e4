// Package drift tells whether an object in the cluster still holds what the
// operator applied to it.
//
// The operator applies server-side and remembers a hash of what it applied,
// so an unchanged render costs no API call. A hash alone cannot see a person
// editing a field the operator owns (kubectl scale, kubectl set image): the
// live object changes, the annotation does not. Contains compares the
// applied object with the live one field by field, the way server-side apply
// sees them: every field the operator set must still have its value; fields
// the API server defaulted or other managers added are not drift.
package drift

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Contains reports whether every field set in applied has the same value in
// live. Both are objects as JSON would decode them (map[string]any, []any,
// string, float64, bool, nil), so numbers compare equal whatever Go type
// produced them. A field applied as null counts as unset. Lists must have
// the same length and each element must contain the applied element.
func Contains(live, applied any) bool {
	switch a := applied.(type) {
	case nil:
		return true
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for key, value := range a {
			if value == nil {
				continue
			}
			lv, ok := l[key]
			if !ok || !Contains(lv, value) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(a) {
			return false
		}
		for i := range a {
			if !Contains(l[i], a[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(live, applied)
	}
}

// Normalize turns any object (typed or unstructured content) into the
// generic JSON form Contains compares: the same numbers, the same empty
// values, whatever Go types held them.
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
