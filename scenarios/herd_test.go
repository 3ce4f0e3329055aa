package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/sim/results"
)

// TestHerdCostsInTheSimulator runs testdata/herd-costs.yaml, whose server turns on the overload knock-down and the
// rejection cost, and checks their effect on the simulated runs against the models of fakeserver/stage_knockdown.go
// and stage_rejectcost.go. The server serves 10 × 1/100 ms = 100 requests a second; knocked down, 50.
//   - Without retries, the spike knocks the server down and the fleet's own 80 a second, above half the capacity
//     (knockdown.below 0.5), keeps it down: goodput stays near 50 a second. With below 1 (80 < 100) it comes back
//     after the recovery time, and without a knock-down there is nothing to come back from.
//   - With immediate retries, the 529s cost 20 ms each of the units' time: at r rejections a second the knocked-down
//     server serves 50 × (1 − 0.02·r/10) a second. Without the cost, as many as without retries.
func TestHerdCostsInTheSimulator(t *testing.T) {
	goodput := func(r *results.Run, from, to float64) float64 { return meanOf(window(r.Series.Succeeded, from, to)) }
	rejected := func(r *results.Run, from, to float64) float64 { return meanOf(window(r.Series.Rejected529, from, to)) }
	offered := func(r *results.Run, from, to float64) float64 { return meanOf(window(r.Series.Offered, from, to)) }
	load := func(t *testing.T, change func(c *fakeserver.Config)) *results.File {
		s, err := Load("testdata/herd-costs.yaml")
		require.NoError(t, err)
		if change != nil {
			change(&s.Server)
			require.NoError(t, s.Server.Validate())
		}
		return run(t, s)
	}

	f := load(t, nil)
	none, imm := runNamed(f, "none"), runNamed(f, "immediate")
	t.Logf("goodput before the spike %.1f/s; 20–40 s: without retries %.1f/s, immediate %.1f/s at %.0f rejections/s",
		goodput(none, 0, 10), goodput(none, 20, 40), goodput(imm, 20, 40), rejected(imm, 20, 40))
	assert.InEpsilon(t, offered(none, 0, 10), goodput(none, 0, 10), 0.1, "before the spike: every request served")
	assert.InEpsilon(t, 50, goodput(none, 20, 40), 0.1, "knocked down for good: half the capacity")
	want := 50 * (1 - min(0.02*rejected(imm, 20, 40)/10, 0.95))
	assert.InEpsilon(t, want, goodput(imm, 20, 40), 0.15, "the rejections' share of the knocked-down units' time")
	assert.Less(t, goodput(imm, 20, 40), 0.7*goodput(none, 20, 40), "the herd's rejections cost the service")

	t.Run("recovers when below is above the fleet's load", func(t *testing.T) {
		f := load(t, func(c *fakeserver.Config) {
			kd := *c.Knockdown
			kd.Below = 1
			c.Knockdown = &kd
		})
		r := runNamed(f, "none")
		assert.InEpsilon(t, offered(r, 25, 40), goodput(r, 25, 40), 0.1, "back to full speed 5 s after the load fell below 100/s")
	})
	t.Run("without the knock-down nothing stays down", func(t *testing.T) {
		f := load(t, func(c *fakeserver.Config) { c.Knockdown = nil })
		r := runNamed(f, "none")
		assert.InEpsilon(t, offered(r, 15, 40), goodput(r, 15, 40), 0.1)
	})
	t.Run("without the rejection cost the retries cost nothing", func(t *testing.T) {
		f := load(t, func(c *fakeserver.Config) { c.RejectionCost = nil })
		assert.InEpsilon(t, 50, goodput(runNamed(f, "immediate"), 20, 40), 0.1)
	})
}
