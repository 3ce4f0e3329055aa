package verdict

import (
	"fmt"

	"stampede/sim/results"
)

// Judge fills what the reports draw beyond the stored figures; call it before rendering a file, fresh or read
// from disk (it replaces any earlier judgement). An objective, SLO or threshold that does not parse (a
// hand-edited file) is an error naming the field.
//
// For a plain run it fills f.Verdict: the strategies of each workload ranked by f.Objective (DefaultObjective
// when empty) with a reason each, and every threshold checked — the scenario's (f.Thresholds, which must hold)
// and failIf's (--fail-if conditions, which name failures).
//
// For a tune sweep it fills f.Tune.Judgement: the summary across strategies (Summary), the SLO's conditions, the
// objective's metrics and every point's standing (whether it meets the SLO, which conditions it misses, and its
// role: recommended, runner-up or closest); failIf is then checked by Thresholds.CheckError.
func Judge(f *results.File, failIf ...Threshold) error {
	if f.Tune == nil {
		return judgeRun(f, failIf)
	}
	slo, err := ParseSLO(f.Tune.SLO)
	if err != nil {
		return fmt.Errorf("tune.slo: %w", err)
	}
	obj, err := ParseObjective(f.Tune.Objective)
	if err != nil {
		return fmt.Errorf("tune.objective: %w", err)
	}
	j := &results.Judgement{Summary: Summary(f), Points: make([]results.Standing, len(f.Runs))}
	for _, k := range obj.Keys {
		j.Objective = append(j.Objective, k.Metric.Name)
	}
	for _, c := range slo.Conditions {
		j.Conditions = append(j.Conditions, results.Condition{Strategy: c.Strategy, Metric: c.Metric.Name, Op: c.Op, Value: c.Value, Text: c.Text})
	}
	roles := roles(f)
	for i := range f.Runs {
		a := slo.Check(&f.Runs[i])
		p := &j.Points[i]
		p.Met, p.Role = a.Met, roles[i]
		for _, c := range a.Failed {
			p.Failed = append(p.Failed, c.Text)
		}
	}
	f.Tune.Judgement = j
	return nil
}

// roles marks the recommended, runner-up and closest points of each stored recommendation, by run index: with a
// workload, every point of the setting.
func roles(f *results.File) map[int]results.Role {
	out := map[int]results.Role{}
	for _, rec := range f.Tune.Recommendations {
		for i := range f.Runs {
			r := &f.Runs[i]
			if r.Strategy != rec.Strategy {
				continue
			}
			switch results.FormatParams(settingParams(r.Params, f.Tune.Workload)) {
			case results.FormatParams(rec.Params):
				if rec.Met {
					out[i] = results.RoleRecommended
				} else {
					out[i] = results.RoleClosest
				}
			case results.FormatParams(rec.RunnerUp):
				if rec.RunnerUp != nil {
					out[i] = results.RoleRunnerUp
				}
			}
		}
	}
	return out
}
