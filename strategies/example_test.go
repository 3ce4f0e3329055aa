package strategies_test

import (
	"fmt"
	"time"

	"stampede/strategies"
)

// A scenario's `preset: anthropic-python` with `max_retries: 4`: the SDK's schedule, one field changed.
func ExampleSpec_Build() {
	p, err := strategies.Spec{Preset: "anthropic-python", MaxRetries: strategies.Int(4)}.Build()
	if err != nil {
		panic(err)
	}
	c := p.NewClient()
	for n := 0; n < 5; n++ {
		d := c.Observe(0, &strategies.Attempt{Number: n, Outcome: strategies.Outcome{Status: 529}}, draw(0.5))
		fmt.Println(n+1, d.Retry, d.Wait, d.Stop)
	}
	// Output:
	// 1 true 437.5ms continue
	// 2 true 875ms continue
	// 3 true 1.75s continue
	// 4 true 3.5s continue
	// 5 false 0s max-retries
}

// What openai-python does with a Retry-After of 121 s: no retry at all.
func ExampleDescribe() {
	es, _ := strategies.Describe("openai-python")
	for _, d := range es[0].Details {
		if d.Label == "Retry-After" {
			fmt.Println(d.Value)
		}
	}
	c := strategies.Spec{Preset: "openai-python"}.MustBuild().NewClient()
	d := c.Observe(0, &strategies.Attempt{Outcome: strategies.Outcome{Status: 429, RetryAfter: 121 * time.Second, HasRetryAfter: true}}, draw(0.5))
	fmt.Println(d.Retry, d.Stop)
	// Output:
	// honored when 0 < d ≤ 2m0s; d > 2m0s: no retry; d ≤ 0: the backoff
	// false retry-after
}
