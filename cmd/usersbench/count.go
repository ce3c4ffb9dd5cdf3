package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// countFlows are the flows -count-statements runs, in order. Each is run
// -count-n times one after the other (no concurrency: the counts are the
// flow's own, without retries), after an untimed, uncounted setup (the
// users, tokens and sessions it needs).
var countFlows = []string{"register", "verify", "invite", "accept", "login", "refresh", "reset-request", "reset", "deliver"}

// flowCount is what one flow sent to the store, per operation.
type flowCount struct {
	Flow       string      `json:"flow"`
	Ops        int         `json:"ops"`
	Statements float64     `json:"statements_per_op"`
	ByVerb     []verbCount `json:"by_verb"`
	Rows       float64     `json:"rows_written_per_op"`
	RowsKnown  bool        `json:"rows_known"`
	// WALPages and Commits (SQLite only): the pages the flow's commits
	// wrote to the write-ahead log, and its commits, per operation.
	WALPages float64     `json:"wal_pages_per_op,omitempty"`
	Commits  float64     `json:"commits_per_op,omitempty"`
	Detail   []stmtCount `json:"statements"` // totals over Ops
}

type verbCount struct {
	Verb string  `json:"verb"`
	N    float64 `json:"per_op"`
}

type countReport struct {
	Started    time.Time   `json:"started"`
	Store      string      `json:"store"`
	LoadBefore string      `json:"loadavg_before"`
	Flows      []flowCount `json:"flows"`
}

