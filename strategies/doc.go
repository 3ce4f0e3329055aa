// Package strategies holds the client retry policies that stampede compares.
//
// A strategy decides, from a plain record of a failed attempt and a uniform draw, whether to retry and after how long;
// it never reads a clock or a global random source, so the same code runs in the virtual-time simulator and on the real clock.
// Backoff families are registered by name (one file each) and composed with the knobs every strategy has: max_retries,
// retry_on, the Retry-After policy, a per-attempt timeout and a total deadline.
package strategies
