package sdkcompat

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// TestSDKMatrix runs every case with every SDK and compares what the SDK did with what its preset predicts for the
// same answers: the attempt count, each pause (within 50 ms of the range the preset's jitter allows), the class
// of the error the call ended with, and the text of a successful one. A preset that disagrees with its SDK fails
// here. The matrix is printed at the end (go test -v).
func TestSDKMatrix(t *testing.T) {
	var mu sync.Mutex
	cells := map[[2]string]string{}
	t.Run("cases", func(t *testing.T) {
		for _, s := range sdks {
			for _, c := range cases {
				t.Run(s.name+"/"+c.name, func(t *testing.T) {
					t.Parallel()
					var obs observed
					switch s.name {
					case "anthropic-go", "openai-go":
						obs = runGo(t, s.name, c)
					default:
						nodeReady(t)
						obs = runNode(t, s.name, c)
					}
					got := verify(t, s.preset, c, obs, 0)
					mu.Lock()
					cells[[2]string{s.name, c.name}] = got
					mu.Unlock()
				})
			}
		}
	})
	t.Log("\n" + matrix(cells))
}

// matrix renders the results: a row per case, a column per SDK; each cell says ok or FAIL, the attempts, the pauses
// and the error class.
func matrix(cells map[[2]string]string) string {
	head := []string{"case"}
	for _, s := range sdks {
		head = append(head, s.name+" ("+s.preset+")")
	}
	rows := [][]string{head}
	for _, c := range cases {
		row := []string{c.name}
		for _, s := range sdks {
			v, ok := cells[[2]string{s.name, c.name}]
			if !ok {
				v = "skipped"
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	width := make([]int, len(head))
	for _, r := range rows {
		for i, v := range r {
			width[i] = max(width[i], utf8.RuneCountInString(v))
		}
	}
	var b strings.Builder
	for ri, r := range rows {
		b.WriteString("|")
		for i, v := range r {
			fmt.Fprintf(&b, " %s%s |", v, strings.Repeat(" ", width[i]-utf8.RuneCountInString(v)))
		}
		b.WriteString("\n")
		if ri == 0 {
			b.WriteString("|")
			for _, w := range width {
				b.WriteString(strings.Repeat("-", w+2) + "|")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
