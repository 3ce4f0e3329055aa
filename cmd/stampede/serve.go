package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"stampede/fakeserver"
	"stampede/scenarios"
)

// adminTokenEnv names the environment variable that holds the control API's token.
const adminTokenEnv = "STAMPEDE_ADMIN_TOKEN"

func newServeCmd() *cobra.Command {
	var (
		addr    string
		dialect string
		token   string
		seed    uint64
		keys    int
		maxBody int64
		grace   time.Duration
		verbose bool
		conns   int
		bodyTO  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve [FILE|NAME]",
		Short: "Serve a scenario's server over HTTP on the real clock",
		Long: "Serve the server of a scenario (a YAML file, or the name of a shipped one; default " + scenarios.Default + ") over HTTP,\n" +
			"with its capacity, queue, rate limits and faults on the real clock, in the API dialect of server.dialect\n" +
			"(" + strings.Join(fakeserver.Dialects(), ", ") + "; by default each request's path picks: /v1/messages is\n" +
			"Anthropic's, /v1/chat/completions OpenAI's, anything else plain). Both LLM dialects stream (\"stream\": true).\n" +
			"Point any client or SDK at it (ANTHROPIC_BASE_URL=http://ADDR, OPENAI_BASE_URL=http://ADDR/v1) and watch it retry.\n" +
			"Also served: /metrics (Prometheus) and the control API /_stampede/{state,faults,reset}.\n" +
			"Stops on SIGINT or SIGTERM and prints what it served.",
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := loadScenario(cmd, args, seed)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("keys") {
				keys = max(keys, s.Fleet.Keys)
			}
			if !cmd.Flags().Changed("admin-token") {
				token = os.Getenv(adminTokenEnv)
			}
			opts := fakeserver.Options{Dialect: dialect, Seed: s.Seed, AdminToken: token, Keys: keys, MaxBodyBytes: maxBody, BodyTimeout: bodyTO}
			if verbose {
				opts.OnAttempt = func(a fakeserver.Attempt) { fmt.Fprintln(cmd.ErrOrStderr(), a) }
			}
			// A panic in the server is a bug: serve stops and exits with status 3, naming it.
			ctx, stop := context.WithCancel(cmd.Context())
			defer stop()
			var bugs = make(chan error, 1)
			opts.OnBug = func(err error) {
				select {
				case bugs <- err:
				default:
				}
				stop()
			}
			h, err := fakeserver.NewHandler(s.Server, opts)
			if err != nil {
				return &usageError{err}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "stampede: serving %s (%s dialect) on http://%s\n", s.Name, h.DialectName(), ln.Addr())
			fmt.Fprintf(out, "  metrics: http://%s/metrics   control: http://%s/_stampede/state\n", ln.Addr(), ln.Addr())
			err = fakeserver.ServeWith(ctx, ln, h, fakeserver.ServeOptions{Grace: grace, MaxConns: conns})
			fmt.Fprint(out, h.Summary())
			select {
			case b := <-bugs:
				return errors.Join(b, err)
			default:
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (loopback by default)")
	f.StringVar(&dialect, "dialect", "", "API dialect, overriding the scenario's server.dialect: "+strings.Join(fakeserver.Dialects(), ", ")+" (auto: the request path picks)")
	// The default is read when the command runs, never shown: help text must not print a secret.
	f.StringVar(&token, "admin-token", "", "token that lets non-loopback peers use /_stampede/ (Authorization: Bearer TOKEN; default $"+adminTokenEnv+")")
	f.Uint64Var(&seed, "seed", 0, "seed of the model and the ids (default: the scenario's)")
	f.IntVar(&keys, "keys", fakeserver.DefaultKeys, "API keys told apart for per-key rate limits (default: 64, or the scenario's fleet.keys if more)")
	f.Int64Var(&maxBody, "max-body", fakeserver.DefaultMaxBodyBytes, "request body limit in bytes")
	f.DurationVar(&grace, "grace", 5*time.Second, "how long a shutdown waits for answers in progress")
	f.BoolVarP(&verbose, "verbose", "v", false, "print one line per request to stderr (what clients sent is escaped)")
	f.IntVar(&conns, "max-conns", 0, fmt.Sprintf("connections open at most; past it the oldest idle or slow one is closed, and %d are kept for /metrics and the control API (default: the open-file limit less 64, here %d)", fakeserver.DefaultConnReserve, fakeserver.DefaultMaxConns()))
	f.DurationVar(&bodyTO, "body-timeout", fakeserver.DefaultBodyTimeout, "how long a client may take to send a request body (then 408)")
	return cmd
}
