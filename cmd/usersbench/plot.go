package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Plot files a soak run writes (-plot).
const (
	plotThroughput = "soak-throughput.png"
	plotLatency    = "soak-latency.png"
	plotRSS        = "soak-rss.png"
	plotBacklog    = "soak-backlog.png"
)

var (
	colServed  = color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff}
	colShed    = color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}
	colOffered = color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff}
	colTarget  = color.RGBA{R: 0x66, G: 0x66, B: 0x66, A: 0xff}
)

// replot draws the soak report in file (-json output of -soak) to dir,
// and prints its table to w.
func replot(file, dir string, w io.Writer) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var rep soakReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(rep.Intervals) == 0 {
		return fmt.Errorf("%s: no intervals: not a soak report", file)
	}
	if err := plotSoak(&rep, dir); err != nil {
		return err
	}
	return rep.write(w)
}

// plotSoak writes the soak's throughput, latency, RSS and backlog over
// time as PNGs to dir.
func plotSoak(rep *soakReport, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	step := 10.0
	if len(rep.Intervals) > 1 {
		step = rep.Intervals[1].StartS - rep.Intervals[0].StartS
	}
	title := fmt.Sprintf("%d registrations over %s, argon2id %s (%s)", rep.N, rep.D, rep.Hasher, rep.Started.Format("2006-01-02 15:04 UTC"))
	series := func(f func(soakInterval) (float64, bool)) plotter.XYs {
		var xy plotter.XYs
		for _, iv := range rep.Intervals {
			if y, ok := f(iv); ok {
				xy = append(xy, plotter.XY{X: iv.StartS + step/2, Y: y})
			}
		}
		return xy
	}
	perSec := func(n int) (float64, bool) { return float64(n) / step, true }

	// Throughput.
	lines := []namedLine{
		{"offered /s", series(func(iv soakInterval) (float64, bool) { return perSec(iv.Offered) }), colOffered, true},
		{"served /s", series(func(iv soakInterval) (float64, bool) { return perSec(iv.Served) }), colServed, false},
		{"shed /s (503)", series(func(iv soakInterval) (float64, bool) { return perSec(iv.Shed) }), colShed, false},
	}
	if rep.Ceiling != nil && rep.Ceiling.OpsPerSec > 0 {
		c := rep.Ceiling.OpsPerSec
		lines = append(lines, namedLine{"hash ceiling /s", flat(rep, step, c), colTarget, true})
	}
	if err := savePlot(filepath.Join(dir, plotThroughput), "Throughput: "+title, "registrations / s", false, lines); err != nil {
		return err
	}

	// Latency, log scale (served answers take seconds, shed ones ms).
	pos := func(v float64) (float64, bool) { return v, v > 0 }
	lines = []namedLine{
		{"served p50", series(func(iv soakInterval) (float64, bool) { return pos(iv.ServedP50ms) }), colServed, true},
		{"served p99", series(func(iv soakInterval) (float64, bool) { return pos(iv.ServedP99ms) }), colServed, false},
		{"shed p50", series(func(iv soakInterval) (float64, bool) { return pos(iv.ShedP50ms) }), colShed, true},
		{"shed p99", series(func(iv soakInterval) (float64, bool) { return pos(iv.ShedP99ms) }), colShed, false},
		{"targets: served p99 6 s, shed p99 50 ms", append(flat(rep, step, 6000), flat(rep, step, 50)...), colTarget, true},
	}
	if err := savePlot(filepath.Join(dir, plotLatency), "Latency: "+title, "ms (log scale)", true, lines); err != nil {
		return err
	}

	// RSS.
	lines = []namedLine{
		{"RSS at the interval's end", series(func(iv soakInterval) (float64, bool) { return iv.RSSMiB, iv.RSSMiB > 0 }), colServed, false},
		{"peak RSS in the interval", series(func(iv soakInterval) (float64, bool) { return iv.PeakRSSMiB, iv.PeakRSSMiB > 0 }), colShed, true},
		{"target 400 MiB", flat(rep, step, 400), colTarget, true},
	}
	if err := savePlot(filepath.Join(dir, plotRSS), "Server RSS: "+title, "MiB", false, lines); err != nil {
		return err
	}

	// Outbox backlog.
	lines = []namedLine{
		{"mails pending in the outbox", series(func(iv soakInterval) (float64, bool) { return float64(iv.Backlog), iv.Backlog >= 0 }), colOffered, false},
	}
	return savePlot(filepath.Join(dir, plotBacklog), "Outbox backlog: "+title, "mails", false, lines)
}

// flat is a horizontal line at y over the run.
func flat(rep *soakReport, step, y float64) plotter.XYs {
	last := rep.Intervals[len(rep.Intervals)-1].StartS + step
	return plotter.XYs{{X: 0, Y: y}, {X: last, Y: y}}
}

type namedLine struct {
	name   string
	xy     plotter.XYs
	color  color.Color
	dashed bool
}

func savePlot(path, title, ylabel string, logY bool, lines []namedLine) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time since the start (s)"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Min = 0
	}
	for _, l := range lines {
		if len(l.xy) == 0 {
			continue
		}
		if l.name == "targets: served p99 6 s, shed p99 50 ms" {
			// Two separate segments.
			for i := 0; i+1 < len(l.xy); i += 2 {
				ln, err := plotter.NewLine(l.xy[i : i+2])
				if err != nil {
					return err
				}
				styleLine(ln, l)
				p.Add(ln)
				if i == 0 {
					p.Legend.Add(l.name, ln)
				}
			}
			continue
		}
		ln, err := plotter.NewLine(l.xy)
		if err != nil {
			return err
		}
		styleLine(ln, l)
		p.Add(ln)
		p.Legend.Add(l.name, ln)
	}
	// Head room above the highest line for the legend.
	top := 0.0
	for _, l := range lines {
		for _, pt := range l.xy {
			top = max(top, pt.Y)
		}
	}
	if top > 0 {
		if logY {
			p.Y.Max = top * 8
		} else {
			p.Y.Max = top * 1.35
		}
	}
	return p.Save(10*vg.Inch, 4.5*vg.Inch, path)
}

func styleLine(ln *plotter.Line, l namedLine) {
	ln.Color = l.color
	ln.Width = vg.Points(1.5)
	if l.dashed {
		ln.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	ln.StepStyle = plotter.NoStep
}
