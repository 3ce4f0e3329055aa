package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"stampede/fakeserver"
)

// ctlFlags are the options every ctl subcommand shares: where the server is, its token, the output form.
type ctlFlags struct {
	url   string
	token string
	json  bool
}

func (o *ctlFlags) control() *fakeserver.Control {
	return &fakeserver.Control{URL: o.url, Token: o.token}
}

func newCtlCmd() *cobra.Command {
	var o ctlFlags
	cmd := &cobra.Command{
		Use:   "ctl",
		Short: "Steer and inspect a running stampede serve or proxy through its control API",
		Long: "Talk to the control API (/_stampede/) of a running `stampede serve` or `stampede proxy`: its state, its\n" +
			"faults (list, add, remove one at a time), a change of its settings (rate and token limits, overload answer,\n" +
			"queue, service time, …), its timeline's phases, a reset, and the journal of the last requests it answered\n" +
			"(what clients sent: retry counts, Idempotency-Keys, headers).\n" +
			"The server answers loopback callers, or others with its admin token (--token, $STAMPEDE_ADMIN_TOKEN).",
		Example: "  stampede ctl faults add --name brownout --probability 0.5 --status 529 --retry-after 2s\n" +
			"  stampede ctl requests --limit 5\n" +
			"  stampede ctl faults remove brownout\n" +
			"  stampede ctl change '{token_limits: [{kind: itpm, limit: 30000, scope: key}]}'\n" +
			"  stampede ctl --url http://stampede:8080 --token \"$STAMPEDE_ADMIN_TOKEN\" state",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.url, "url", envOr("STAMPEDE_URL", "http://127.0.0.1:8080"), "base URL of the server (default $STAMPEDE_URL or http://127.0.0.1:8080)")
	pf.StringVar(&o.token, "token", "", "the server's admin token (default $STAMPEDE_ADMIN_TOKEN)")
	pf.BoolVar(&o.json, "json", false, "print the control API's JSON answer as it is")
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		if o.token == "" {
			o.token = os.Getenv("STAMPEDE_ADMIN_TOKEN") // not a flag default: --help would show it
		}
		return nil
	}
	cmd.AddCommand(newCtlStateCmd(&o), newCtlFaultsCmd(&o), newCtlChangeCmd(&o), newCtlPhasesCmd(&o), newCtlResetCmd(&o), newCtlRequestsCmd(&o))
	return cmd
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newCtlStateCmd(o *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "state",
		Short: "The configuration in force, the model's state and the counters",
		Args:  positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := o.control().State(cmd.Context())
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s dialect, up %s, %d/%d units busy, %d queued", st.Dialect, (time.Duration(st.Uptime * float64(time.Second))).Round(time.Millisecond), st.InService, st.Capacity, st.QueueLen)
			if st.Phase != "" {
				fmt.Fprintf(w, ", phase %s in force", st.Phase)
			}
			fmt.Fprintf(w, "\n%d requests: %d served", st.Stats.Requests, st.Stats.Served)
			if st.Stats.Forwarded > 0 || st.Stats.UpstreamErrors > 0 {
				fmt.Fprintf(w, ", %d forwarded, %d upstream errors", st.Stats.Forwarded, st.Stats.UpstreamErrors)
			}
			fmt.Fprintf(w, ", %d retries seen, %d abandoned\n", st.Stats.Retries, st.Stats.Abandoned)
			if len(st.Stats.Rejections) > 0 {
				fmt.Fprintf(w, "rejections:%s\n", counts(st.Stats.Rejections))
			}
			return nil
		},
	}
}

// counts renders a counter map as " name×n", sorted by name.
func counts(m map[string]int64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, " %s×%d", k, m[k])
	}
	return b.String()
}

