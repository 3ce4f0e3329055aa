package scenarios

import "stampede/internal/yamlcheck"

// Check validates a scenario built or changed in code (stampede's --set changes a loaded one) as Parse
// validates a file. Every problem is a *FieldError that names origin (the change, e.g. "--set capacity=0")
// where a file's errors name the file, without a line.
func Check(s *Scenario, origin string) error {
	c := &checker{file: origin, doc: yamlcheck.Empty(limits)}
	c.validate(s)
	if !c.doc.OK() {
		return c.problems()
	}
	return nil
}
