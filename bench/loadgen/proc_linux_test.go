package loadgen

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	for _, c := range []struct {
		name, line string
		want       ProcStat
	}{
		{"spaces and parentheses", "4242 (post gres) (x)) S 17 4242 4242 0 -1 4194560 100 0 0 0 123 45 6 7 20 0 1 0 100 0 0\n",
			ProcStat{Comm: "post gres) (x)", PPID: 17, Utime: 123, Stime: 45, Cutime: 6, Cstime: 7}},
		{"nested parentheses", "4242 (muster (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 3 4 20 0 9 0",
			ProcStat{Comm: "muster (x)", PPID: 1, Utime: 150, Stime: 25, Cutime: 3, Cstime: 4}},
		{"inner group", "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 123 45 6 7 20 0 1 0 100 0 0\n",
			ProcStat{Comm: "a (b) c", PPID: 17, Utime: 123, Stime: 45, Cutime: 6, Cstime: 7}},
	} {
		got, ok := ParseProcStat(c.line)
		if !ok || got != c.want {
			t.Errorf("%s: ParseProcStat = %+v %v, want %+v", c.name, got, ok, c.want)
		}
	}
	for _, bad := range []string{"garbage", "", "42 x) (y S 1 2", "4242 (short) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25"} {
		if st, ok := ParseProcStat(bad); ok {
			t.Errorf("ParseProcStat(%q) = %+v, accepted", bad, st)
		}
	}
}

func TestReadProcStat(t *testing.T) {
	self, ok := ReadProcStat(os.Getpid())
	if !ok || self.Comm == "" || self.PPID != os.Getppid() {
		t.Fatalf("own stat: %+v %v (parent %d)", self, ok, os.Getppid())
	}
	if _, ok := ReadProcStat(-1); ok {
		t.Error("pid -1 read")
	}
	if got := ProcTicks(-1); got != 0 {
		t.Errorf("ProcTicks(-1) = %d, want 0", got)
	}
}

func TestParseMachineTicks(t *testing.T) {
	for _, c := range []struct {
		in          string
		busy, total int64
	}{
		{"cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3 4\n", 160, 1000},
		{"cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 1 2 3\n", 160, 980},
		{"cpu  100 5 50 800\n", 155, 955}, // old kernels: no iowait and after
		{"cpu0 100 5 50 800 20\n", 0, 0},
		{"", 0, 0},
	} {
		busy, total := ParseMachineTicks([]byte(c.in))
		if busy != c.busy || total != c.total {
			t.Errorf("ParseMachineTicks(%q) = %d, %d; want %d, %d", c.in, busy, total, c.busy, c.total)
		}
	}
	if busy, total := MachineTicks(); total <= 0 || busy < 0 || busy > total {
		t.Errorf("MachineTicks = %d of %d", busy, total)
	}
}
