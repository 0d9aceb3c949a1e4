package kinds

import (
	"os"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The operator's RBAC is generated from markers in controllers/ and copied
// into the chart; the table must agree with both: every kind the operator
// makes is granted what the apply engine and the cache use, and nothing is
// granted writes that the table does not account for.
func TestTableAgreesWithTheRBAC(t *testing.T) {
	for _, path := range []string{"../../config/rbac/role.yaml", "../../charts/mhst-operator/files/operator-rules.yaml"} {
		t.Run(path, func(t *testing.T) {
			rules := readRules(t, path)
			for _, k := range All {
				for _, verb := range []string{"get", "list", "watch", "create", "patch", "delete"} {
					if !grants(rules, k.GVK.Group, k.Resource, verb) {
						t.Errorf("%s does not grant %s on %s, which the operator makes for %v", path, verb, k.Resource, k.MadeFor)
					}
				}
				// An object owned whole that someone added a field to
				// is replaced whole, with an update.
				if len(k.Whole) > 0 && !grants(rules, k.GVK.Group, k.Resource, "update") {
					t.Errorf("%s does not grant update on %s, which the operator replaces whole for %v", path, k.Resource, k.Whole)
				}
			}
			for _, rule := range rules {
				if len(rule.ResourceNames) > 0 || !writes(rule.Verbs) {
					continue
				}
				for _, group := range rule.APIGroups {
					for _, resource := range rule.Resources {
						if !accountedFor(group, resource) {
							t.Errorf("%s grants writes on %s in group %q, which is not in the table of kinds the operator makes", path, resource, group)
						}
					}
				}
			}
		})
	}
}

// accountedFor reports whether the operator may write resource: a kind of
// the table, or one of what it writes besides its children.
func accountedFor(group, resource string) bool {
	for _, k := range All {
		if k.GVK.Group == group && k.Resource == resource {
			return true
		}
	}
	besides := map[string][]string{
		// Status, finalizers and the areas' finalizer of its own kinds.
		"mhst.io": {"localareas", "localareas/status", "localareas/finalizers", "supportteams/status",
			"supportteams/finalizers", "schoolcoverages/status", "coveragesnapshots", "coveragesnapshots/status"},
		"events.k8s.io": {"events"},
		// The metrics endpoint's authentication and authorization.
		"authentication.k8s.io": {"tokenreviews"},
		"authorization.k8s.io":  {"subjectaccessreviews"},
	}
	return slices.Contains(besides[group], resource)
}

func writes(verbs []string) bool {
	return slices.ContainsFunc(verbs, func(v string) bool {
		return v == "*" || v == "create" || v == "update" || v == "patch" || v == "delete" || v == "deletecollection"
	})
}

func grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if len(r.ResourceNames) == 0 && slices.Contains(r.APIGroups, group) &&
			slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

func readRules(t *testing.T, path string) []rbacv1.PolicyRule {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var role struct {
		Rules []rbacv1.PolicyRule `json:"rules"`
	}
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(role.Rules) == 0 {
		t.Fatalf("%s has no rules", path)
	}
	return role.Rules
}

// Every kind of the table is unique, and its empty object is of its kind.
func TestTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range All {
		if seen[k.GVK.String()] {
			t.Errorf("%s is in the table twice", k.GVK)
		}
		seen[k.GVK.String()] = true
		if len(k.MadeFor) == 0 {
			t.Errorf("%s is made for nothing", k.GVK)
		}
		if k.Blueprint && !k.Namespaced {
			t.Errorf("%s may be rendered by a blueprint but is cluster-scoped", k.GVK)
		}
		if k.New() == nil {
			t.Errorf("%s has no empty object", k.GVK)
		}
		for _, m := range k.Whole {
			if !slices.Contains(k.MadeFor, m) {
				t.Errorf("%s is owned whole by %s, which does not make it", k.GVK, m)
			}
			if m == Team {
				t.Errorf("%s is owned whole by a team: a blueprint's objects carry fields the API server defaults", k.GVK)
			}
		}
		if got := OwnedWhole(k.GVK, Area); got != slices.Contains(k.Whole, Area) {
			t.Errorf("OwnedWhole(%s, Area) = %v, the table says %v", k.GVK, got, !got)
		}
	}
}
