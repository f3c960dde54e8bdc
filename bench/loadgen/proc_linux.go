package loadgen

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// ClockTicks is USER_HZ, the unit of the CPU times in /proc: 100 on every
// Linux architecture Go supports.
const ClockTicks = 100

// ProcStat is what the load tools read of /proc/<pid>/stat. Times are in
// ClockTicks.
type ProcStat struct {
	Comm                         string
	PPID                         int
	Utime, Stime, Cutime, Cstime int64
}

// ParseProcStat reads a /proc/<pid>/stat line. Comm may hold spaces and
// parentheses, so it runs to the last ')'.
func ParseProcStat(line string) (ProcStat, bool) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return ProcStat{}, false
	}
	f := strings.Fields(line[end+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
	if len(f) < 15 {
		return ProcStat{}, false
	}
	num := func(i int) int64 { n, _ := strconv.ParseInt(f[i], 10, 64); return n }
	return ProcStat{
		Comm: line[open+1 : end], PPID: int(num(1)),
		Utime: num(11), Stime: num(12), Cutime: num(13), Cstime: num(14),
	}, true
}

// ReadProcStat reads /proc/<pid>/stat; false if it cannot be read or parsed.
func ReadProcStat(pid int) (ProcStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcStat{}, false
	}
	return ParseProcStat(string(b))
}

// ProcTicks is the user+system CPU time of pid, 0 if it cannot be read.
func ProcTicks(pid int) int64 {
	s, _ := ReadProcStat(pid)
	return s.Utime + s.Stime
}

// ParseMachineTicks reads the first line of /proc/stat: busy and total
// ticks of all CPUs (idle and iowait are not busy; guest time is already in
// user).
func ParseMachineTicks(b []byte) (busy, total int64) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, s := range f[1:min(len(f), 9)] { // user nice system idle iowait irq softirq steal
		n, _ := strconv.ParseInt(s, 10, 64)
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return busy, total
}

// MachineTicks is busy and total ticks of all CPUs from /proc/stat, 0 and 0
// if it cannot be read.
func MachineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	return ParseMachineTicks(b)
}

// StartSelf runs this program again with args (a subcommand first), as the
// load tools run their helper processes so that each one's CPU time is
// read apart. The child shares stderr, talks over the pipes returned, and
// is killed by the kernel if the parent dies first.
func StartSelf(args ...string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout io.ReadCloser, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd = exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if stdin, err = cmd.StdinPipe(); err != nil {
		return nil, nil, nil, err
	}
	if stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, stdin, stdout, nil
}
