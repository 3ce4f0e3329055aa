package scenarios

// RaceEnabled tells the external tests (package scenarios_test) whether the race detector is on.
const RaceEnabled = raceEnabled

// Update is the -update flag of this package's golden tests, shared with the external ones (one flag per test
// binary).
var Update = update
