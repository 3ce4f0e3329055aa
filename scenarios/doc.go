// Package scenarios is stampede's scenario schema and loader.
//
// A scenario file describes the server, the fleet, the run's length and the strategies to compare; the Go
// structs are the YAML schema (Scenario here, fakeserver.Config, sim.Fleet and strategies.Spec for the parts).
// Load rejects unknown fields and bad values with errors naming the file, line, column and field path, and the
// shipped *.yaml files are embedded in the binary and loadable by name.
package scenarios
