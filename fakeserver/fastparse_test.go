package fakeserver

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzFastRequest is a differential test of the fast path: whenever fastRequest reads a body, encoding/json must
// read it too, and find the same fields for both dialects. `go test` runs the seeds; `go test -fuzz FuzzFastRequest
// ./fakeserver` explores.
func FuzzFastRequest(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var r fastReq
		if !fastRequest([]byte(body), &r) {
			return
		}
		var a anthropicRequest
		require.NoError(t, json.Unmarshal([]byte(body), &a), "the fast path read %q, encoding/json refuses it", body)
		ra := a.fields()
		var o openaiRequest
		require.NoError(t, json.Unmarshal([]byte(body), &o), "the fast path read %q, encoding/json refuses it", body)
		ro := o.fields()
		same := func(what string, fast, slow any) {
			if !assert.Equal(t, slow, fast, "%s of %q", what, body) {
				t.FailNow()
			}
		}
		same("model", r.model, ra.model)
		same("model present", r.hasModel, ra.hasModel)
		same("max_tokens", r.maxTokens, ra.maxTokens)
		same("max_tokens present", r.hasMaxTokens, ra.hasMaxTokens)
		same("messages present", r.hasMessages, ra.hasMessages)
		same("messages", slices.Clip(r.messages), slices.Clip(orEmpty(ra.messages, r.messages)))
		same("system", r.system, ra.system)
		same("stream", r.stream, ra.stream)
		same("previous_message_id", r.previousMessageID, ra.previousMessageID)
		same("openai messages", slices.Clip(r.messages), slices.Clip(orEmpty(ro.messages, r.messages)))
		same("stream_options present", r.hasStreamOptions, ro.hasStreamOptions)
		same("include_usage", r.includeUsage, ro.includeUsage)
		same("previous_response_id", r.previousResponseID, ro.previousResponseID)
	})
}

// orEmpty makes an empty slice compare equal to the fast path's (nil or empty alike).
func orEmpty(slow, fast []fastMsg) []fastMsg {
	if len(slow) == 0 && len(fast) == 0 {
		return fast
	}
	return slow
}

var fastSeeds = []string{
	anthropicBody, openaiBody,
	`{"stream":true,"model":"claude-stampede","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}`,
	`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"previous_message_id":"msg_01zzzzzzzzzzzzzzzzzzzzzz"}`,
	`{"model":"gpt","messages":[{"role":"system","content":null},{"role":"user","content":"hé"}],"stream":true,"stream_options":{"include_usage":true}}`,
	` { "model" : "m" , "system" : [ {"type":"text","text":"be brief"} ] , "messages" : [ ] , "max_tokens" : -0 } `,
	`{"model":"m","MODEL":"n","messages":[]}`, `{"Model":"m"}`, `{"model":"m","model":"n"}`,
	`{"model":"\u006d","messages":[{"role":"user","content":"x"}]}`, `{"model":null}`, `{"max_tokens":1.0}`,
	`{"max_tokens":99999999999999999999}`, `{"max_tokens":1e2}`, `{"messages":[{"role":"user","content":"x","role":"assistant"}]}`,
	`{"messages":[{"content":"a"}],"messages":[{"role":"user"}]}`, `{"stream_options":{"include_usage":true,"Include_Usage":false},"stream":true}`,
	`{"x":[1,2,{"y":[true,false,null,"\n"]}],"model":"m"}`, `{"model":"m"} x`, `{"model":"m",}`, `{"model":"a` + "\x01" + `"}`,
	`{"model":"\xff"}`, `{"ſtream":true}`, `[]`, `null`, `{}`, `{"system":"\ud800"}`, `{"model":"m","max_tokens":01}`,
}

// TestFastRequestGivesUp: the fast path hands the bodies it does not read exactly to encoding/json.
func TestFastRequestGivesUp(t *testing.T) {
	for _, body := range []string{
		`{"model":"m","MODEL":"n"}`, `{"Model":"m"}`, `{"model":"m","model":"n"}`, `{"model":"\u006d"}`, `{"model":null}`,
		`{"max_tokens":1.0}`, `{"max_tokens":1e2}`, `{"max_tokens":99999999999999999999}`, `{"model":"m"} x`, `{"model":"m",}`,
		`{"model":"\xff"}`, `{"ſtream":true}`, `[]`, `null`, `{"messages":[{"content":"a","content":"b"}]}`, `{"model":"a` + "\x01" + `"}`,
	} {
		var r fastReq
		assert.False(t, fastRequest([]byte(body), &r), "%s", body)
	}
	var r fastReq
	require.True(t, fastRequest([]byte(`{"model":"m","x":{"y":[1,-2.5e3,"\"\\u00e9",true,null]},"messages":[{"role":"user","content":"hé"}]}`), &r))
	assert.Equal(t, "m", r.model)
	assert.Equal(t, []fastMsg{{role: "user", content: jsonSize(len(`"hé"`))}}, r.messages)
}
