package sim

import "stampede/strategies"

// streamGuards seeds the clients whose guards draw random numbers of their own (strategies.Seeder).
const streamGuards = 0x6a

// seedClient seeds client i of a run when its strategy state draws (adaptive throttling), from the scenario seed,
// so that two runs with the same seed reject the same attempts.
func seedClient(c strategies.Client, seed uint64, i int) {
	if s, ok := c.(strategies.Seeder); ok {
		s.Seed(mix(seed, streamGuards) + uint64(i))
	}
}
