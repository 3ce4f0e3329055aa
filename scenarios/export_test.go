package scenarios

// RaceEnabled tells the external tests (package scenarios_test) whether the race detector is on.
const RaceEnabled = raceEnabled
