package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"stampede/scenarios"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|NAME...",
		Short: "Check scenario files without running them",
		Args:  positional(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var errs []error
			for _, a := range args {
				s, err := scenarios.Load(a)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if s.Clash != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "note:", s.Clash)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d strategies, %s fleet, %v)\n", s.File, len(s.Strategies), fleetKind(s), s.Duration)
			}
			return errors.Join(errs...)
		},
	}
}

func fleetKind(s *scenarios.Scenario) string {
	if s.Fleet.Kind == "" {
		return "closed"
	}
	return s.Fleet.Kind
}
