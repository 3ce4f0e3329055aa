// Package tune answers "what should max_retries (and base, cap, timeout…) be for this API and this traffic?".
// It expands a scenario's strategies over a grid of settings (--vary), runs every point once per seed on all
// cores, reduces each point to the mean of its replications with a confidence interval per metric, and lets
// verdict.Recommend pick, per strategy, the setting that meets an SLO at the least cost.
//
// A grid can be cut into shards (point i belongs to shard i mod N) that run on different machines, e.g. as a
// Kubernetes Indexed Job; Merge puts their results back together byte for byte as one process would have
// written them. The package runs simulations through sim and never draws anything: reports does.
package tune
