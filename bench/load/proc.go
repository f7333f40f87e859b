package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// A process's cost, read from Linux's /proc (proc(5)).

// clockTicks is USER_HZ, the unit of utime and stime: `getconf CLK_TCK`,
// or 100, its value on every common Linux build, when that fails.
func clockTicks() int {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n <= 0 {
		return 100
	}
	return n
}

// cpuTicks is utime+stime of pid, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(string(b))
}

// parseStat reads utime and stime (fields 14 and 15) from a
// /proc/PID/stat line. The command name, field 2, is in parentheses and
// may itself hold spaces and parentheses, so fields count from the last
// ')'.
func parseStat(s string) (int64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, so f[11]; stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: utime %q stime %q", f[11], f[12])
	}
	return ut + st, nil
}

// memKiB reads VmHWM (peak resident set) and VmRSS from /proc/PID/status,
// in KiB.
func memKiB(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatus(string(b))
}

func parseStatus(s string) (hwm, rss int64, err error) {
	found := 0
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		n, perr := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("status: %s: %q", k, v)
		}
		if k == "VmHWM" {
			hwm = n
		} else {
			rss = n
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("status: VmHWM or VmRSS missing")
	}
	return hwm, rss, nil
}

// resetPeakRSS sets pid's VmHWM back to its current RSS (writing 5 to
// clear_refs, Linux 4.0+), so the next reading is the peak of one
// scenario rather than of the process's life. It needs the right to write
// that file: the same user as the server.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// procWatch measures a process across one scenario.
type procWatch struct {
	pid, hz   int
	t0        int64
	peakReset bool
}

// watch starts measuring pid; nil when pid is 0.
func watch(pid, hz int) (*procWatch, error) {
	if pid == 0 {
		return nil, nil
	}
	w := &procWatch{pid: pid, hz: hz}
	w.peakReset = resetPeakRSS(pid) == nil
	t, err := cpuTicks(pid)
	if err != nil {
		return nil, err
	}
	w.t0 = t
	return w, nil
}

// procCost is what a watched process spent.
type procCost struct {
	CPUSeconds float64
	// PeakRSSKiB is VmHWM: the scenario's peak when PeakReset, else the
	// process's since it started.
	PeakRSSKiB int64
	PeakReset  bool
}

func (w *procWatch) stop() (procCost, error) {
	t, err := cpuTicks(w.pid)
	if err != nil {
		return procCost{}, err
	}
	hwm, _, err := memKiB(w.pid)
	if err != nil {
		return procCost{}, err
	}
	return procCost{CPUSeconds: float64(t-w.t0) / float64(w.hz), PeakRSSKiB: hwm, PeakReset: w.peakReset}, nil
}
