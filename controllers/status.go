package controllers

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patchStatus writes obj's status when, and only when, it differs from
// before's. Each kind's status has a single writer (its own reconciler), so a
// merge patch of the difference is safe and keeps a converged system silent:
// an unchanged status costs no API call at all.
func patchStatus(ctx context.Context, c client.Client, obj, before client.Object) error {
	patch := client.MergeFrom(before)
	data, err := patch.Data(obj)
	if err != nil {
		return fmt.Errorf("compute status patch of %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	if string(data) == "{}" {
		return nil
	}
	if err := c.Status().Patch(ctx, obj, patch); err != nil {
		return fmt.Errorf("patch status of %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	return nil
}
