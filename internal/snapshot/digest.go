package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"

	mhstv1alpha1 "github.com/mhst-io/mhst-operator/api/v1alpha1"
)

// Digest seals a snapshot's record. It is the SHA-256, in lower-case hex, of
// the canonical JSON of one object with two members, taken from the status
// exactly as it is stored:
//
//   - Area snapshots: {"coverage": status.coverage, "settings": status.settings}
//   - National snapshots: {"areas": status.areas, "coverage": status.coverage}
//
// A member absent from the status is null. The canonical form is the one
// `jq -cS` prints: object members sorted by key (byte order), no whitespace,
// strings escaped only where JSON must (", \, control characters and DEL,
// with \b \f \n \r \t for those that have them and \u00xx otherwise), and
// integers in plain decimal. So an auditor recomputes it with
//
//	kubectl get snap NAME -o json | jq -cS '{coverage: .status.coverage, settings: .status.settings}' | tr -d '\n' | sha256sum
//
// (areas instead of settings for a National snapshot), and
// `kubectl mhst history` checks every snapshot it lists.
//
// status may be the typed status or the status of an object read as
// unstructured JSON: both give the same digest for the same stored object.
func Digest(scope mhstv1alpha1.SnapshotScope, status any) (string, error) {
	canonical, err := Canonical(scope, status)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}

// Canonical is the text Digest hashes.
func Canonical(scope mhstv1alpha1.SnapshotScope, status any) ([]byte, error) {
	stored, err := asJSONValue(status)
	if err != nil {
		return nil, err
	}
	fields, _ := stored.(map[string]any)
	sealed := map[string]any{"coverage": fields["coverage"]}
	switch scope {
	case mhstv1alpha1.ScopeArea:
		sealed["settings"] = fields["settings"]
	case mhstv1alpha1.ScopeNational:
		sealed["areas"] = fields["areas"]
	default:
		return nil, fmt.Errorf("snapshot scope %q is neither Area nor National", scope)
	}
	var buf bytes.Buffer
	if err := writeCanonical(&buf, sealed); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// asJSONValue is v as encoding/json's generic values, numbers kept as
// their decimal text, so that a typed status and one read as unstructured
// JSON become the same tree.
func asJSONValue(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode snapshot status: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode snapshot status: %w", err)
	}
	return out, nil
}

func writeCanonical(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case json.Number:
		// Every figure of a snapshot is an integer; anything else would
		// print differently in different tools.
		if _, err := strconv.ParseInt(x.String(), 10, 64); err != nil {
			return fmt.Errorf("snapshot holds %s, which is not an integer", x)
		}
		buf.WriteString(x.String())
	case string:
		writeString(buf, x)
	case []any:
		buf.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case map[string]any:
		buf.WriteByte('{')
		for i, key := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, key)
			buf.WriteByte(':')
			if err := writeCanonical(buf, x[key]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("snapshot holds a %T, which JSON does not have", v)
	}
	return nil
}

// writeString writes s as a JSON string the way jq does.
func writeString(buf *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\b':
			buf.WriteString(`\b`)
		case r == '\f':
			buf.WriteString(`\f`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			buf.WriteString(`\u00`)
			buf.WriteByte(hexDigits[r>>4])
			buf.WriteByte(hexDigits[r&0xf])
		default:
			buf.WriteString(s[i : i+size])
		}
		i += size
	}
	buf.WriteByte('"')
}
