package sim

import (
	"stampede/fakeserver"
	"stampede/strategies"
)

// retryAfterForm is the form an answer of the model carries its Retry-After in, as a client parsing the wire would
// tell it (strategies.ParseRetryAfterForm): the clients that read only some forms decide by it.
func retryAfterForm(a *fakeserver.Answer) strategies.RetryAfterForm {
	switch {
	case a.Malformed:
		return strategies.FormMalformed
	case !a.HasRetryAfter:
		return strategies.FormUnknown
	case a.Format == fakeserver.FormatHTTPDate:
		return strategies.FormHTTPDate
	case a.Format == fakeserver.FormatMillis:
		return strategies.FormMillis
	}
	return strategies.FormSeconds
}
