package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// reportInterval is the shortest time between two rewrites of one report
// ConfigMap. A wave going live changes an area's figures once for every
// team and allocation that arrives, and the nation's once for every area:
// rewriting a report of hundreds of settings each time would load the API
// server while the wave is being provisioned, for figures nobody reads
// within the second. Status figures are never paced: they are written as
// soon as they change; only the reports follow them, at most this late.
const reportInterval = time.Second

// reportPacing spaces out the rewrites of each report. It is shared by the
// workers of a controller, so it locks. A nil *reportPacing never delays.
type reportPacing struct {
	interval time.Duration
	mu       sync.Mutex
	last     map[types.NamespacedName]time.Time
}

func newReportPacing(interval time.Duration) *reportPacing {
	return &reportPacing{interval: interval, last: map[types.NamespacedName]time.Time{}}
}

// wait is how long until the report at key may be written again: zero when
// it may be written now.
func (p *reportPacing) wait(key types.NamespacedName, now time.Time) time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	last, ok := p.last[key]
	if !ok {
		return 0
	}
	return max(p.interval-now.Sub(last), 0)
}

// written records that the report at key was written at now.
func (p *reportPacing) written(key types.NamespacedName, now time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[key] = now
}

// forget drops what is known of the report at key (its area is gone).
func (p *reportPacing) forget(key types.NamespacedName) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, key)
}
