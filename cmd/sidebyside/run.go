package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchReport is the part of usersbench's -json report read here; old and
// new usersbench write the same fields.
type benchReport struct {
	Results []opResult `json:"results"`
}

type opResult struct {
	Op        string         `json:"op"`
	OK        int            `json:"ok"`
	Errors    int            `json:"errors"`
	ErrKinds  map[string]int `json:"error_kinds,omitempty"`
	OpsPerSec float64        `json:"ops_per_s"`
	P50ms     float64        `json:"p50_ms"`
	P99ms     float64        `json:"p99_ms"`
	Exhausted bool           `json:"exhausted,omitempty"`
	// CPUPerOpMs is the measured process's CPU per operation, when the
	// usersbench reports it (an older one may not).
	CPUPerOpMs float64 `json:"cpu_ms_per_op,omitempty"`
}

// round is one run of one side.
type round struct {
	Round   int        `json:"round"`
	Side    string     `json:"side"`
	Load    string     `json:"loadavg_before"`
	Results []opResult `json:"results"`
}

// summary is what the run prints.
type summary struct {
	Started   time.Time         `json:"started"`
	Mode      string            `json:"mode"`
	Old       string            `json:"old"`
	New       string            `json:"new"`
	Flags     []string          `json:"usersbench_flags"`
	Extra     map[string]string `json:"side_flags,omitempty"`    // side → its own flags
	Dropped   map[string]string `json:"dropped_flags,omitempty"` // side → flags left out
	Servers   map[string]string `json:"servers,omitempty"`       // side → URL and pid
	LoadStart string            `json:"loadavg_start"`
	LoadEnd   string            `json:"loadavg_end"`
	Ops       []opSummary       `json:"ops"`
	Rounds    []round           `json:"rounds"`
}

type opSummary struct {
	Op string `json:"op"`
	// Old and New are the medians of the rounds' rates (ops/s); the
	// ranges are [min, max].
	Old      float64    `json:"old_ops_per_s"`
	New      float64    `json:"new_ops_per_s"`
	OldRange [2]float64 `json:"old_range"`
	NewRange [2]float64 `json:"new_range"`
	OldP50   float64    `json:"old_p50_ms"`
	NewP50   float64    `json:"new_p50_ms"`
	OldCPU   float64    `json:"old_cpu_ms_per_op,omitempty"`
	NewCPU   float64    `json:"new_cpu_ms_per_op,omitempty"`
	// Ratio is New / Old; RatioRange the range of the rounds' own ratios.
	Ratio      float64    `json:"ratio"`
	RatioRange [2]float64 `json:"ratio_range"`
	Errors     [2]int     `json:"errors"` // old, new, over every round
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "sidebyside: "+format+"\n", a...) }
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "sidebyside-")
		if err != nil {
			return err
		}
		dir = d
		if !cfg.Keep {
			defer os.RemoveAll(dir)
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	sides, err := prepareSides(ctx, cfg, dir, progress)
	if err != nil {
		return err
	}
	old, nw := sides[0], sides[1]
	sum := summary{Started: time.Now().UTC().Truncate(time.Second), Mode: "in-process", Old: old.rev, New: nw.rev, Flags: cfg.Bench,
		Extra: map[string]string{"old": strings.Join(cfg.OldFlags, " "), "new": strings.Join(cfg.NewFlags, " ")}}

	// Each side's arguments: its flags only (in process), or the new
	// client's against its server (HTTP).
	args := map[string][]string{}
	if cfg.HTTP {
		sum.Mode = "http"
		sum.Servers = map[string]string{}
		for _, s := range sides {
			env := append(append(serverEnv(filepath.Join(dir, s.name+"-server"), cfg.AdminToken), cfg.Env...), s.env...)
			progress("%s: starting %s", s.name, s.serverBin())
			srv, err := startServer(ctx, s.serverBin(), filepath.Join(dir, s.name+"-server"), env)
			if err != nil {
				return fmt.Errorf("%s server: %w", s.name, err)
			}
			s.server = srv
			defer srv.stop()
			sum.Servers[s.name] = fmt.Sprintf("%s (pid %d)", srv.url, srv.pid)
			kept, dropped := adapt(append(append([]string(nil), cfg.Bench...), s.extra...), nw.flags, old.flags)
			if len(dropped) > 0 {
				return fmt.Errorf("the new usersbench does not know %s", strings.Join(dropped, " "))
			}
			args[s.name] = append([]string{"-http", srv.url, "-admin-token", cfg.AdminToken, "-maillog", srv.mailLog,
				"-pid", strconv.Itoa(srv.pid), "-json"}, kept...)
		}
	} else {
		sum.Dropped = map[string]string{}
		for _, s := range sides {
			other := old.flags
			if s == old {
				other = nw.flags
			}
			kept, dropped := adapt(append(append([]string(nil), cfg.Bench...), s.extra...), s.flags, other)
			if len(dropped) > 0 {
				sum.Dropped[s.name] = strings.Join(dropped, " ")
				progress("%s: its usersbench does not know %s: left out of its runs", s.name, sum.Dropped[s.name])
			}
			args[s.name] = append([]string{"-json"}, kept...)
		}
	}

	sum.LoadStart = loadAvg()
	logDir := filepath.Join(dir, "runs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	for i := 1; i <= cfg.Rounds; i++ {
		order := []*side{old, nw}
		if i%2 == 0 {
			order = []*side{nw, old}
		}
		for _, s := range order {
			bin := s.usersbench()
			if cfg.HTTP {
				bin = nw.usersbench() // one client for both servers
			}
			progress("round %d of %d: %s (load %s)", i, cfg.Rounds, s.name, loadAvg())
			r, err := runBench(ctx, bin, args[s.name], filepath.Join(logDir, fmt.Sprintf("%d-%s.err", i, s.name)))
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", i, s.name, err)
			}
			r.Round, r.Side = i, s.name
			sum.Rounds = append(sum.Rounds, r)
		}
	}
	sum.LoadEnd = loadAvg()
	sum.Ops = summarize(sum.Rounds)
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return sum.writeTable(stdout)
}