func newCtlFaultsCmd(o *ctlFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "faults",
		Short: "List, add and remove the server's faults, one at a time",
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "The faults in force, in the order they are drawn",
		Args:  positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := o.control().Faults(cmd.Context())
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), fs)
			}
			return writeFaults(cmd.OutOrStdout(), fs)
		},
	}
	var (
		name        string
		probability float64
		status      int
		retryAfter  string
		shouldRetry string
	)
	add := &cobra.Command{
		Use:   "add [FAULT]",
		Short: "Put one more fault in force",
		Long: "Put one more fault in force after the others: from the flags, or FAULT, one fault in the scenario's words\n" +
			"as JSON or YAML ('-' reads it from stdin), e.g. '{probability: 0.2, status: 429, retry_after: computed}'.\n" +
			"Prints the fault's name (--name, or the next free fault-N), which `ctl faults remove` takes.",
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := faultBody(cmd, args, name, probability, status, retryAfter, shouldRetry)
			if err != nil {
				return err
			}
			got, err := o.control().AddFault(cmd.Context(), body)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), got)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&name, "name", "", "the fault's name (default: the next free fault-N)")
	f.Float64Var(&probability, "probability", 0, "chance per request, in [0, 1]")
	f.IntVar(&status, "status", 0, "the status it answers (e.g. 429, 500, 503, 529)")
	f.StringVar(&retryAfter, "retry-after", "", "its Retry-After: a duration (2s), computed, malformed or none")
	f.StringVar(&shouldRetry, "should-retry", "", "its x-should-retry header: true or false")
	_ = add.RegisterFlagCompletionFunc("should-retry", fixed("true", "false"))
	_ = add.RegisterFlagCompletionFunc("retry-after", fixed("computed", "malformed", "none"))
	remove := &cobra.Command{
		Use:   "remove NAME...",
		Short: "Take faults out of force",
		Args:  positional(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, n := range args {
				if err := o.control().RemoveFault(cmd.Context(), n); err != nil {
					return err
				}
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			fs, err := o.control().Faults(cmd.Context())
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, f := range fs {
				if strings.HasPrefix(f.Name, toComplete) {
					out = append(out, f.Name)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.AddCommand(list, add, remove)
	return cmd
}

// faultBody is the fault `ctl faults add` sends: FAULT as given (or stdin for '-'), or one built from the
// flags, with the name.
func faultBody(cmd *cobra.Command, args []string, name string, probability float64, status int, retryAfter, shouldRetry string) ([]byte, error) {
	flagsSet := cmd.Flags().Changed("probability") || cmd.Flags().Changed("status") || retryAfter != "" || shouldRetry != ""
	if len(args) == 1 {
		if flagsSet {
			return nil, &usageError{fmt.Errorf("give the fault as FAULT or with flags, not both")}
		}
		text := []byte(args[0])
		if args[0] == "-" {
			var err error
			if text, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20)); err != nil {
				return nil, err
			}
		}
		if name == "" {
			return text, nil
		}
		// The name goes into the document: as YAML, a JSON object is a flow mapping it can be merged into.
		var m map[string]any
		if err := yaml.Unmarshal(text, &m); err != nil {
			return nil, &usageError{fmt.Errorf("FAULT: %v", err)}
		}
		m["name"] = name
		return json.Marshal(m)
	}
	if !cmd.Flags().Changed("status") {
		return nil, &usageError{fmt.Errorf("give --status (and --probability), or FAULT as JSON or YAML")}
	}
	m := map[string]any{"probability": probability, "status": status}
	if name != "" {
		m["name"] = name
	}
	if retryAfter != "" {
		m["retry_after"] = retryAfter
	}
	if shouldRetry != "" {
		b, err := strconv.ParseBool(shouldRetry)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--should-retry %q: want true or false", shouldRetry)}
		}
		m["should_retry"] = b
	}
	return json.Marshal(m)
}

// writeFaults prints faults as a table: name, probability, status, Retry-After, x-should-retry.
func writeFaults(w io.Writer, fs []fakeserver.NamedFault) error {
	if len(fs) == 0 {
		_, err := fmt.Fprintln(w, "no faults in force")
		return err
	}
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	t.AppendHeader(table.Row{"name", "probability", "status", "retry-after", "should-retry"})
	for _, f := range fs {
		sr := ""
		if f.ShouldRetry != nil {
			sr = strconv.FormatBool(*f.ShouldRetry)
		}
		t.AppendRow(table.Row{f.Name, f.Probability, f.Status, retryAfterText(f.RetryAfter), sr})
	}
	_, err := fmt.Fprintln(w, t.Render())
	return err
}

// retryAfterText renders a Retry-After setting as a scenario would write it briefly.
func retryAfterText(ra fakeserver.RetryAfter) string {
	switch ra.Kind {
	case "", "none":
		return ""
	case "fixed":
		s := ra.Value.String()
		if ra.Format != "" && ra.Format != fakeserver.FormatSeconds {
			s += " (" + ra.Format + ")"
		}
		return s
	}
	return ra.Kind
}

func newCtlPhasesCmd(o *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "phases",
		Short: "The scenario's timeline: each phase, when it runs, and the one in force",
		Args:  positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := o.control().State(cmd.Context())
			if err != nil {
				return err
			}
			phases, _ := st.Config["timeline"].([]any)
			if o.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"uptime_seconds": st.Uptime, "phase": st.Phase, "timeline": phases})
			}
			w := cmd.OutOrStdout()
			up := time.Duration(st.Uptime * float64(time.Second)).Round(time.Millisecond)
			if len(phases) == 0 {
				_, err := fmt.Fprintf(w, "no timeline (up %s)\n", up)
				return err
			}
			t := table.NewWriter()
			t.SetStyle(table.StyleLight)
			t.SetTitle(fmt.Sprintf("timeline, up %s (a reset starts it again)", up))
			t.AppendHeader(table.Row{"", "name", "at", "for", "changes"})
			for _, p := range phases {
				m, _ := p.(map[string]any)
				name := fmt.Sprint(orDefault(m["name"], ""))
				mark := ""
				if name != "" && name == st.Phase {
					mark = "▶"
				}
				var changes []string
				for _, k := range []string{"outage", "capacity", "latency", "rate_scale", "background"} {
					if v, ok := m[k]; ok && v != nil && v != 0 && v != 0.0 {
						b, _ := json.Marshal(v)
						changes = append(changes, k+": "+string(b))
					}
				}
				t.AppendRow(table.Row{mark, name, orDefault(m["at"], "0s"), orDefault(m["for"], "to the end"), strings.Join(changes, ", ")})
			}
			_, err = fmt.Fprintln(w, t.Render())
			return err
		},
	}
}

