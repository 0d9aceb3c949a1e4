package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestReportPacing(t *testing.T) {
	start := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	york := types.NamespacedName{Namespace: "mhst-york", Name: AreaReportName}
	leeds := types.NamespacedName{Namespace: "mhst-leeds", Name: AreaReportName}
	p := newReportPacing(time.Second)

	steps := []struct {
		name  string
		do    func()
		key   types.NamespacedName
		at    time.Duration
		wants time.Duration
	}{
		{name: "never written: now", key: york, at: 0, wants: 0},
		{name: "just written: the whole interval", do: func() { p.written(york, start) }, key: york, at: 0, wants: time.Second},
		{name: "part way: the rest", key: york, at: 300 * time.Millisecond, wants: 700 * time.Millisecond},
		{name: "another report is not held back", key: leeds, at: 300 * time.Millisecond, wants: 0},
		{name: "interval over: now", key: york, at: time.Second, wants: 0},
		{name: "long after: now", key: york, at: time.Hour, wants: 0},
		{name: "forgotten: now", do: func() { p.forget(york) }, key: york, at: 0, wants: 0},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		if got := p.wait(s.key, start.Add(s.at)); got != s.wants {
			t.Errorf("%s: wait %v, want %v", s.name, got, s.wants)
		}
	}

	var none *reportPacing
	none.written(york, start)
	if got := none.wait(york, start); got != 0 {
		t.Errorf("nil pacing: wait %v, want 0", got)
	}
}
