package bug

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecover(t *testing.T) {
	cases := []struct {
		name  string
		panic any
		want  string
	}{
		{"a value", "index out of range", "index out of range"},
		{"an error", io.ErrUnexpectedEOF, "unexpected EOF"},
		{"a runtime error", nil, "integer divide by zero"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := func() (err error) {
				defer Recover(&err)
				if c.panic == nil {
					zero := 0
					_ = 1 / zero
				}
				panic(c.panic)
			}()
			require.ErrorIs(t, err, ErrBug)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "bug_test.go", "the stack says where")
			if e, ok := c.panic.(error); ok {
				assert.True(t, errors.Is(err, e))
			}
		})
	}
	t.Run("no panic", func(t *testing.T) {
		err := func() (err error) {
			defer Recover(&err)
			return io.EOF
		}()
		assert.Equal(t, io.EOF, err)
	})
}
