package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The CPU time the machine and the processes of a measurement use tells
// what bounds it: on a machine of two cores, the operator, the API server
// and etcd, the controller manager, the scheduler and kwok starting every
// team's pods, and the benchmark's own clients all share the same CPUs.

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuSample is the CPU time used so far by the whole machine (every CPU's
// busy time) and by the named processes.
type cpuSample struct {
	machine time.Duration
	procs   map[string]time.Duration
}

// sampleCPU reads /proc/stat and /proc/<pid>/stat of each named process; a
// process that has gone counts as zero.
func sampleCPU(pids map[string]int) (cpuSample, error) {
	s := cpuSample{procs: map[string]time.Duration{}}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, fmt.Errorf("read /proc/stat: %w", err)
	}
	if s.machine, err = machineBusy(string(data)); err != nil {
		return s, err
	}
	for name, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		used, err := processCPU(string(data))
		if err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		s.procs[name] = used
	}
	return s, nil
}

// machineBusy is the busy time of every CPU from the first line of
// /proc/stat: user, nice, system, irq, softirq and steal (not idle, not
// iowait; guest time is already counted in user).
func machineBusy(stat string) (time.Duration, error) {
	line, _, _ := strings.Cut(stat, "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat field %d: %w", i, err)
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}

// processCPU is utime + stime of /proc/<pid>/stat. The command name (the
// second field) may hold spaces, so fields are counted after its ')'.
func processCPU(stat string) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("unexpected stat %q", stat)
	}
	fields := strings.Fields(stat[end+1:])
	// fields[0] is the state (field 3); utime and stime are fields 14, 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected stat %q", stat)
	}
	var used int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat utime/stime: %w", err)
		}
		used += n
	}
	return time.Duration(used) * clockTick, nil
}

// cpuUse is the CPU time used between two samples, over a wall time.
type cpuUse struct {
	Wall    time.Duration
	Machine time.Duration
	Procs   map[string]time.Duration
}

func (s cpuSample) since(start cpuSample, wall time.Duration) cpuUse {
	u := cpuUse{Wall: wall, Machine: s.machine - start.machine, Procs: map[string]time.Duration{}}
	for name, used := range s.procs {
		u.Procs[name] = used - start.procs[name]
	}
	return u
}

// rest is the machine's busy time the named processes do not account for:
// kube-apiserver and etcd, chiefly.
func (u cpuUse) rest() time.Duration {
	rest := u.Machine
	for _, used := range u.Procs {
		rest -= used
	}
	return max(rest, 0)
}

// String lists each process's share, the largest first, and the rest.
func (u cpuUse) String() string {
	if u.Wall == 0 {
		return "not measured"
	}
	names := make([]string, 0, len(u.Procs))
	for name := range u.Procs {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return u.Procs[names[i]] > u.Procs[names[j]] })
	parts := []string{fmt.Sprintf("kube-apiserver, etcd and the rest %.1f s", u.rest().Seconds())}
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f s", name, u.Procs[name].Seconds()))
	}
	return fmt.Sprintf("%.1f of %.1f CPU-seconds busy (%s)", u.Machine.Seconds(), u.Wall.Seconds()*float64(cpus()), strings.Join(parts, ", "))
}

func cpus() int { return runtime.NumCPU() }