func orDefault(v any, def string) any {
	if v == nil || v == "" {
		return def
	}
	return v
}

func newCtlChangeCmd(o *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "change PATCH",
		Short: "Change the server's settings while it runs (PUT /_stampede/faults)",
		Long: "Change the server's settings while it runs: PATCH is a change in the scenario's words, as JSON or YAML ('-'\n" +
			"reads it from stdin), of any of faults, stream_faults, rate_limits, token_limits, fail_first, overload, queue,\n" +
			"service_time, output, concurrency_penalty and retry_after_unit. A list given replaces the whole list (an\n" +
			"empty one removes them all); buckets of the same kind and scope keep their level. A change that would not\n" +
			"validate is refused whole, each problem located in PATCH, and nothing changes.",
		Example: "  stampede ctl change '{token_limits: [{kind: itpm, limit: 30000, scope: key}]}'\n" +
			"  stampede ctl change '{overload: {status: 529, retry_after: 10s}, queue: 0}'\n" +
			"  stampede ctl change - < brownout.yaml",
		Args: positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := []byte(args[0])
			if args[0] == "-" {
				var err error
				if body, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20)); err != nil {
					return err
				}
			}
			st, err := o.control().Change(cmd.Context(), body)
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			var fields map[string]any
			_ = yaml.Unmarshal(body, &fields) // the server read it: it parses
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "changed %s\n", strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
			return err
		},
	}
}

func newCtlResetCmd(o *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "reset",
		Short: "A fresh model from the scenario: faults as written, clock and timeline at zero, counters and journal cleared",
		Args:  positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := o.control().Reset(cmd.Context())
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "reset")
			return err
		},
	}
}

func newCtlRequestsCmd(o *ctlFlags) *cobra.Command {
	var (
		since  uint64
		limit  int
		follow bool
		every  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "The last requests the server answered: what each client sent and what it got",
		Long: "The server's journal of the last requests, oldest first: time, method, path, status (and why it was refused),\n" +
			"the retry count and Idempotency-Key the client sent, its API key redacted, its library (User-Agent) and the time\n" +
			"taken. --json shows every field, bodies too when the server keeps them (serve --journal-bodies).\n" +
			"--follow prints new requests as they come, until interrupted.",
		Args: positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := o.control()
			w := cmd.OutOrStdout()
			for {
				j, err := c.Requests(cmd.Context(), since, limit)
				if err != nil {
					if follow && cmd.Context().Err() != nil {
						return nil
					}
					return err
				}
				if len(j.Requests) > 0 {
					since = j.Requests[len(j.Requests)-1].Seq
				}
				if o.json {
					if err := printJSON(w, j); err != nil {
						return err
					}
				} else {
					for _, e := range j.Requests {
						fmt.Fprintln(w, journalLine(e))
					}
					if len(j.Requests) == 0 && !follow {
						fmt.Fprintf(w, "no requests in the journal (it keeps the last %d)\n", j.Kept)
					}
				}
				if !follow {
					return nil
				}
				limit = 0
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(every):
				}
			}
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&since, "since", 0, "only the requests after this sequence number")
	f.IntVar(&limit, "limit", 0, "only the newest N (default: all the journal keeps)")
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new requests as they come")
	f.DurationVar(&every, "every", 500*time.Millisecond, "with --follow, how often to ask")
	return cmd
}

// journalLine renders one journal entry as a line:
//
//	#12 11:22:33.456 POST /v1/messages 529 fault  retry-count=1 idempotency-key="k1" retry  api-key=sk-a…1f2e3d4c  12.3ms  anthropic-sdk-go/1.2
func journalLine(e fakeserver.JournalEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s %s %d", e.Seq, e.Time.Local().Format("15:04:05.000"), e.Method, e.Path, e.Status)
	if e.Reason != "" {
		b.WriteString(" " + e.Reason)
	}
	if e.RetryCount != nil {
		fmt.Fprintf(&b, "  retry-count=%d", *e.RetryCount)
	}
	if e.IdempotencyKey != "" {
		fmt.Fprintf(&b, "  idempotency-key=%q", e.IdempotencyKey)
	}
	if e.Retry {
		b.WriteString("  retry")
	}
	if e.Replayed {
		b.WriteString("  replayed")
	}
	if e.APIKey != "" {
		b.WriteString("  api-key=" + e.APIKey)
	}
	fmt.Fprintf(&b, "  %sms", strconv.FormatFloat(e.DurationMs, 'f', -1, 64))
	if ua := e.Headers["User-Agent"]; ua != "" {
		b.WriteString("  " + ua)
	}
	return b.String()
}
