// Package sdkcompat holds the compatibility tests that drive the real LLM SDKs — anthropic-sdk-go, openai-go, and
// the TypeScript @anthropic-ai/sdk and openai packages from the lockfile in node/ — against stampede's server, and
// compare what each SDK did (attempts, each pause, the class of its error) with what its preset in strategies
// predicts for the same answers. It is a module of its own so that `go test ./...` of stampede compiles no SDK;
// .ci/run runs it explicitly (`cd sdkcompat && go test ./...`, after `npm ci --prefix node`).
package sdkcompat
