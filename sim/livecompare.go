package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"stampede/fakeserver"
	"stampede/sim/results"
)

// ErrRemoteTarget is returned for a live target that is not on this machine when remote targets are not allowed.
var ErrRemoteTarget = errors.New("sim: target is not a loopback address (pass --allow-remote to load it)")

// CheckTarget accepts loopback targets (127.0.0.0/8, ::1, localhost) and, with allowRemote, any http(s) URL.
func CheckTarget(target string, allowRemote bool) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: target %q is not an http(s) URL", ErrLive, target)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrRemoteTarget, target)
}

// CollectLive runs the jobs one after the other in real time (a live run needs the machine to itself) and gathers
// them into a results file marked "live". With opts.Target empty each run gets a fresh copy of the scenario's server
// on a loopback port of this process; with a target, runs share it (a stampede server is reset between runs through
// its control API when it allows it). done is called after each run. When ctx is cancelled, the runs gathered so far
// (the interrupted one included) are returned in a file marked partial, with ctx's error. With opts.Shard, each run
// is of the shard's clients and the file is marked as the shard (results.File.FleetShard; the caller adds the
// scenario's hash); the target is never reset, since the other shards share it.
func CollectLive(ctx context.Context, scenario, dialect string, cfg Config, jobs []Job, opts LiveOptions, done func(i int)) (*results.File, error) {
	f := NewFile(scenario, cfg)
	f.Engine = "live"
	if opts.Shard.Count > 1 {
		f.FleetShard = &results.FleetShard{Shard: opts.Shard}
	}
	var errs []error
	for i, j := range jobs {
		o := opts
		var local *fakeserver.Local
		if o.Target == "" {
			keys := max(j.Config.WithDefaults().Fleet.Keys, fakeserver.DefaultKeys)
			var err error
			local, err = fakeserver.StartLocal(j.Config.Server, fakeserver.Options{Dialect: dialect, Seed: j.Config.Seed, Keys: keys})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", j.Strategy.Name(), err))
				continue
			}
			o.Target, o.ServerState, o.ServerLag = local.URL, local.Handler.Load, local.Handler.Lag
			if o.Dialect == "" {
				o.Dialect = local.Handler.Dialect()
			}
		}
		if local == nil && i > 0 && opts.Shard.Count <= 1 {
			resetTarget(ctx, o.Target)
		}
		r, err := RunLive(ctx, j.Config, j.Strategy, o)
		if local != nil {
			_ = local.Stop()
		}
		if j.Params != nil {
			r.Params = j.Params
		}
		if r.Strategy != "" {
			f.Runs = append(f.Runs, r)
		}
		if done != nil {
			done(i)
		}
		if ctx.Err() != nil {
			f.Partial = true
			return f, ctx.Err()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", j.Strategy.Name(), err))
		}
	}
	return f, errors.Join(errs...)
}

// resetTarget asks a stampede server to start afresh (POST /_stampede/reset); any other server ignores it or
// refuses, which is fine: the runs then share its state. A redirect is not followed: the reset goes to the
// target the user named and nowhere else.
func resetTarget(ctx context.Context, target string) {
	u, err := url.Parse(target)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.JoinPath("/_stampede/reset").String(), nil)
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json") // the control API takes changes in JSON only
	if resp, err := resetClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// resetClient never follows a redirect.
var resetClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
