package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"stampede/fakeserver"
	"stampede/scenarios"
	"stampede/sim/tune"
)

func newServeCmd() *cobra.Command {
	var o serverFlags
	cmd := &cobra.Command{
		Use:   "serve [FILE|NAME]",
		Short: "Serve a scenario's server over HTTP on the real clock",
		Long: "Serve the server of a scenario (a YAML file, or the name of a shipped one; default " + scenarios.Default + ") over HTTP,\n" +
			"with its capacity, queue, rate limits and faults on the real clock, in the API dialect of server.dialect\n" +
			"(" + strings.Join(fakeserver.Dialects(), ", ") + "; by default each request's path picks: /v1/messages is\n" +
			"Anthropic's, /v1/chat/completions OpenAI's, anything else plain). Both LLM dialects stream (\"stream\": true).\n" +
			"Point any client or SDK at it (ANTHROPIC_BASE_URL=http://ADDR, OPENAI_BASE_URL=http://ADDR/v1) and watch it retry.\n" +
			"Also served: /metrics (Prometheus) and the control API /_stampede/{state,faults,requests,reset} (stampede ctl).\n" +
			"Listens on loopback unless --addr says otherwise (in a container: --addr 0.0.0.0:8080).\n" +
			"Stops on SIGINT or SIGTERM and prints what it served.",
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return o.serve(cmd, args, nil) },
	}
	o.add(cmd)
	return cmd
}

// serverFlags are the options of the commands that answer HTTP with a scenario's server: serve and proxy.
type serverFlags struct {
	addr    string
	dialect string
	token   string
	seed    uint64
	keys    int
	maxBody int64
	grace   time.Duration
	verbose bool
	set     overrides
	journal int
	bodies  int
	conns   int
	bodyTO  time.Duration
}

// adminTokenEnv names the environment variable that holds the control API's token.
const adminTokenEnv = "STAMPEDE_ADMIN_TOKEN"

func (o *serverFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (loopback by default; 0.0.0.0:8080 for every interface, as in a container)")
	f.StringVar(&o.dialect, "dialect", "", "API dialect, overriding the scenario's server.dialect: "+strings.Join(fakeserver.Dialects(), ", ")+" (auto: the request path picks)")
	// The default is read when the command runs, never shown: help text must not print a secret.
	f.StringVar(&o.token, "admin-token", "", "token that lets non-loopback peers use /_stampede/ (Authorization: Bearer TOKEN; default $"+adminTokenEnv+")")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the model and the ids (default: the scenario's)")
	f.IntVar(&o.keys, "keys", fakeserver.DefaultKeys, "API keys told apart for per-key rate limits (default: 64, or the scenario's fleet.keys if more)")
	f.Int64Var(&o.maxBody, "max-body", fakeserver.DefaultMaxBodyBytes, "request body limit in bytes")
	f.DurationVar(&o.grace, "grace", 5*time.Second, "how long a shutdown waits for answers in progress")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print one line per request to stderr (what clients sent is escaped)")
	f.IntVar(&o.conns, "max-conns", 0, fmt.Sprintf("connections open at most; past it the oldest idle or slow one is closed, and %d are kept for /metrics and the control API (default: the open-file limit less 64, here %d)", fakeserver.DefaultConnReserve, fakeserver.DefaultMaxConns()))
	f.DurationVar(&o.bodyTO, "body-timeout", fakeserver.DefaultBodyTimeout, "how long a client may take to send a request body (then 408)")
	f.IntVar(&o.journal, "journal", fakeserver.DefaultJournalSize, "how many of the last requests /_stampede/requests keeps (0: none)")
	f.IntVar(&o.bodies, "journal-bodies", 0, "bytes of each request body the journal keeps (default none: bodies may hold secrets)")
	o.set.add(cmd, tune.SetServer)
}

// serve answers HTTP with the server of the scenario args name until the command's context ends: the
// scenario's answers (upstream nil), or as a proxy in front of upstream.
func (o *serverFlags) serve(cmd *cobra.Command, args []string, upstream *url.URL) error {
	s, err := loadScenario(cmd, args, o.seed)
	if err != nil {
		return err
	}
	if err := o.set.apply(cmd, s); err != nil {
		return err
	}
	keys := o.keys
	if !cmd.Flags().Changed("keys") {
		keys = max(keys, s.Fleet.Keys)
	}
	token := o.token
	if !cmd.Flags().Changed("admin-token") {
		token = os.Getenv(adminTokenEnv)
	}
	journal := o.journal
	if journal <= 0 {
		journal = -1 // none
	}
	opts := fakeserver.Options{Dialect: o.dialect, Seed: s.Seed, AdminToken: token, Keys: keys, MaxBodyBytes: o.maxBody, Upstream: upstream,
		JournalSize: journal, JournalBodies: o.bodies, BodyTimeout: o.bodyTO}
	if o.verbose {
		opts.OnAttempt = func(a fakeserver.Attempt) { fmt.Fprintln(cmd.ErrOrStderr(), a) }
	}
	// A panic in the server is a bug: it stops and exits with status 3, naming it.
	ctx, stop := context.WithCancel(cmd.Context())
	defer stop()
	bugs := make(chan error, 1)
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
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		h.Close()
		return err
	}
	out := cmd.OutOrStdout()
	if upstream != nil {
		fmt.Fprintf(out, "stampede: proxying to %s with the faults of %s (%s dialect) on http://%s\n", upstream.Redacted(), s.Name, h.DialectName(), ln.Addr())
		if st := s.Server.ServiceTime; st != (fakeserver.Dist{}) && st != fakeserver.Constant(0) {
			fmt.Fprintf(out, "  each admitted request waits for the scenario's service_time before it goes upstream (server.service_time: 0s for none)\n")
		}
	} else {
		fmt.Fprintf(out, "stampede: serving %s (%s dialect) on http://%s\n", s.Name, h.DialectName(), ln.Addr())
	}
	if len(o.set.exprs) > 0 {
		fmt.Fprintf(out, "  with --set %s\n", strings.Join(o.set.exprs, " --set "))
	}
	if ms := s.Server.Models; len(ms) > 0 {
		// A request must name one of them (or an alias), else it gets the dialect's 404: say which.
		var names []string
		for _, m := range ms {
			n := m.Name
			if len(m.Aliases) > 0 {
				n += " (also " + strings.Join(m.Aliases, ", ") + ")"
			}
			names = append(names, n)
		}
		fmt.Fprintf(out, "  models: %s; a request naming another gets a 404\n", strings.Join(names, "; "))
	}
	fmt.Fprintf(out, "  metrics: http://%s/metrics   control: http://%s/_stampede/state\n", ln.Addr(), ln.Addr())
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() && token == "" {
		fmt.Fprintf(out, "  the control API answers loopback peers only: set --admin-token (or $%s) to steer it from elsewhere\n", adminTokenEnv)
	}
	err = fakeserver.ServeWith(ctx, ln, h, fakeserver.ServeOptions{Grace: o.grace, MaxConns: o.conns})
	h.Close()
	fmt.Fprint(out, h.Summary())
	select {
	case b := <-bugs:
		return errors.Join(b, err)
	default:
	}
	return err
}
