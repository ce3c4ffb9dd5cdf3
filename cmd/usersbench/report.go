package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// peakRSS tracks a process's peak resident set size (VmHWM) per phase:
// reset clears the high-water mark (Linux ≥ 4.0, writing 5 to
// /proc/<pid>/clear_refs) so that the next read covers one phase only.
// For another process (a server) it covers the process with its
// descendants (a server's hashing children): read sums their marks, which
// may exceed the peak of their sum, never fall short of it.
type peakRSS struct {
	pid       string // "self" or a number
	resetable bool
}

func newPeakRSS(pid int) *peakRSS {
	p := &peakRSS{pid: "self"}
	if pid > 0 {
		p.pid = strconv.Itoa(pid)
	}
	return p
}

// tree is p's process and, for another process, its descendants.
func (p *peakRSS) tree() []string {
	if p.pid == "self" {
		return []string{"self"}
	}
	return processTree(p.pid)
}

// processTree returns pid and its descendants (from
// /proc/<pid>/task/<tid>/children).
func processTree(pid string) []string {
	out := []string{pid}
	for i := 0; i < len(out); i++ {
		tasks, _ := os.ReadDir("/proc/" + out[i] + "/task")
		for _, t := range tasks {
			b, err := os.ReadFile("/proc/" + out[i] + "/task/" + t.Name() + "/children")
			if err == nil {
				out = append(out, strings.Fields(string(b))...)
			}
		}
	}
	return out
}

// reset clears the high-water mark; it reports whether it could.
func (p *peakRSS) reset() bool {
	p.resetable = true
	for _, pid := range p.tree() {
		if err := os.WriteFile("/proc/"+pid+"/clear_refs", []byte("5"), 0); err != nil && pid == p.pid {
			p.resetable = false
		}
	}
	return p.resetable
}

// cpu returns the CPU time so far (user + system, from /proc/<pid>/stat,
// in clock ticks of 10 ms) of p's process and its descendants, or -1 when
// it cannot be read (or p is nil).
func (p *peakRSS) cpu() time.Duration {
	if p == nil {
		return -1
	}
	var sum time.Duration
	for i, pid := range p.tree() {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			if i == 0 {
				return -1
			}
			continue // a descendant that ended
		}
		c := statCPU(b)
		if c < 0 {
			return -1
		}
		sum += c
	}
	return sum
}

// statCPU reads utime and stime (fields 14 and 15, after the command name
// in parentheses, which may hold spaces) of a /proc/<pid>/stat line.
func statCPU(stat []byte) time.Duration {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+k) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// read returns VmHWM in KiB (summed over p's processes), or 0 when it
// cannot be read.
func (p *peakRSS) read() int64 {
	var sum int64
	for _, pid := range p.tree() {
		b, err := os.ReadFile("/proc/" + pid + "/status")
		if err == nil {
			sum += vmHWM(b)
		}
	}
	return sum
}

// vmHWM extracts the VmHWM line (KiB) of a /proc/<pid>/status file.
func vmHWM(status []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

// machine describes where the run happened.
type machine struct {
	GoVersion  string `json:"go_version"`
	NumCPU     int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPU        string `json:"cpu,omitempty"`
	Kernel     string `json:"kernel,omitempty"`
	LoadBefore string `json:"loadavg_before,omitempty"` // /proc/loadavg: other work on the machine
	LoadAfter  string `json:"loadavg_after,omitempty"`
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func thisMachine() machine {
	m := machine{GoVersion: runtime.Version(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// report is everything a run prints.
type report struct {
	Started  time.Time     `json:"started"`
	Machine  machine       `json:"machine"`
	Mode     string        `json:"mode"`  // in-process or http
	Store    string        `json:"store"` // in-process store, or the server URL
	Hasher   string        `json:"hasher"`
	HashGate string        `json:"hash_limit,omitempty"`
	C        int           `json:"concurrency"`
	D        string        `json:"duration"`
	Deliver  bool          `json:"deliver,omitempty"`
	Ceiling  *result       `json:"hash_ceiling,omitempty"`
	Results  []result      `json:"results"`
	Bursts   []burstResult `json:"bursts,omitempty"`
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "usersbench  %s  %s  %s (nproc %d, GOMAXPROCS %d)  %s\n",
		r.Started.Format(time.RFC3339), r.Machine.GoVersion, r.Machine.CPU, r.Machine.NumCPU, r.Machine.GOMAXPROCS, r.Machine.Kernel)
	fmt.Fprintf(w, "mode %s  store %s  hasher %s", r.Mode, r.Store, r.Hasher)
	if r.HashGate != "" {
		fmt.Fprintf(w, "  hash limit %s", r.HashGate)
	}
	fmt.Fprintf(w, "  c=%d  d=%s", r.C, r.D)
	if r.Mode == "in-process" {
		fmt.Fprintf(w, "  delivery worker %v", r.Deliver)
	}
	fmt.Fprintln(w)
	if r.Machine.LoadBefore != "" {
		fmt.Fprintf(w, "load average before %s, after %s\n", r.Machine.LoadBefore, r.Machine.LoadAfter)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "op\tc\tops\terrors\tops/s\tp50 ms\tp99 ms\tmax ms\tpeak RSS MiB\tCPU ms/op (cores)\tvs ceiling\t")
	rows := r.Results
	if r.Ceiling != nil {
		rows = append([]result{*r.Ceiling}, rows...)
	}
	for _, x := range rows {
		vs := "-"
		if x.Ceiling > 0 {
			vs = fmt.Sprintf("%.1f%%", 100*x.Ceiling)
		}
		rss := "-"
		if x.PeakRSS > 0 {
			rss = fmt.Sprintf("%.0f", float64(x.PeakRSS)/1024)
			if x.RSSOf == "server" {
				rss += " (server)"
			}
		}
		cpu := "-"
		if x.CPUPerOpMs > 0 {
			cpu = fmt.Sprintf("%.3f (%.2f)", x.CPUPerOpMs, x.CPUCores)
			if x.CPUOf == "server" {
				cpu += " server"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t\n",
			x.Op, x.C, x.OK, x.Errors, x.OpsPerSec, x.P50ms, x.P99ms, x.MaxMs, rss, cpu, vs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	defer func() { _ = writeBurst(w, r.Bursts) }()
	for _, x := range rows {
		var notes []string
		if x.Errors > 0 {
			notes = append(notes, "errors: "+errKindsString(x.ErrKinds))
		}
		if x.Exhausted {
			notes = append(notes, fmt.Sprintf("the prepared tokens ran out after %.1fs", x.ElapsedS))
		}
		if x.Note != "" {
			notes = append(notes, x.Note)
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, "  %s: %s\n", x.Op, strings.Join(notes, "; "))
		}
	}
	return nil
}
