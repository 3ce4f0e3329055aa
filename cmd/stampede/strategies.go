package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"stampede/reports"
	"stampede/strategies"
)

func newStrategiesCmd() *cobra.Command {
	var wide bool
	cmd := &cobra.Command{
		Use:   "strategies [NAME]",
		Short: "List the SDK presets, backoff families, guards and Retry-After policies, or show one in full",
		Long: "Without NAME, lists the catalogue: SDK presets, backoff families with their formula and first pauses,\n" +
			"guards that limit retries across a client's requests, and Retry-After policies.\n" +
			"With NAME (e.g. anthropic-python, full-jitter, token-bucket, honor-capped; backoff/stripe to pick a kind),\n" +
			"shows everything about it: formula, source, statuses, Retry-After behaviour, guards, pauses for draws 0, 0.5 and 0.999.\n" +
			"The tables fit the terminal (its width, else $COLUMNS, else 100 columns); --wide prints them whole.",
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			l := layout(cmd.OutOrStdout(), wide)
			if len(args) == 1 {
				entries, err := strategies.Describe(args[0])
				if err != nil {
					return &usageError{err}
				}
				return writeEntries(cmd.OutOrStdout(), entries, l)
			}
			return writeCatalogue(cmd.OutOrStdout(), strategies.Catalogue(), l)
		},
	}
	cmd.Flags().BoolVar(&wide, "wide", false, "print every column whole, whatever the terminal's width")
	return cmd
}

// writeCatalogue renders one table per kind, each fitted to l: the formulas and sources wrap, and on a narrow
// terminal the first pauses, then the sources, are left out (a note says so).
func writeCatalogue(w io.Writer, all []strategies.Entry, l reports.Layout) error {
	sections := []struct {
		kind, title, formula, delays string
	}{
		{strategies.KindPreset, "SDK presets (stampede strategies NAME for the details)", "what it does", "first pauses, draw u = 0.5"},
		{strategies.KindBackoff, "Backoff families (at their defaults: base 100ms, cap 20s unless the family has its own)", "pause before retry n", "n = 1..6, draw u = 0.5"},
		{strategies.KindGuard, "Guards: limits across a client's requests", "rule", ""},
		{strategies.KindRetryAfter, "Retry-After policies", "what the client waits", ""},
	}
	for _, sec := range sections {
		g := reports.Grid{Header: []string{"name", sec.formula}, Cols: []reports.Col{{}, {Wrap: true}}}
		if sec.delays != "" {
			g.Header = append(g.Header, sec.delays)
			g.Cols = append(g.Cols, reports.Col{Wrap: true, Drop: 2})
		}
		g.Header = append(g.Header, "source")
		g.Cols = append(g.Cols, reports.Col{Wrap: true, Drop: 1})
		for _, e := range all {
			if e.Kind != sec.kind {
				continue
			}
			row := []string{e.Name, e.Formula}
			if sec.delays != "" {
				row = append(row, strategies.FormatDelays(e.Delays))
			}
			g.Rows = append(g.Rows, append(row, e.Source))
		}
		tbl, dropped := g.Fit(l)
		note := ""
		if len(dropped) > 0 {
			note = reports.WrapText(fmt.Sprintf("(left out to fit %d columns: %s; --wide shows them, stampede strategies NAME shows everything)",
				l.Width, strings.Join(dropped, ", ")), l.Width, 0, "") + "\n"
		}
		if _, err := fmt.Fprintf(w, "%s\n%s\n%s", reports.WrapText(sec.title, l.Width, 0, ""), tbl, note); err != nil {
			return err
		}
	}
	return nil
}

// writeEntries renders full descriptions as label: value lines, the values wrapped to l's width under
// themselves.
func writeEntries(w io.Writer, entries []strategies.Entry, l reports.Layout) error {
	width := l.Width
	if l.Wide {
		width = 1 << 30
	}
	for i, e := range entries {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s)\n", e.Name, e.Kind)
		lw := 0
		for _, d := range e.Details {
			lw = max(lw, len([]rune(d.Label)))
		}
		for _, d := range e.Details {
			head := "  " + d.Label + strings.Repeat(" ", lw-len([]rune(d.Label))) + "  "
			if _, err := fmt.Fprintf(w, "%s%s\n", head, reports.WrapText(d.Value, width, len([]rune(head)), strings.Repeat(" ", len([]rune(head))))); err != nil {
				return err
			}
		}
	}
	return nil
}
