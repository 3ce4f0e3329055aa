package sdkcompat

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
)

// TestGoSDKsOnTheWallClock runs the Go SDKs over TCP on the wall clock, as a user pointing them at `stampede serve`
// would, for the cases whose pauses are short: what the bubble of TestSDKMatrix measured holds on a real clock and a
// real network too. The server's count of retries (X-Stainless-Retry-Count) must agree with the client's.
func TestGoSDKsOnTheWallClock(t *testing.T) {
	if testing.Short() {
		t.Skip("wall clock: a few seconds")
	}
	for _, sdk := range []string{"anthropic-go", "openai-go"} {
		for _, c := range []sdkCase{cases[0], cases[1], cases[8], cases[11]} {
			t.Run(sdk+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				srvLog := &serverLog{}
				local, err := fakeserver.StartLocal(c.server, fakeserver.Options{Seed: 7, OnAttempt: srvLog.add})
				require.NoError(t, err)
				defer func() { _ = local.Stop() }()
				obs := callGo(sdk, &http.Client{}, local.URL, c)
				obs.server = srvLog.all()
				verify(t, sdk, c, obs, time.Second) // a busy machine fires timers late
				for i, a := range obs.server {
					assert.Equal(t, i, a.RetryCount, "X-Stainless-Retry-Count of attempt %d", i)
					assert.Equal(t, i > 0, a.Retry, "attempt %d recognized as a retry", i)
				}
			})
		}
	}
}

// TestAPresetThatDisagreesFails: the comparison does catch a preset that is not its SDK's. anthropic-sdk-go waits
// out a 121 s Retry-After, which openai-go's preset refuses; anthropic-sdk-python's preset caps the delay at 60 s
// where anthropic-sdk-go waits 61 s.
func TestAPresetThatDisagreesFails(t *testing.T) {
	for _, tc := range []struct {
		sdk, preset string
		c           sdkCase
	}{
		{"anthropic-go", "openai-go", cases[4]},
		{"anthropic-go", "anthropic-python", cases[3]},
		{"openai-go", "openai-node", cases[12]},
	} {
		t.Run(tc.sdk+" as "+tc.preset, func(t *testing.T) {
			obs := runGo(t, tc.sdk, tc.c)
			p, err := predict(tc.preset, tc.c, obs.outcomes(tc.c))
			require.NoError(t, err)
			diffs := compare(tc.c, obs, p, 0)
			assert.NotEmpty(t, diffs)
			t.Log(diffs)
		})
	}
}
