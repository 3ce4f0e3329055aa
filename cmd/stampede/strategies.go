package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"stampede/strategies"
)

func newStrategiesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "strategies [NAME]",
		Short: "List the SDK presets, backoff families, guards and Retry-After policies, or show one in full",
		Long: "Without NAME, lists the catalogue: SDK presets, backoff families with their formula and first pauses,\n" +
			"guards that limit retries across a client's requests, and Retry-After policies.\n" +
			"With NAME (e.g. anthropic-python, full-jitter, token-bucket, honor-capped; backoff/stripe to pick a kind),\n" +
			"shows everything about it: formula, source, statuses, Retry-After behaviour, guards, pauses for draws 0, 0.5 and 0.999.",
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				entries, err := strategies.Describe(args[0])
				if err != nil {
					return &usageError{err}
				}
				return writeEntries(cmd.OutOrStdout(), entries)
			}
			return writeCatalogue(cmd.OutOrStdout(), strategies.Catalogue())
		},
	}
}

// writeCatalogue renders one table per kind.
func writeCatalogue(w io.Writer, all []strategies.Entry) error {
	sections := []struct {
		kind, title, formula, delays string
	}{
		{strategies.KindPreset, "SDK presets (stampede strategies NAME for the details)", "what it does", "first pauses, draw u = 0.5"},
		{strategies.KindBackoff, "Backoff families (at their defaults: base 100ms, cap 20s unless the family has its own)", "pause before retry n", "n = 1..6, draw u = 0.5"},
		{strategies.KindGuard, "Guards: limits across a client's requests", "rule", ""},
		{strategies.KindRetryAfter, "Retry-After policies", "what the client waits", ""},
	}
	for _, sec := range sections {
		t := table.NewWriter()
		t.SetStyle(table.StyleLight)
		t.SetTitle(sec.title)
		if sec.delays != "" {
			t.AppendHeader(table.Row{"name", sec.formula, sec.delays, "source"})
		} else {
			t.AppendHeader(table.Row{"name", sec.formula, "source"})
		}
		for _, e := range all {
			if e.Kind != sec.kind {
				continue
			}
			if sec.delays != "" {
				t.AppendRow(table.Row{e.Name, e.Formula, strategies.FormatDelays(e.Delays), e.Source})
			} else {
				t.AppendRow(table.Row{e.Name, e.Formula, e.Source})
			}
		}
		if _, err := fmt.Fprintln(w, t.Render()); err != nil {
			return err
		}
	}
	return nil
}

// writeEntries renders full descriptions as label: value lines.
func writeEntries(w io.Writer, entries []strategies.Entry) error {
	for i, e := range entries {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s)\n", e.Name, e.Kind)
		width := 0
		for _, d := range e.Details {
			width = max(width, len([]rune(d.Label)))
		}
		for _, d := range e.Details {
			pad := strings.Repeat(" ", width-len([]rune(d.Label)))
			if _, err := fmt.Fprintf(w, "  %s%s  %s\n", d.Label, pad, d.Value); err != nil {
				return err
			}
		}
	}
	return nil
}
