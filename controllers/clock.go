package controllers

import (
	"time"

	"k8s.io/utils/clock"
)

// nowOf is the clock's time, or the real time when no clock is set. The
// reconcilers read the date from their Clock, so that tests can move it: a
// target passing and a team leaving training are moments the operator waits
// for with RequeueAfter, never polls for.
func nowOf(c clock.PassiveClock) time.Time {
	if c == nil {
		return time.Now()
	}
	return c.Now()
}

// until is how long from now to the moment, for RequeueAfter: 0 (no
// requeue) when the moment is zero. A moment already reached is a second
// away, so that a clock a little behind the workqueue's cannot make the
// reconcile return without the change.
func until(moment, now time.Time) time.Duration {
	if moment.IsZero() {
		return 0
	}
	return max(moment.Sub(now), time.Second)
}
