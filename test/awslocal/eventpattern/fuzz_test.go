package eventpattern

import (
	"errors"
	"os"
	"testing"
)

// FuzzMatch feeds arbitrary patterns and events: Compile either compiles
// or returns an *Error, and Match never panics.
func FuzzMatch(f *testing.F) {
	ev, err := os.ReadFile("testdata/ec2-state-change.json")
	if err != nil {
		f.Fatal(err)
	}
	seeds := []string{
		`{"source": ["aws.ec2"]}`,
		`{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}`,
		`{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}`,
		`{"$or": [{"source": ["x"]}, {"detail": {"x": [{"exists": false}]}}]}`,
		`{"source": [{"wildcard": "a*b\\*c"}], "resources": [{"cidr": "10.0.0.0/8"}]}`,
		`{"detail": {"employees": {"firstName": [{"prefix": {"equals-ignore-case": "AN"}}]}}}`,
		`{"n": [null, true, 1e400, -0, ""]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), ev)
	}
	f.Add([]byte(`{"detail": {"a": [{"exists": true}]}}`), []byte(`{"detail": {"a": [[{"b": 1}], [], null]}}`))
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := Compile(pattern)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Compile: want an *Error, got %T %v", err, err)
			}
			return
		}
		p.Match(event)
	})
}
