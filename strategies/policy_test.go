package strategies

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixed is a rand.Source that returns the draws u (in [0,1)) in turn, then repeats the last one.
type fixed struct {
	u     []float64
	calls int
}

func (f *fixed) Uint64() uint64 {
	i := min(f.calls, len(f.u)-1)
	f.calls++
	return uint64(f.u[i] * (1 << 53))
}

func intp(v int) *int { return &v }

func mustBuild(t *testing.T, s Spec) *Policy {
	t.Helper()
	p, err := s.Build()
	require.NoError(t, err)
	return p
}

func status(s int) Outcome { return Outcome{Status: s} }

func TestPolicyDecisions(t *testing.T) {
	exp := BackoffSpec{Kind: "exponential", Base: Dur(100 * ms), Cap: 10 * time.Second}
	cases := []struct {
		name string
		spec Spec
		a    Attempt
		want Decision
	}{
		{"success needs no decision", Spec{Backoff: exp}, Attempt{Outcome: status(200)}, Decision{}},
		{"529 retried after base", Spec{Backoff: exp}, Attempt{Outcome: status(529)}, Decision{Retry: true, Wait: 100 * ms}},
		{"third retry waits base·4", Spec{Backoff: exp}, Attempt{Number: 2, Outcome: status(503)}, Decision{Retry: true, Wait: 400 * ms}},
		{"max_retries reached", Spec{Backoff: exp, MaxRetries: intp(2)}, Attempt{Number: 2, Outcome: status(529)}, Decision{Stop: StopMaxRetries}},
		{"max_retries 0", Spec{Backoff: exp, MaxRetries: intp(0)}, Attempt{Outcome: status(529)}, Decision{Stop: StopMaxRetries}},
		{"none never retries", Spec{Backoff: BackoffSpec{Kind: "none"}, MaxRetries: intp(9)}, Attempt{Outcome: status(529)}, Decision{Stop: StopMaxRetries}},
		{"400 not retryable", Spec{Backoff: exp}, Attempt{Outcome: status(400)}, Decision{Stop: StopNotRetryable}},
		{"timeout retryable by default", Spec{Backoff: exp}, Attempt{Outcome: Outcome{Err: ErrTimeout}}, Decision{Retry: true, Wait: 100 * ms}},
		{"connection retryable by default", Spec{Backoff: exp}, Attempt{Outcome: Outcome{Err: ErrConn}}, Decision{Retry: true, Wait: 100 * ms}},
		{"local rejection never retried", Spec{Backoff: exp}, Attempt{Outcome: Outcome{Err: ErrLocal}}, Decision{Stop: StopNotRetryable}},
		{"retry_on narrows", Spec{Backoff: exp, RetryOn: []string{"429"}}, Attempt{Outcome: status(529)}, Decision{Stop: StopNotRetryable}},
		{"x-should-retry false wins", Spec{Backoff: exp}, Attempt{Outcome: Outcome{Status: 529, ShouldRetry: ShouldRetryFalse}}, Decision{Stop: StopNotRetryable}},
		{"x-should-retry true retries a 400", Spec{Backoff: exp}, Attempt{Outcome: Outcome{Status: 400, ShouldRetry: ShouldRetryTrue}}, Decision{Retry: true, Wait: 100 * ms}},
		{"ignore Retry-After", Spec{Backoff: exp}, Attempt{Outcome: Outcome{Status: 429, RetryAfter: 30 * time.Second, HasRetryAfter: true}}, Decision{Retry: true, Wait: 100 * ms}},
		{"honor Retry-After", Spec{Backoff: exp, RetryAfter: RetryAfterSpec{Policy: "honor"}}, Attempt{Outcome: Outcome{Status: 429, RetryAfter: 30 * time.Second, HasRetryAfter: true}}, Decision{Retry: true, Wait: 30 * time.Second}},
		{"honor 600s", Spec{Backoff: exp, RetryAfter: RetryAfterSpec{Policy: "honor"}}, Attempt{Outcome: Outcome{Status: 429, RetryAfter: 600 * time.Second, HasRetryAfter: true}}, Decision{Retry: true, Wait: 600 * time.Second}},
		{"honor-capped within cap", Spec{Backoff: exp, RetryAfter: RetryAfterSpec{Policy: "honor-capped"}}, Attempt{Outcome: Outcome{Status: 529, RetryAfter: 59 * time.Second, HasRetryAfter: true}}, Decision{Retry: true, Wait: 59 * time.Second}},
		{"honor-capped above cap falls back", Spec{Backoff: exp, RetryAfter: RetryAfterSpec{Policy: "honor-capped"}}, Attempt{Outcome: Outcome{Status: 529, RetryAfter: 61 * time.Second, HasRetryAfter: true}}, Decision{Retry: true, Wait: 100 * ms}},
		{"honor-capped zero falls back", Spec{Backoff: exp, RetryAfter: RetryAfterSpec{Policy: "honor-capped"}}, Attempt{Outcome: Outcome{Status: 529, HasRetryAfter: true}}, Decision{Retry: true, Wait: 100 * ms}},
		{"honor-capped custom cap", Spec{Backoff: exp, RetryAfter: RetryAfterSpec{Policy: "honor-capped", Cap: Dur(5 * time.Second)}}, Attempt{Outcome: Outcome{Status: 529, RetryAfter: 6 * time.Second, HasRetryAfter: true}}, Decision{Retry: true, Wait: 100 * ms}},
		{"deadline stops", Spec{Backoff: exp, Deadline: Dur(time.Second)}, Attempt{Elapsed: 950 * ms, Outcome: status(529)}, Decision{Stop: StopDeadline}},
		{"deadline leaves room", Spec{Backoff: exp, Deadline: Dur(time.Second)}, Attempt{Elapsed: 850 * ms, Outcome: status(529)}, Decision{Retry: true, Wait: 100 * ms}},
		{"decorrelated carries its memo", Spec{Backoff: BackoffSpec{Kind: "decorrelated-jitter", Base: Dur(100 * ms), Cap: 10 * time.Second}}, Attempt{Outcome: status(529)}, Decision{Retry: true, Wait: 200 * ms, Memo: float64(200 * ms)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustBuild(t, tc.spec)
			src := &fixed{u: []float64{0.5}}
			got := p.NewClient().Observe(0, &tc.a, src)
			assert.Equal(t, tc.want, got)
			if !tc.a.Outcome.OK() {
				assert.Equal(t, 1, src.calls, "one draw per failed attempt, whatever the decision")
			}
		})
	}
}

