package fakeserver

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHerdFeaturesInTheHandler: `stampede serve` drives the same model, so the rejection cost and the knock-down
// act on the HTTP handler too. On the fixed clock the model's instant stays at 0 and the figures are exact; on the
// real clock a request started while the units are slowed takes longer, and a knock-down ends by itself.
func TestHerdFeaturesInTheHandler(t *testing.T) {
	call := req{method: "GET", path: "/x"}
	t.Run("rejections cost: the state and the metrics show the speed", func(t *testing.T) {
		h := newTestHandler(t, Config{Capacity: 1, ServiceTime: Constant(0), RateLimits: []RateLimit{{Rate: 0.001, Burst: 1}},
			RejectionCost: &RejectionCost{Cost: 100 * time.Millisecond}}, "plain")
		assert.Equal(t, http.StatusOK, call.do(h).Code)
		for range 4 {
			assert.Equal(t, http.StatusTooManyRequests, call.do(h).Code)
		}
		st := h.State()
		assert.InDelta(t, 0.6, st.Speed, 1e-12, "4 × 100 ms of rejection work in the last instant, over 1 unit")
		assert.False(t, st.KnockedDown)
		assert.Contains(t, adminDo(h, "GET", "/metrics", "", "127.0.0.1:1", "").Body.String(), "stampede_service_speed 0.6\n")
		assert.Contains(t, st.Config, "rejection_cost")
	})
	t.Run("a knock-down: the state and the metrics show it", func(t *testing.T) {
		h := newTestHandler(t, Config{Capacity: 1, ServiceTime: Constant(time.Second), Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 500}}},
			Knockdown: &Knockdown{Above: 2, Capacity: 0.5, Recover: time.Second}}, "plain")
		for range 3 {
			assert.Equal(t, http.StatusInternalServerError, call.do(h).Code)
		}
		st := h.State()
		assert.True(t, st.KnockedDown, "3 arrivals a second offered to a capacity of 1 a second, above 2×")
		assert.Equal(t, 0.5, st.Speed)
		body := adminDo(h, "GET", "/metrics", "", "127.0.0.1:1", "").Body.String()
		assert.Contains(t, body, "stampede_knocked_down 1\n")
		assert.Contains(t, body, "stampede_service_speed 0.5\n")
	})
	t.Run("real clock: a slowed unit serves later", func(t *testing.T) {
		if testing.Short() {
			t.Skip("real clock")
		}
		h, err := NewHandler(Config{Capacity: 1, ServiceTime: Constant(100 * time.Millisecond), RateLimits: []RateLimit{{Scope: "key", Rate: 0.001, Burst: 1}},
			RejectionCost: &RejectionCost{Cost: time.Second, MaxShare: 0.5}}, Options{})
		require.NoError(t, err)
		key := func(k string) req { return req{method: "GET", path: "/x", header: map[string]string{"X-Api-Key": k}} }
		began := time.Now()
		assert.Equal(t, http.StatusOK, key("a").do(h).Code)
		assert.GreaterOrEqual(t, time.Since(began), 100*time.Millisecond)
		for range 3 {
			assert.Equal(t, http.StatusTooManyRequests, key("a").do(h).Code, "key a's bucket is empty")
		}
		began = time.Now()
		assert.Equal(t, http.StatusOK, key("b").do(h).Code)
		assert.GreaterOrEqual(t, time.Since(began), 200*time.Millisecond, "100 ms of service at half speed (the share stops at 0.5)")
	})
	t.Run("real clock: the knock-down ends by itself", func(t *testing.T) {
		if testing.Short() {
			t.Skip("real clock")
		}
		h, err := NewHandler(Config{Capacity: 1, ServiceTime: Constant(time.Second), Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 500}}},
			Knockdown: &Knockdown{Above: 2, Capacity: 0.5, Recover: 200 * time.Millisecond, Window: 100 * time.Millisecond}}, Options{})
		require.NoError(t, err)
		began := time.Now()
		for range 3 {
			call.do(h)
		}
		if down := h.State().KnockedDown; time.Since(began) < 200*time.Millisecond {
			assert.True(t, down, "down for at least the recovery time")
		}
		require.Eventually(t, func() bool { return !h.State().KnockedDown }, 10*time.Second, 10*time.Millisecond)
		assert.Equal(t, 1.0, h.State().Speed)
	})
}
