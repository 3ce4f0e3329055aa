package tune_test

import (
	"context"
	"fmt"
	"strings"

	"stampede/scenarios"
	"stampede/tune"
)

func ExampleParseVary() {
	a, err := tune.ParseVary("full-jitter:cap=1s..16s*2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Scope, a.Param())
	var texts []string
	for _, v := range a.Values {
		texts = append(texts, v.Text)
	}
	fmt.Println(strings.Join(texts, " "))
	_, err = tune.ParseVary("base=100ms,5 s")
	fmt.Println(err)
	// Output:
	// full-jitter cap_ms
	// 1s 2s 4s 8s 16s
	// bad --vary at column 12: "5 s" is not a duration (e.g. 250ms, 2s, 1m30s)
	//   base=100ms,5 s
	//              ^^^
}

func ExampleSweep() {
	s, err := scenarios.Load("retry-amplification") // independent 50 % failures
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := tune.Sweep{
		Scenario: s,
		Vary:     []string{"retry-3:max_retries=0..8"},
		Keep:     func(name string) bool { return name == "retry-3" },
		Seeds:    5,
		SLO:      "success_rate>=0.99",
	}.Plan()
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := plan.Run(context.Background(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := f.Tune.Recommendations[0]
	fmt.Println(plan.Runs(), "runs:", rec.Strategy, rec.Params, "runner-up", rec.RunnerUp, "failing", len(rec.Failing))
	// Output:
	// 45 runs: retry-3 map[max_retries:6] runner-up map[max_retries:7] failing 6
}
