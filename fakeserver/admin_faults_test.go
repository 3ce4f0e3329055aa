package fakeserver

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func faultNamesOf(t *testing.T, h *Handler) []string {
	t.Helper()
	w := adminDo(h, "GET", "/_stampede/faults", "", "127.0.0.1:1", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var out struct {
		Faults []map[string]any `json:"faults"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	names := []string{}
	for _, f := range out.Faults {
		names = append(names, f["name"].(string))
	}
	return names
}

// Faults come and go one at a time, by name; the others stay as they were.
func TestFaultsOneAtATime(t *testing.T) {
	h := newTestHandler(t, Config{ServiceTime: Constant(0), Faults: []Fault{{Probability: 0, Rejection: Rejection{Status: 500}}}}, "plain")
	status := func() int { return req{method: "GET", path: "/"}.do(h).Code }
	assert.Equal(t, []string{"fault-1"}, faultNamesOf(t, h), "the scenario's faults are named in file order")
	require.Equal(t, 200, status())

	w := adminDo(h, "POST", "/_stampede/faults", `{"name":"down","probability":1,"status":503,"retry_after":"2s"}`, "127.0.0.1:1", "")
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"added": "down"`)
	a := req{method: "GET", path: "/"}.do(h)
	assert.Equal(t, 503, a.Code)
	assert.Equal(t, "2", a.Header().Get("Retry-After"))

	w = adminDo(h, "POST", "/_stampede/faults", "probability: 0\nstatus: 429\n", "127.0.0.1:1", "")
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.Equal(t, []string{"fault-1", "down", "fault-2"}, faultNamesOf(t, h), "a nameless one gets the next free fault-N")

	require.Equal(t, http.StatusOK, adminDo(h, "DELETE", "/_stampede/faults/down", "", "127.0.0.1:1", "").Code)
	assert.Equal(t, []string{"fault-1", "fault-2"}, faultNamesOf(t, h))
	assert.Equal(t, 200, status(), "the 503 is gone")

	t.Run("refused", func(t *testing.T) {
		cases := []struct {
			name, method, path, body string
			want                     int
			msg                      string
		}{
			{"a name taken", "POST", "/_stampede/faults", `{"name":"fault-1","probability":1,"status":500}`, http.StatusConflict, `"fault-1" is taken`},
			{"a bad name", "POST", "/_stampede/faults", `{"name":"a/b","probability":1,"status":500}`, http.StatusBadRequest, "bad fault name"},
			{"a value of the wrong type", "POST", "/_stampede/faults", `{"probability":"high","status":500}`, http.StatusBadRequest, "high"},
			{"a fault the model refuses", "POST", "/_stampede/faults", `{"probability":2,"status":500}`, http.StatusBadRequest, "probability"},
			{"a misspelt field", "POST", "/_stampede/faults", `{"probabilty":1,"status":500}`, http.StatusBadRequest, "probabilty"},
			{"an unknown name", "DELETE", "/_stampede/faults/falt-2", "", http.StatusNotFound, `no such fault "falt-2" (did you mean "fault-2"?)`},
			{"the wrong method", "GET", "/_stampede/faults/fault-1", "", http.StatusMethodNotAllowed, "DELETE"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				w := adminDo(h, tc.method, tc.path, tc.body, "127.0.0.1:1", "")
				assert.Equal(t, tc.want, w.Code)
				var e struct{ Error string }
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
				assert.Contains(t, e.Error, tc.msg)
				assert.Equal(t, []string{"fault-1", "fault-2"}, faultNamesOf(t, h), "nothing changed")
			})
		}
	})

	// Replacing the list names the new faults afresh; a reset brings back the scenario's.
	require.Equal(t, http.StatusOK, adminDo(h, "PUT", "/_stampede/faults", `{"faults":[{"probability":1,"status":502},{"probability":0,"status":500}]}`, "127.0.0.1:1", "").Code)
	assert.Equal(t, []string{"fault-1", "fault-2"}, faultNamesOf(t, h))
	assert.Equal(t, 502, status())
	require.Equal(t, http.StatusOK, adminDo(h, "POST", "/_stampede/reset", "", "127.0.0.1:1", "").Code)
	assert.Equal(t, []string{"fault-1"}, faultNamesOf(t, h))
	assert.Equal(t, 200, status())
}
