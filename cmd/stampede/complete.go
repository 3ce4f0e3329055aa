package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"stampede/fakeserver"
	"stampede/reports"
	"stampede/scenarios"
	"stampede/sim/tune"
	"stampede/strategies"
)

// Shell completion (`stampede completion bash|zsh|fish|powershell`) beyond subcommands and flags: scenario
// names and files for the scenario argument, catalogue names for `strategies NAME`, the scenario's strategies
// for --only, keys (and STRATEGY: scopes) for --vary and --set, and the fixed values of --dialect, --engine and
// --format. Each list is filtered by what has been typed; cobra shows the text after a tab as a description.

// addCompletions registers the completions of every subcommand of root that takes them.
func addCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "run", "fleet", "serve", "proxy", "tune":
			c.ValidArgsFunction = completeScenario(false)
		case "validate":
			c.ValidArgsFunction = completeScenario(true)
		case "strategies":
			c.ValidArgsFunction = completeCatalogue
		}
		only := tune.SetAll
		if c.Name() == "serve" || c.Name() == "proxy" {
			only = tune.SetServer
		}
		flag := func(name string, f cobra.CompletionFunc) {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, f)
			}
		}
		flag("only", completeOnly)
		flag("vary", completeKeys(tune.SetAll))
		flag("set", completeKeys(only))
		flag("dialect", fixed(fakeserver.Dialects()...))
		flag("engine", fixed("virtual", "live", "both"))
		flag("format", fixed(reports.Formats...))
	}
}

// completeScenario completes the scenario argument: shipped names (with their descriptions), then scenario
// files and directories under what has been typed. many: every argument is a scenario (validate).
func completeScenario(many bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		if !strings.ContainsRune(toComplete, filepath.Separator) {
			for _, n := range scenarios.Names() {
				if strings.HasPrefix(n, toComplete) {
					out = append(out, cobra.CompletionWithDesc(n, shippedSummary(n)))
				}
			}
		}
		files, dirs := scenarioFiles(toComplete)
		out = append(out, files...)
		out = append(out, dirs...)
		if len(dirs) > 0 {
			return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// shippedSummary is the first sentence of a shipped scenario's description.
func shippedSummary(name string) string {
	s, err := scenarios.Load(name + ".yaml")
	if err != nil || s.Description == "" {
		return ""
	}
	d := strings.Join(strings.Fields(s.Description), " ")
	if i := strings.Index(d, ". "); i > 0 {
		d = d[:i]
	}
	return strings.TrimSuffix(d, ".")
}

// scenarioFiles lists the YAML files (*.yaml, *.yml) and directories whose path starts with prefix; directories
// end with a separator, for the user to go on typing.
func scenarioFiles(prefix string) (files, dirs []cobra.Completion) {
	dir, base := filepath.Split(prefix)
	entries, err := os.ReadDir(cmpOr(dir, "."))
	if err != nil {
		return nil, nil
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		p := dir + name
		switch {
		case e.IsDir():
			dirs = append(dirs, p+string(filepath.Separator))
		case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
			files = append(files, p)
		}
	}
	return files, dirs
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// completeCatalogue completes `strategies NAME` with every name of the catalogue and its kind.
func completeCatalogue(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	seen := map[string]bool{}
	for _, e := range strategies.Catalogue() {
		if strings.HasPrefix(e.Name, toComplete) && !seen[e.Name] {
			seen[e.Name] = true
			out = append(out, cobra.CompletionWithDesc(e.Name, e.Kind))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// scenarioOf loads the scenario named on the command line being completed (the default one without any).
func scenarioOf(args []string) *scenarios.Scenario {
	name := scenarios.Default
	if len(args) > 0 {
		name = args[0]
	}
	s, err := scenarios.Load(name)
	if err != nil {
		return nil
	}
	return s
}

// strategyNames lists the names of the scenario's strategies, in file order.
func strategyNames(s *scenarios.Scenario) []string {
	if s == nil {
		return nil
	}
	strats, err := s.Build()
	if err != nil {
		return nil
	}
	names := make([]string, len(strats))
	for i, st := range strats {
		names[i] = st.Name()
	}
	return names
}

// completeOnly completes --only with the strategies of the scenario on the command line, after the names
// already listed before a comma.
func completeOnly(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	done, last := "", toComplete
	if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
		done, last = toComplete[:i+1], toComplete[i+1:]
	}
	listed := strings.Split(done, ",")
	var out []cobra.Completion
	for _, n := range strategyNames(scenarioOf(args)) {
		if strings.HasPrefix(n, last) && !slices.Contains(listed, n) {
			out = append(out, done+n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeKeys completes --vary and --set: "KEY=" for every key the command takes (with its description), and
// "STRATEGY:" for the strategies of the scenario on the command line; after "STRATEGY:", that strategy's keys.
func completeKeys(only tune.SetOnly) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if strings.ContainsRune(toComplete, '=') {
			return nil, cobra.ShellCompDirectiveNoFileComp // the values are the user's
		}
		scope, key := "", toComplete
		if i := strings.LastIndexByte(toComplete, ':'); i >= 0 {
			scope, key = toComplete[:i+1], toComplete[i+1:]
		}
		var out []cobra.Completion
		for _, k := range tune.Keys {
			if !slices.Contains(tune.KeyNamesFor(only), k.Name) || (scope != "" && k.Workload()) {
				continue
			}
			if strings.HasPrefix(k.Name, key) {
				out = append(out, cobra.CompletionWithDesc(scope+k.Name+"=", k.Doc))
			}
		}
		if scope == "" && only == tune.SetAll {
			for _, n := range strategyNames(scenarioOf(args)) {
				if strings.HasPrefix(n, key) {
					out = append(out, cobra.CompletionWithDesc(n+":", "only strategy "+n))
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// fixed completes a flag with a fixed list of values.
func fixed(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
