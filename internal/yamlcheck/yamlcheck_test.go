package yamlcheck

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type Inner struct {
	Status int      `yaml:"status"`
	Codes  []string `yaml:"codes"`
}

type schema struct {
	Name  string           `yaml:"name"`
	Items []Inner          `yaml:"items"`
	ByKey map[string]Inner `yaml:"by_key"`
	Inner `yaml:",inline"`
}

var lim = Limits{MaxBytes: 4096, MaxAliasNodes: 50, MaxProblems: 3}

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []Problem
	}{
		{"fine", "name: x\nitems: [{status: 1}]\nstatus: 2\n", nil},
		{"JSON is YAML", `{"name": "x", "items": [{"status": 1, "codes": ["a"]}]}`, nil},
		{"unknown field, valid names", "name: x\nitems:\n  - {stauts: 1}\n", []Problem{{3, 6, "items[0].stauts", `unknown field "stauts" (valid: codes, status)`}}},
		{"inline fields are fields", "codes: [a]\n", nil},
		{"any key of a map, its value checked", "by_key:\n  a: {status: 1}\n  b: {stauts: 2}\n", []Problem{{3, 7, "by_key.b.stauts", `unknown field "stauts" (valid: codes, status)`}}},
		{"syntax", "name: [\n", []Problem{{1, 0, "", "did not find expected node content"}}},
		{"empty", "", []Problem{{0, 0, "", "nothing here"}}},
		{"a list", "[1, 2]", []Problem{{1, 1, "", "want a mapping of fields (an object), got a list"}}},
		{"a scalar", "null", []Problem{{1, 1, "", `want a mapping of fields (an object), got "null"`}}},
		{"too large", strings.Repeat("#", 5000), []Problem{{0, 0, "", TooLarge(4096)}}},
		{"aliases within the bound", "items: [&a {codes: [a, b]}, *a, *a]\n", nil},
		{"aliases past the bound", "name: x\ncodes: &c [" + strings.Repeat("a,", 20) + "a]\nitems: [{codes: *c}, {codes: *c}, {codes: *c}]\n",
			[]Problem{{3, 8, "", "aliases expand the document by more than 50 nodes (a document repeats a block a few times at most)"}}},
		{"problems past the cap are counted", "a: 1\nb: 1\nc: 1\nd: 1\ne: 1\n", []Problem{
			{1, 1, "a", `unknown field "a" (valid: by_key, codes, items, name, status)`},
			{2, 1, "b", `unknown field "b" (valid: by_key, codes, items, name, status)`},
			{3, 1, "c", `unknown field "c" (valid: by_key, codes, items, name, status)`},
			{0, 0, "", "and 2 more problems (the first 3 are listed)"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Parse([]byte(c.in), reflect.TypeOf(schema{}), lim, "nothing here", nil)
			assert.Equal(t, c.want, d.Problems())
			assert.Equal(t, c.want == nil, d.OK())
		})
	}
}

func TestDecodeAndLocate(t *testing.T) {
	d := Parse([]byte("name: x\nitems:\n  - status: many\n"), reflect.TypeOf(schema{}), lim, "", nil)
	require.True(t, d.OK())
	var s schema
	assert.False(t, d.Decode(&s))
	p := d.Problems()
	require.Len(t, p, 1)
	assert.Equal(t, 3, p[0].Line)
	assert.Equal(t, "items[0].status", p[0].Field)
	assert.Contains(t, p[0].Msg, "cannot unmarshal !!str `many`")

	line, col := d.At("items[0].codes[3]") // absent: its nearest ancestor
	assert.Equal(t, []int{3, 5}, []int{line, col})
	d.Fail("items[0].status", "must be %s", "small")
	assert.Equal(t, Problem{3, 5, "items[0].status", "must be small"}, d.Problems()[1])
}