// TestMaxRetriesRespected runs whole requests that always fail: exactly max_retries+1 attempts each.
func TestMaxRetriesRespected(t *testing.T) {
	for _, kind := range BackoffNames() {
		for _, n := range []int{0, 1, 2, 5, 10} {
			p := mustBuild(t, Spec{Backoff: BackoffSpec{Kind: kind}, MaxRetries: intp(n)})
			c := p.NewClient()
			src := &fixed{u: []float64{0.3}}
			a := Attempt{Outcome: status(503)}
			attempts := 1
			for {
				d := c.Observe(0, &a, src)
				if !d.Retry {
					assert.Equal(t, StopMaxRetries, d.Stop)
					break
				}
				a.Number++
				a.Memo = d.Memo
				attempts++
				require.LessOrEqual(t, attempts, 100)
			}
			want := n + 1
			if kind == "none" {
				want = 1
			}
			assert.Equal(t, want, attempts, "%s max_retries=%d", kind, n)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		field string
		msg   string
	}{
		{"unknown backoff", Spec{Backoff: BackoffSpec{Kind: "ful-jitter"}}, "backoff.kind", `did you mean "full-jitter"?`},
		{"bad retry_on", Spec{Backoff: BackoffSpec{Kind: "constant"}, RetryOn: []string{"42"}}, "retry_on", `"42"`},
		{"bad retry_after", Spec{Backoff: BackoffSpec{Kind: "constant"}, RetryAfter: RetryAfterSpec{Policy: "honour"}}, "retry_after.policy", `did you mean "honor"?`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.spec.Build()
			require.ErrorIs(t, err, ErrBadSpec)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestRetryOnParse(t *testing.T) {
	r, err := ParseRetryOn(DefaultRetryOn)
	require.NoError(t, err)
	for s, want := range map[int]bool{408: true, 409: true, 429: true, 500: true, 529: true, 599: true, 400: false, 404: false, 200: false} {
		assert.Equal(t, want, r.Status(s), "status %d", s)
	}
	assert.True(t, r.Match(Outcome{Err: ErrTimeout}))
	assert.True(t, r.Match(Outcome{Err: ErrConn}))
	for _, bad := range []string{"6xx", "99", "600", "oops", ""} {
		_, err := ParseRetryOn([]string{bad})
		assert.ErrorIs(t, err, ErrBadRetryOn, bad)
	}
}
