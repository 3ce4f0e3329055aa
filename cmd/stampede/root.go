package main

import (
	"github.com/spf13/cobra"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "stampede",
		Short:         "Load-test and chaos simulator for client retry strategies",
		Long:          "stampede runs fleets of clients with different retry strategies against a rate-limited, overloadable API\n(simulated in virtual time, or for real over HTTP) and shows which strategy gets the work done without a herd.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       readBuild().String(), // --version prints what `stampede version` prints
	}
	root.SetVersionTemplate("{{.Version}}")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newRunCmd(), newFleetCmd(), newServeCmd(), newProxyCmd(), newCtlCmd(), newTuneCmd(), newMergeCmd(), newReportCmd(), newValidateCmd(), newStrategiesCmd(), newVersionCmd())
	addCompletions(root)
	return root
}

// positional wraps an args validator so that its error exits with the usage status.
func positional(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}
