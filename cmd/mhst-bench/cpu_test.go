package main

import (
	"os"
	"testing"
	"time"
)

func TestMachineBusy(t *testing.T) {
	stat := "cpu  100 5 50 1000 7 3 2 1 4 0\ncpu0 50 2 25 500 3 1 1 0 2 0\n"
	got, err := machineBusy(stat)
	if err != nil {
		t.Fatal(err)
	}
	// user + nice + system + irq + softirq + steal = 100+5+50+3+2+1 ticks.
	if want := 161 * clockTick; got != want {
		t.Errorf("busy %s, want %s", got, want)
	}
	if _, err := machineBusy("intr 1 2 3\n"); err == nil {
		t.Error("a file without the cpu line was read")
	}
}

func TestProcessCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (kube (api) server) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 70 3 4 20 0 12 0 100 0 0"
	got, err := processCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 320 * clockTick; got != want {
		t.Errorf("cpu %s, want %s", got, want)
	}
	if _, err := processCPU("4242 (short) S 1"); err == nil {
		t.Error("a truncated stat was read")
	}
}

func TestCPUUse(t *testing.T) {
	start := cpuSample{machine: 10 * time.Second, procs: map[string]time.Duration{"operator": time.Second}}
	end := cpuSample{machine: 16 * time.Second, procs: map[string]time.Duration{"operator": 3 * time.Second, "kwok": time.Second}}
	use := end.since(start, 4*time.Second)
	if use.Machine != 6*time.Second || use.Procs["operator"] != 2*time.Second || use.Procs["kwok"] != time.Second {
		t.Fatalf("use %+v", use)
	}
	if use.rest() != 3*time.Second {
		t.Errorf("rest %s, want 3s", use.rest())
	}
	if s := (cpuUse{}).String(); s != "not measured" {
		t.Errorf("empty use reads %q", s)
	}
}

func TestSampleCPUOfThisProcess(t *testing.T) {
	s, err := sampleCPU(map[string]int{"self": os.Getpid(), "gone": 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if s.machine <= 0 {
		t.Errorf("machine busy %s", s.machine)
	}
	if _, ok := s.procs["gone"]; ok {
		t.Error("a process that does not exist was sampled")
	}
	if _, ok := s.procs["self"]; !ok {
		t.Error("this process was not sampled")
	}
}