// runCount is -count-statements: the store's statements and rows written
// per operation of each flow.
func runCount(ctx context.Context, cfg config, stdout io.Writer) error {
	d := &inproc{cfg: cfg, seq: newEmailSeq(), counter: newSQLCounter()}
	defer d.close()
	if cfg.Store == "memory" {
		return fmt.Errorf("-count-statements needs a SQL store (sqlite, pg or mysql)")
	}
	if err := d.openStore(ctx); err != nil {
		return err
	}
	k, err := newFlowKit(ctx, d.store, d.seq, cfg.Password)
	if err != nil {
		return err
	}
	rep := countReport{Started: time.Now().UTC().Truncate(time.Second), Store: d.describe(), LoadBefore: loadAvg()}
	for _, flow := range countFlows {
		fc, err := countFlow(ctx, k, d.counter, d.wal, flow, cfg.CountN)
		if err != nil {
			return fmt.Errorf("%s: %w", flow, err)
		}
		rep.Flows = append(rep.Flows, fc)
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.write(stdout, cfg.Verbose)
}

// countFlow sets flow up for n operations, then counts what n of them
// send and, with wal, the pages they write.
func countFlow(ctx context.Context, k *flowKit, c *sqlCounter, wal *walMeter, flow string, n int) (flowCount, error) {
	emails := make([]string, n)
	for i := range emails {
		emails[i] = k.seq.next()
	}
	var (
		toks []string
		op   func(ctx context.Context, i int) error
		ops  = n
		err  error
	)
	// mailed runs do for each address, delivers the mail and reads the
	// tokens.
	mailed := func(do func(context.Context, string) error) error {
		for _, e := range emails {
			if err := do(ctx, e); err != nil {
				return err
			}
		}
		if _, err := k.deliver(ctx); err != nil {
			return err
		}
		toks, err = k.tokens(emails)
		return err
	}
	switch flow {
	case "register":
		op = func(ctx context.Context, i int) error { return k.register(ctx, emails[i]) }
	case "verify":
		err = mailed(k.register)
		op = func(ctx context.Context, i int) error { return k.verify(ctx, toks[i]) }
	case "invite":
		op = func(ctx context.Context, i int) error { return k.invite(ctx, emails[i]) }
	case "accept":
		err = mailed(func(ctx context.Context, e string) error { return k.invite(ctx, e) })
		op = func(ctx context.Context, i int) error { return k.accept(ctx, toks[i]) }
	case "login":
		err = each(ctx, emails, k.createActive)
		op = func(ctx context.Context, i int) error { _, err := k.login(ctx, emails[i]); return err }
	case "refresh":
		err = each(ctx, emails, k.createActive)
		toks = make([]string, n)
		for i := 0; err == nil && i < n; i++ {
			toks[i], err = k.login(ctx, emails[i])
		}
		op = func(ctx context.Context, i int) error { _, err := k.refresh(ctx, toks[i]); return err }
	case "reset-request":
		err = each(ctx, emails, k.createActive)
		op = func(ctx context.Context, i int) error { return k.requestReset(ctx, emails[i]) }
	case "reset":
		err = each(ctx, emails, k.createActive)
		if err == nil {
			err = mailed(k.requestReset)
		}
		op = func(ctx context.Context, i int) error { return k.reset(ctx, toks[i]) }
	case "deliver":
		// n mails queued by registrations, then delivered in one call:
		// the statements per mail delivered.
		err = each(ctx, emails, k.register)
		ops = 1
		op = func(ctx context.Context, _ int) error {
			sent, err := k.deliver(ctx)
			if err == nil && sent != n {
				err = fmt.Errorf("delivered %d mails, want %d", sent, n)
			}
			return err
		}
	default:
		return flowCount{}, fmt.Errorf("unknown flow %q", flow)
	}
	if err != nil {
		return flowCount{}, fmt.Errorf("setup: %w", err)
	}
	if wal != nil {
		if err := wal.reset(ctx); err != nil {
			return flowCount{}, err
		}
	}
	c.take()
	c.on.Store(true)
	for i := range ops {
		if err := op(ctx, i); err != nil {
			c.on.Store(false)
			return flowCount{}, err
		}
	}
	c.on.Store(false)
	fc := tally(flow, n, c.take())
	if wal != nil {
		wc, err := wal.read()
		if err != nil {
			return flowCount{}, err
		}
		fc.WALPages, fc.Commits = float64(wc.Frames)/float64(n), float64(wc.Commits)/float64(n)
		if dump := os.Getenv("USERSBENCH_WAL_DUMP"); dump != "" {
			if err := dumpWAL(wal, dump, flow); err != nil {
				return flowCount{}, err
			}
		}
	}
	return fc, nil
}

func each(ctx context.Context, emails []string, do func(context.Context, string) error) error {
	for _, e := range emails {
		if err := do(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// verbOrder is the order of the per-verb columns.
var verbOrder = []string{"BEGIN", "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "COMMIT", "ROLLBACK"}

// tally turns the statements counted over n operations into per-operation
// figures.
func tally(flow string, n int, stmts []stmtCount) flowCount {
	fc := flowCount{Flow: flow, Ops: n, RowsKnown: true, Detail: stmts}
	verbs := map[string]int64{}
	var total, rows int64
	for _, s := range stmts {
		total += s.N
		rows += s.Rows
		fc.RowsKnown = fc.RowsKnown && s.Known
		v := s.Verb
		known := false
		for _, o := range verbOrder {
			known = known || v == o
		}
		if !known {
			v = "other"
		}
		verbs[v] += s.N
	}
	for _, v := range append(verbOrder, "other") {
		if verbs[v] > 0 {
			fc.ByVerb = append(fc.ByVerb, verbCount{Verb: v, N: float64(verbs[v]) / float64(n)})
		}
	}
	fc.Statements = float64(total) / float64(n)
	fc.Rows = float64(rows) / float64(n)
	return fc
}

func (r countReport) write(w io.Writer, verbose bool) error {
	fmt.Fprintf(w, "usersbench -count-statements  %s  store %s  load average %s\n", r.Started.Format(time.RFC3339), r.Store, r.LoadBefore)
	fmt.Fprintf(w, "per operation, over %d operations of each flow, one at a time (fake hasher; deliver: per mail)\n\n", firstOps(r.Flows))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "flow\tstatements\t")
	for _, v := range append(verbOrder, "other") {
		fmt.Fprintf(tw, "%s\t", v)
	}
	fmt.Fprint(tw, "rows written\t")
	if len(r.Flows) > 0 && r.Flows[0].Commits > 0 {
		fmt.Fprint(tw, "WAL pages\tcommits\t")
	}
	fmt.Fprintln(tw)
	for _, f := range r.Flows {
		fmt.Fprintf(tw, "%s\t%.2f\t", f.Flow, f.Statements)
		per := map[string]float64{}
		for _, v := range f.ByVerb {
			per[v.Verb] = v.N
		}
		for _, v := range append(verbOrder, "other") {
			if per[v] == 0 {
				fmt.Fprint(tw, "-\t")
			} else {
				fmt.Fprintf(tw, "%.2f\t", per[v])
			}
		}
		rows := fmt.Sprintf("%.2f", f.Rows)
		if !f.RowsKnown {
			rows += " (some unknown)"
		}
		fmt.Fprintf(tw, "%s\t", rows)
		if f.Commits > 0 {
			fmt.Fprintf(tw, "%.2f\t%.2f\t", f.WALPages, f.Commits)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !verbose {
		return nil
	}
	for _, f := range r.Flows {
		fmt.Fprintf(w, "\n%s (per operation: executions, rows written):\n", f.Flow)
		for _, s := range f.Detail {
			text := s.Text
			if len(text) > 160 {
				text = text[:160] + "…"
			}
			fmt.Fprintf(w, "  %6.2f  %6.2f  %s\n", float64(s.N)/float64(f.Ops), float64(s.Rows)/float64(f.Ops), strings.ReplaceAll(text, "\n", " "))
		}
	}
	return nil
}

func firstOps(fs []flowCount) int {
	if len(fs) == 0 {
		return 0
	}
	return fs[0].Ops
}