// prepareSides builds (or finds) the two sides' binaries and reads their
// usersbench flags.
func prepareSides(ctx context.Context, cfg config, dir string, progress func(string, ...any)) ([2]*side, error) {
	var sides [2]*side
	var root string
	for i, sp := range []struct{ name, rev, bin string }{{"old", cfg.Old, cfg.OldBin}, {"new", cfg.New, cfg.NewBin}} {
		var s *side
		if sp.bin != "" {
			abs, err := filepath.Abs(sp.bin)
			if err != nil {
				return sides, err
			}
			s = &side{name: sp.name, rev: "binaries in " + abs, bin: abs}
		} else {
			if root == "" {
				r, err := moduleRoot(ctx)
				if err != nil {
					return sides, err
				}
				root = r
			}
			b, err := build(ctx, root, dir, sp.name, sp.rev, cfg.HTTP, progress)
			if err != nil {
				return sides, err
			}
			s = b
		}
		flags, err := readFlags(ctx, s.usersbench())
		if err != nil {
			return sides, err
		}
		s.flags = flags
		s.env, s.extra = cfg.OldEnv, cfg.OldFlags
		if sp.name == "new" {
			s.env, s.extra = cfg.NewEnv, cfg.NewFlags
		}
		sides[i] = s
	}
	return sides, nil
}

// runBench runs one usersbench and reads its JSON report; its stderr goes
// to errPath.
func runBench(ctx context.Context, bin string, args []string, errPath string) (round, error) {
	f, err := os.Create(errPath)
	if err != nil {
		return round{}, err
	}
	defer f.Close()
	load := loadAvg()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, f
	if err := cmd.Run(); err != nil {
		tail, _ := os.ReadFile(errPath)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return round{}, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, tail)
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return round{}, fmt.Errorf("%s: reading its JSON report: %w", bin, err)
	}
	if len(rep.Results) == 0 {
		return round{}, errors.New(bin + ": the report has no result")
	}
	return round{Load: load, Results: rep.Results}, nil
}

