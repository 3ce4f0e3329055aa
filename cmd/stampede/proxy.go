package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"stampede/fakeserver"
	"stampede/scenarios"
)

func newProxyCmd() *cobra.Command {
	var (
		o           serverFlags
		upstream    string
		allowRemote bool
	)
	cmd := &cobra.Command{
		Use:   "proxy [FILE|NAME] --upstream URL",
		Short: "Put a scenario's faults in front of a real HTTP service",
		Long: "Proxy HTTP to --upstream through the fault model of a scenario (a YAML file, or the name of a shipped one;\n" +
			"default " + scenarios.Default + "): its outages, fail-first, faults, rate limits, capacity and queue, and its\n" +
			"timeline decide each request as `serve` decides it. Refused requests are answered in the API dialect of\n" +
			"server.dialect (" + strings.Join(fakeserver.Dialects(), ", ") + "); admitted ones wait for the scenario's service_time (injected\n" +
			"latency; 0s for none), then go to the upstream, whose answer is passed on as it arrives (streams included).\n" +
			"A service unit stays busy until then: capacity bounds the requests upstream at once.\n" +
			"Also served: /metrics (Prometheus) and the control API /_stampede/{state,faults,requests,reset} (stampede ctl).\n" +
			"An upstream off the loopback interface needs --allow-remote.",
		Example: "  stampede proxy rate-limit-429 --upstream http://127.0.0.1:9000 --dialect anthropic\n" +
			"  ANTHROPIC_BASE_URL=http://127.0.0.1:8080 pytest tests/",
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if upstream == "" {
				return &usageError{fmt.Errorf("--upstream is required: the base URL of the service to proxy")}
			}
			u, err := fakeserver.ParseUpstream(upstream, allowRemote)
			if err != nil {
				return &usageError{fmt.Errorf("--upstream: %w", err)}
			}
			return o.serve(cmd, args, u)
		},
	}
	o.add(cmd)
	cmd.Flags().StringVar(&upstream, "upstream", "", "base URL of the service to proxy (http or https; a path is prefixed to every request's)")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow an --upstream that is not a loopback address")
	return cmd
}
