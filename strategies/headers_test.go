package strategies_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"stampede/strategies"
)

// headers is a case-insensitive header map with the shape of http.Header.Get.
type headers map[string]string

func (h headers) get(name string) string { return h[strings.ToLower(name)] }

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		h    headers
		want time.Duration
		ok   bool
		form strategies.RetryAfterForm
	}{
		{"delay-seconds", headers{"retry-after": "30"}, 30 * time.Second, true, strategies.FormSeconds},
		{"float seconds", headers{"retry-after": "1.5"}, 1500 * ms, true, strategies.FormSeconds},
		{"retry-after-ms first", headers{"retry-after-ms": "250", "retry-after": "30"}, 250 * ms, true, strategies.FormMillis},
		{"bad retry-after-ms falls through", headers{"retry-after-ms": "soon", "retry-after": "2"}, 2 * time.Second, true, strategies.FormSeconds},
		{"bad retry-after-ms alone", headers{"retry-after-ms": "soon"}, 0, false, strategies.FormMalformed},
		{"IMF-fixdate", headers{"retry-after": "Sun, 01 Mar 2026 12:01:01 GMT"}, 61 * time.Second, true, strategies.FormHTTPDate},
		{"RFC 850 date", headers{"retry-after": "Sunday, 01-Mar-26 12:00:10 GMT"}, 10 * time.Second, true, strategies.FormHTTPDate},
		{"asctime date", headers{"retry-after": "Sun Mar  1 12:02:00 2026"}, 2 * time.Minute, true, strategies.FormHTTPDate},
		{"date in the past", headers{"retry-after": "Sun, 01 Mar 2026 11:59:00 GMT"}, -time.Minute, true, strategies.FormHTTPDate},
		{"negative seconds", headers{"retry-after": "-5"}, -5 * time.Second, true, strategies.FormSeconds},
		{"garbage", headers{"retry-after": "tomorrow"}, 0, false, strategies.FormMalformed},
		{"absent", headers{}, 0, false, strategies.FormUnknown},
		{"huge", headers{"retry-after": "1e300"}, time.Duration(1<<63 - 1), true, strategies.FormSeconds},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := strategies.ParseRetryAfter(tc.h.get, now)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, d)
			d, form := strategies.ParseRetryAfterForm(tc.h.get, now)
			assert.Equal(t, tc.want, d)
			assert.Equal(t, tc.form, form)
		})
	}
}

func TestParseOutcome(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o := strategies.ParseOutcome(529, headers{"retry-after": "7", "x-should-retry": "false"}.get, now)
	assert.Equal(t, strategies.Outcome{Status: 529, RetryAfter: 7 * time.Second, HasRetryAfter: true, RetryAfterForm: strategies.FormSeconds,
		ShouldRetry: strategies.ShouldRetryFalse}, o)
	o = strategies.ParseOutcome(429, headers{"retry-after": "soon"}.get, now)
	assert.Equal(t, strategies.Outcome{Status: 429, RetryAfterForm: strategies.FormMalformed}, o)
	assert.Equal(t, strategies.ShouldRetryTrue, strategies.ParseShouldRetry("true"))
	assert.Equal(t, strategies.ShouldRetryAbsent, strategies.ParseShouldRetry("TRUE"), "the SDKs compare exactly")
	assert.Equal(t, strategies.ShouldRetryAbsent, strategies.ParseShouldRetry(""))
}
