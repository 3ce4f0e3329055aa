package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"

	"stampede/strategies"
)

func newStrategiesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "strategies",
		Short: "List the retry strategies with their formula and first delays",
		Args:  positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			t := table.NewWriter()
			t.SetStyle(table.StyleLight)
			t.AppendHeader(table.Row{"name", "pause before retry n", "n = 1..6 (base 100ms, cap 20s, draw u = 0.5)", "source"})
			for _, f := range strategies.Families() {
				t.AppendRow(table.Row{f.Name, f.Formula, firstDelays(f, 6), f.Source})
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), t.Render())
			return err
		},
	}
}

// firstDelays renders the first n pauses of a family with every draw at 0.5.
func firstDelays(f strategies.Family, n int) string {
	if !f.Retries {
		return "—"
	}
	b := f.New(strategies.BackoffSpec{Base: 100 * time.Millisecond}.WithDefaults())
	var out []string
	memo := 0.0
	for i := 1; i <= n; i++ {
		var d time.Duration
		d, memo = b.Delay(strategies.Step{N: i, Memo: memo, U: 0.5})
		out = append(out, d.Round(time.Millisecond).String())
	}
	return strings.Join(out, " ")
}