// summarize computes, per operation in the order first seen, each side's
// median rate and the ratio new/old.
func summarize(rounds []round) []opSummary {
	type key struct{ op, side string }
	rates := map[key][]float64{}
	p50s := map[key][]float64{}
	cpus := map[key][]float64{}
	errs := map[key]int{}
	byRound := map[int]map[key]float64{}
	var ops []string
	for _, r := range rounds {
		if byRound[r.Round] == nil {
			byRound[r.Round] = map[key]float64{}
		}
		for _, x := range r.Results {
			k := key{x.Op, r.Side}
			if !slices.Contains(ops, x.Op) {
				ops = append(ops, x.Op)
			}
			rates[k] = append(rates[k], x.OpsPerSec)
			p50s[k] = append(p50s[k], x.P50ms)
			if x.CPUPerOpMs > 0 {
				cpus[k] = append(cpus[k], x.CPUPerOpMs)
			}
			errs[k] += x.Errors
			byRound[r.Round][k] = x.OpsPerSec
		}
	}
	var out []opSummary
	for _, op := range ops {
		o, n := key{op, "old"}, key{op, "new"}
		s := opSummary{Op: op, Old: median(rates[o]), New: median(rates[n]), OldRange: span(rates[o]), NewRange: span(rates[n]),
			OldP50: median(p50s[o]), NewP50: median(p50s[n]), OldCPU: median(cpus[o]), NewCPU: median(cpus[n]),
			Errors: [2]int{errs[o], errs[n]}}
		if s.Old > 0 {
			s.Ratio = s.New / s.Old
		}
		var ratios []float64
		for _, rr := range byRound {
			if a, b := rr[o], rr[n]; a > 0 && b > 0 {
				ratios = append(ratios, b/a)
			}
		}
		s.RatioRange = span(ratios)
		out = append(out, s)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func span(xs []float64) [2]float64 {
	if len(xs) == 0 {
		return [2]float64{}
	}
	return [2]float64{slices.Min(xs), slices.Max(xs)}
}

func (s summary) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "sidebyside  %s  mode %s  rounds %d (alternating, ABBA)\n", s.Started.Format(time.RFC3339), s.Mode, len(s.Rounds)/2)
	fmt.Fprintf(w, "old %s\nnew %s\n", s.Old, s.New)
	for _, name := range []string{"old", "new"} {
		if u := s.Servers[name]; u != "" {
			fmt.Fprintf(w, "%s server %s\n", name, u)
		}
	}
	fmt.Fprintf(w, "usersbench flags: %s\n", strings.Join(s.Flags, " "))
	for _, name := range []string{"old", "new"} {
		if f := s.Extra[name]; f != "" {
			fmt.Fprintf(w, "%s side only: %s\n", name, f)
		}
	}
	for _, name := range []string{"old", "new"} {
		if d := s.Dropped[name]; d != "" {
			fmt.Fprintf(w, "left out of the %s side's runs (its usersbench does not know them): %s\n", name, d)
		}
	}
	fmt.Fprintf(w, "load average at start %s, at end %s\n\n", s.LoadStart, s.LoadEnd)
	fmt.Fprintf(w, "| op | old ops/s median [min-max] | new ops/s median [min-max] | new / old [rounds' min-max] | p50 ms old / new | CPU ms/op old / new | errors old / new |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|\n")
	for _, o := range s.Ops {
		if o.Old == 0 || o.New == 0 {
			// An operation one side did not run (-old-flags, -new-flags).
			side, r := "new", o.New
			if o.New == 0 {
				side, r = "old", o.Old
			}
			fmt.Fprintf(w, "| %s | %s only: %.0f ops/s | | | | | |\n", o.Op, side, r)
			continue
		}
		fmt.Fprintf(w, "| %s | %.0f [%.0f-%.0f] | %.0f [%.0f-%.0f] | **%.2f** [%.2f-%.2f] | %.2f / %.2f | %s / %s | %d / %d |\n",
			o.Op, o.Old, o.OldRange[0], o.OldRange[1], o.New, o.NewRange[0], o.NewRange[1],
			o.Ratio, o.RatioRange[0], o.RatioRange[1], o.OldP50, o.NewP50, cpuCell(o.OldCPU), cpuCell(o.NewCPU), o.Errors[0], o.Errors[1])
	}
	return nil
}

// cpuCell shows a CPU time per operation, or "-" when the side's
// usersbench does not report it.
func cpuCell(ms float64) string {
	if ms <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", ms)
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
