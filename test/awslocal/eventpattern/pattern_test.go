package eventpattern

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// sample is the EC2 event of AWS's content-filtering examples.
func sample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/ec2-state-change.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// with returns the sample event with top-level fields replaced (a nil
// value removes the field).
func with(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(sample(t), &ev); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if v == nil {
			delete(ev, k)
			continue
		}
		ev[k] = v
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// detail returns the sample event with its detail replaced by a JSON text.
func detail(t testing.TB, js string) []byte {
	t.Helper()
	return with(t, map[string]any{"detail": json.RawMessage(js)})
}

func TestMatch(t *testing.T) {
	base := sample(t)
	cases := []struct {
		name    string
		pattern string
		event   []byte // nil: the sample
		want    bool
	}{
		// Event patterns: exact values.
		{"empty detail match is not needed", `{"source": ["aws.ec2"]}`, nil, true},
		{"source and detail-type and nested state", `{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["running"]}}`, nil, true},
		{"one alternative of several", `{"detail": {"state": ["initializing", "running"]}}`, nil, true},
		{"no alternative", `{"detail": {"state": ["stopped", "terminated"]}}`, nil, false},
		{"strings are case-sensitive", `{"source": ["AWS.EC2"]}`, nil, false},
		{"field absent from the event", `{"detail": {"missing": ["x"]}}`, nil, false},
		{"nesting must be the same", `{"state": ["running"]}`, nil, false},
		{"resources: intersection of arrays", `{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000", "other"]}`, nil, true},
		{"resources: empty intersection", `{"resources": ["other"]}`, nil, false},
		{"number by value", `{"detail": {"x-limit": [301.8]}}`, nil, true},
		{"number by value, other notation", `{"detail": {"x-limit": [3.018e2]}}`, nil, true},
		{"integer matches a float of the same value", `{"detail": {"c-count": [5.0]}}`, nil, true},
		{"number does not match a string", `{"detail": {"c-count": ["5"]}}`, nil, false},
		{"string does not match a number", `{"detail": {"n": [5]}}`, detail(t, `{"n": "5"}`), false},
		{"big number by text", `{"account": [123456789012]}`, with(t, map[string]any{"account": 123456789012}), true},
		{"true", `{"detail": {"b": [true]}}`, detail(t, `{"b": true}`), true},
		{"true is not the string", `{"detail": {"b": [true]}}`, detail(t, `{"b": "true"}`), false},
		{"true is not 1", `{"detail": {"b": [1]}}`, detail(t, `{"b": true}`), false},
		{"null matches null", `{"detail": {"n": [null]}}`, detail(t, `{"n": null}`), true},
		{"null does not match absence", `{"detail": {"n": [null]}}`, detail(t, `{}`), false},
		{"null does not match the empty string", `{"detail": {"n": [null]}}`, detail(t, `{"n": ""}`), false},
		{"empty string", `{"detail": {"n": [""]}}`, detail(t, `{"n": ""}`), true},
		{"array element", `{"detail": {"tags": ["b"]}}`, detail(t, `{"tags": ["a", "b"]}`), true},
		{"nested arrays are flattened", `{"detail": {"tags": ["c"]}}`, detail(t, `{"tags": [["a"], ["b", ["c"]]]}`), true},
		{"object is not a value", `{"detail": ["x"]}`, nil, false},

		// Arrays of objects (Event Ruler's array consistency).
		{"object in an array", `{"detail": {"employees": {"firstName": ["Anna"]}}}`, detail(t, `{"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]}`), true},
		{"two fields of one element", `{"detail": {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}}`, detail(t, `{"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]}`), true},
		{"two fields of different elements", `{"detail": {"employees": {"firstName": ["Anna"], "lastName": ["Doe"]}}}`, detail(t, `{"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]}`), false},
		{"multi-level arrays", `{"detail": {"employees": {"firstName": ["Peter"]}}}`, detail(t, `{"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]}`), true},

		// Prefix, suffix, equals-ignore-case.
		{"prefix", `{"time": [{"prefix": "2017-10-02"}]}`, nil, true},
		{"prefix, no match", `{"time": [{"prefix": "2018"}]}`, nil, false},
		{"prefix is case-sensitive", `{"source": [{"prefix": "AWS."}]}`, nil, false},
		{"prefix on a number", `{"detail": {"c-count": [{"prefix": "5"}]}}`, nil, false},
		{"prefix ignoring case", `{"source": [{"prefix": {"equals-ignore-case": "AWS."}}]}`, nil, true},
		{"prefix ignoring case, no match", `{"source": [{"prefix": {"equals-ignore-case": "AWS.S3"}}]}`, nil, false},
		{"suffix", `{"source": [{"suffix": "ec2"}]}`, nil, true},
		{"suffix, no match", `{"source": [{"suffix": ".png"}]}`, nil, false},
		{"suffix ignoring case", `{"source": [{"suffix": {"equals-ignore-case": "EC2"}}]}`, nil, true},
		{"equals-ignore-case", `{"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}`, nil, true},
		{"equals-ignore-case, no match", `{"source": [{"equals-ignore-case": "aws.ec"}]}`, nil, false},
		{"equals-ignore-case on a number", `{"detail": {"c-count": [{"equals-ignore-case": "5"}]}}`, nil, false},

		// Wildcard.
		{"wildcard", `{"source": [{"wildcard": "aws.*"}]}`, nil, true},
		{"wildcard in the middle", `{"detail": {"instance-id": [{"wildcard": "i-*00000"}]}}`, nil, true},
		{"wildcard, several stars", `{"resources": [{"wildcard": "arn:aws:ec2:*:123456789012:instance/*"}]}`, nil, true},
		{"wildcard, no match", `{"resources": [{"wildcard": "arn:aws:s3:*"}]}`, nil, false},
		{"wildcard, star matches nothing", `{"source": [{"wildcard": "aws.ec2*"}]}`, nil, true},
		{"wildcard, whole value", `{"source": [{"wildcard": "aws.ec"}]}`, nil, false},
		{"wildcard, escaped star", `{"detail": {"p": [{"wildcard": "a\\*b"}]}}`, detail(t, `{"p": "a*b"}`), true},
		{"wildcard, escaped star is literal", `{"detail": {"p": [{"wildcard": "a\\*b"}]}}`, detail(t, `{"p": "axb"}`), false},
		{"wildcard, overlapping segments", `{"detail": {"p": [{"wildcard": "*ab*ab"}]}}`, detail(t, `{"p": "xabab"}`), true},
		{"wildcard, suffix overlaps prefix", `{"detail": {"p": [{"wildcard": "ab*ba"}]}}`, detail(t, `{"p": "aba"}`), false},

		// Anything-but.
		{"anything-but string", `{"detail": {"state": [{"anything-but": "initializing"}]}}`, nil, true},
		{"anything-but string, excluded", `{"detail": {"state": [{"anything-but": "running"}]}}`, nil, false},
		{"anything-but number", `{"detail": {"x-limit": [{"anything-but": 123}]}}`, nil, true},
		{"anything-but number, excluded by value", `{"detail": {"x-limit": [{"anything-but": 3.018e2}]}}`, nil, false},
		{"anything-but list of strings", `{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}`, nil, true},
		{"anything-but list of strings, excluded", `{"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}`, nil, false},
		{"anything-but list of numbers", `{"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}`, nil, true},
		{"anything-but list of numbers, excluded", `{"detail": {"c-count": [{"anything-but": [4, 5]}]}}`, nil, false},
		{"anything-but string matches a number", `{"detail": {"c-count": [{"anything-but": "5"}]}}`, nil, true},
		{"anything-but never matches absence", `{"detail": {"missing": [{"anything-but": "x"}]}}`, nil, false},
		{"anything-but on an array: another element", `{"detail": {"tags": [{"anything-but": "a"}]}}`, detail(t, `{"tags": ["a", "b"]}`), true},
		{"anything-but on an array: every element excluded", `{"detail": {"tags": [{"anything-but": ["a", "b"]}]}}`, detail(t, `{"tags": ["a", "b"]}`), false},
		{"anything-but prefix", `{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}`, nil, true},
		{"anything-but prefix, excluded", `{"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}`, nil, false},
		{"anything-but prefix list", `{"region": [{"anything-but": {"prefix": ["eu-", "us-"]}}]}`, nil, false},
		{"anything-but suffix", `{"detail": {"file": [{"anything-but": {"suffix": ".png"}}]}}`, detail(t, `{"file": "a.jpg"}`), true},
		{"anything-but suffix, excluded", `{"detail": {"file": [{"anything-but": {"suffix": ".png"}}]}}`, detail(t, `{"file": "a.png"}`), false},
		{"anything-but equals-ignore-case", `{"detail": {"state": [{"anything-but": {"equals-ignore-case": "INITIALIZING"}}]}}`, nil, true},
		{"anything-but equals-ignore-case, excluded", `{"detail": {"state": [{"anything-but": {"equals-ignore-case": ["STOPPED", "RUNNING"]}}]}}`, nil, false},
		{"anything-but wildcard", `{"detail": {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}}`, detail(t, `{"path": "/usr/bin/x"}`), true},
		{"anything-but wildcard, excluded", `{"detail": {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}}`, detail(t, `{"path": "/usr/lib/x"}`), false},
		{"anything-but prefix matches a number", `{"detail": {"c-count": [{"anything-but": {"prefix": "5"}}]}}`, nil, true},

		// Numeric.
		{"numeric range", `{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}`, nil, true},
		{"numeric range, upper bound open", `{"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}`, nil, false},
		{"numeric range, lower bound closed", `{"detail": {"c-count": [{"numeric": [">=", 5, "<", 6]}]}}`, nil, true},
		{"numeric range, lower bound open", `{"detail": {"c-count": [{"numeric": [">", 5]}]}}`, nil, false},
		{"numeric less than", `{"detail": {"d-count": [{"numeric": ["<", 10]}]}}`, nil, true},
		{"numeric less or equal", `{"detail": {"d-count": [{"numeric": ["<=", 3]}]}}`, nil, true},
		{"numeric greater or equal", `{"detail": {"d-count": [{"numeric": [">=", 3.5]}]}}`, nil, false},
		{"numeric equals", `{"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}`, nil, true},
		{"numeric equals, no match", `{"detail": {"x-limit": [{"numeric": ["=", 301.9]}]}}`, nil, false},
		{"numeric negative", `{"detail": {"t": [{"numeric": ["<", -1.5]}]}}`, detail(t, `{"t": -2}`), true},
		{"numeric, six decimal places", `{"detail": {"t": [{"numeric": ["=", 0.0000001]}]}}`, detail(t, `{"t": 0.0000002}`), true},
		{"numeric on a string", `{"detail": {"t": [{"numeric": [">", 0]}]}}`, detail(t, `{"t": "5"}`), false},
		{"numeric out of range", `{"detail": {"t": [{"numeric": [">", 0]}]}}`, detail(t, `{"t": 6e9}`), false},
		{"numeric on an array", `{"detail": {"t": [{"numeric": [">", 10]}]}}`, detail(t, `{"t": [1, 20]}`), true},
		{"two ranges", `{"detail": {"c-count": [{"numeric": ["<", 1]}, {"numeric": [">", 4]}]}}`, nil, true},

		// Exists.
		{"exists true", `{"detail": {"c-count": [{"exists": true}]}}`, nil, true},
		{"exists true, absent", `{"detail": {"e-count": [{"exists": true}]}}`, nil, false},
		{"exists false", `{"detail": {"e-count": [{"exists": false}]}}`, nil, true},
		{"exists false, present", `{"detail": {"c-count": [{"exists": false}]}}`, nil, false},
		{"exists false, whole branch absent", `{"detail": {"a": {"b": [{"exists": false}]}}}`, nil, true},
		{"exists true, null is present", `{"detail": {"n": [{"exists": true}]}}`, detail(t, `{"n": null}`), true},
		{"exists true on an object: not a leaf", `{"detail": {"c-count": [{"exists": true}]}}`, detail(t, `{"c-count": {"c1": 100}}`), false},
		{"exists false on an object: not a leaf", `{"detail": {"c-count": [{"exists": false}]}}`, detail(t, `{"c-count": {"c1": 100}}`), true},
		{"exists false on an empty array", `{"detail": {"tags": [{"exists": false}]}}`, detail(t, `{"tags": []}`), true},
		{"exists false looks at every element", `{"detail": {"items": {"x": [{"exists": false}]}}}`, detail(t, `{"items": [{"x": 1}, {"y": 2}]}`), false},
		{"exists false or a value", `{"detail": {"state": ["stopped", {"exists": false}]}}`, nil, false},
		{"exists false or a value, absent", `{"detail": {"other": ["stopped", {"exists": false}]}}`, nil, true},

		// CIDR.
		{"cidr", `{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}`, nil, true},
		{"cidr, outside", `{"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}`, nil, false},
		{"cidr IPv6", `{"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}`, detail(t, `{"ip": "2001:db8::1"}`), true},
		{"cidr on a string that is no address", `{"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}`, detail(t, `{"ip": "ten"}`), false},

		// $or.
		{"$or of fields", `{"source": ["aws.ec2"], "$or": [{"detail-type": ["nope"]}, {"detail": {"state": ["running"]}}]}`, nil, true},
		{"$or, no alternative", `{"$or": [{"source": ["aws.s3"]}, {"region": ["eu-west-1"]}]}`, nil, false},
		{"$or inside detail", `{"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"d-count": [{"numeric": ["<", 10]}]}]}}`, nil, true},
		{"$or with an and inside", `{"$or": [{"source": ["aws.s3"]}, {"source": ["aws.ec2"], "region": ["us-east-1"]}]}`, nil, true},
		{"$or with an and inside, half matches", `{"$or": [{"source": ["aws.s3"]}, {"source": ["aws.ec2"], "region": ["eu-west-1"]}]}`, nil, false},
		{"parallel $or", `{"$or": [{"source": ["aws.ec2"]}, {"source": ["aws.s3"]}], "detail": {"$or": [{"state": ["running"]}, {"c-count": [99]}]}}`, nil, true},
		{"nested $or", `{"$or": [{"source": ["x"]}, {"region": ["us-east-1"], "$or": [{"account": ["1"]}, {"detail": {"d-count": [3]}}]}]}`, nil, true},

		// The complex example of Event Ruler's README.
		{"complex example", `{"time": [{"prefix": "2017-10-02"}], "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}], "source-ip": [{"cidr": "10.0.0.0/8"}]}}`, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]byte(tc.pattern))
			if err != nil {
				t.Fatalf("Compile(%s): want a pattern, got %v", tc.pattern, err)
			}
			ev := tc.event
			if ev == nil {
				ev = base
			}
			if got := p.Match(ev); got != tc.want {
				t.Errorf("Match: want %v, got %v\npattern: %s\nevent: %s", tc.want, got, tc.pattern, ev)
			}
		})
	}
}

func TestMatchEventThatIsNotAnObject(t *testing.T) {
	p := MustCompile(`{"source": [{"exists": false}]}`)
	for _, ev := range []string{``, `[]`, `"x"`, `null`, `{"source": 1} trailing`, `{`} {
		if p.Match([]byte(ev)) {
			t.Errorf("Match(%q): want false, got true", ev)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		reason  string
	}{
		{"not JSON", `{"source": [`, "Filter is not valid JSON"},
		{"trailing data", `{"source": ["a"]} x`, "Filter is not valid JSON"},
		{"not an object", `["aws.ec2"]`, "Filter is not an object"},
		{"empty object", `{}`, "Empty objects are not allowed"},
		{"empty nested object", `{"detail": {}}`, "Empty objects are not allowed"},
		{"bare string value", `{"source": "aws.ec2"}`, `"source" must be an object or an array`},
		{"bare number value", `{"detail": {"n": 5}}`, `"n" must be an object or an array`},
		{"empty array", `{"source": []}`, "Empty arrays are not allowed"},
		{"array in array", `{"source": [["a"]]}`, "Match value must be String, number, true, false, or null"},
		{"duplicate field", `{"source": ["a"], "source": ["b"]}`, "Path `source` cannot be allowed multiple times"},
		{"empty match expression", `{"source": [{}]}`, "Match expression name not found"},
		{"unknown match type", `{"source": [{"contains": "ec2"}]}`, "Unrecognized match type contains"},
		{"two keys in a match expression", `{"source": [{"prefix": "a", "suffix": "b"}]}`, "Only one key allowed in match expression"},
		{"prefix of a number", `{"source": [{"prefix": 5}]}`, "prefix match pattern must be a string"},
		{"prefix list", `{"source": [{"prefix": ["a"]}]}`, "prefix match pattern must be a string"},
		{"prefix with another operator", `{"source": [{"prefix": {"wildcard": "a"}}]}`, "Unsupported prefix pattern: wildcard"},
		{"suffix of a bool", `{"source": [{"suffix": true}]}`, "suffix match pattern must be a string"},
		{"suffix ignoring case of a number", `{"source": [{"suffix": {"equals-ignore-case": 1}}]}`, "equals-ignore-case match pattern must be a string"},
		{"equals-ignore-case list", `{"source": [{"equals-ignore-case": ["a"]}]}`, "equals-ignore-case match pattern must be a string"},
		{"wildcard of a number", `{"source": [{"wildcard": 1}]}`, "wildcard match pattern must be a string"},
		{"wildcard with two stars", `{"source": [{"wildcard": "a**b"}]}`, "Consecutive wildcard characters at pos 2"},
		{"wildcard with a bad escape", `{"source": [{"wildcard": "a\\b"}]}`, "Invalid escape character at pos 2"},
		{"numeric not an array", `{"n": [{"numeric": ">"}]}`, "Value of numeric must be an array."},
		{"numeric empty", `{"n": [{"numeric": []}]}`, "Invalid member in numeric match: ]"},
		{"numeric starts with a number", `{"n": [{"numeric": [5]}]}`, "Invalid member in numeric match: 5"},
		{"numeric unknown operator", `{"n": [{"numeric": ["!=", 5]}]}`, "Unrecognized numeric range operator: !="},
		{"numeric value is a string", `{"n": [{"numeric": [">", "5"]}]}`, "Value of > must be numeric"},
		{"numeric equals with more", `{"n": [{"numeric": ["=", 5, "<", 6]}]}`, "Too many elements in numeric expression"},
		{"numeric equals a string", `{"n": [{"numeric": ["=", "5"]}]}`, "Value of equals must be numeric"},
		{"numeric less than with more", `{"n": [{"numeric": ["<", 5, ">", 1]}]}`, "Too many elements in numeric expression"},
		{"numeric range, bad second operator", `{"n": [{"numeric": [">", 0, ">", 5]}]}`, "Bad numeric range operator: >"},
		{"numeric range, second not an operator", `{"n": [{"numeric": [">", 0, 5]}]}`, "Bad value in numeric range: 5"},
		{"numeric range, missing top", `{"n": [{"numeric": [">", 0, "<"]}]}`, "Value of < must be numeric"},
		{"numeric range, too many terms", `{"n": [{"numeric": [">", 0, "<", 5, 6]}]}`, "Too many terms in numeric range expression"},
		{"numeric range, empty", `{"n": [{"numeric": [">", 5, "<", 5]}]}`, "Bottom must be less than top"},
		{"numeric out of range", `{"n": [{"numeric": [">", 5e10]}]}`, "Value must be between -5.0E9 and 5.0E9, inclusive"},
		{"exists not a bool", `{"n": [{"exists": "true"}]}`, "exists match pattern must be either true or false."},
		{"cidr not a string", `{"n": [{"cidr": 10}]}`, "cidr match pattern must be a string"},
		{"cidr malformed", `{"n": [{"cidr": "10.0.0.0/33"}]}`, "Nonstandard IP address: 10.0.0.0/33"},
		{"anything-but null", `{"n": [{"anything-but": null}]}`, "Value of anything-but must be an array or single string/number value."},
		{"anything-but list with null", `{"n": [{"anything-but": ["a", null]}]}`, "Inside anything but list, start|null|boolean is not supported."},
		{"anything-but mixed list", `{"n": [{"anything-but": ["a", 1]}]}`, "Inside anything but list, either all values are number or string, mixed type is not supported"},
		{"anything-but empty list", `{"n": [{"anything-but": []}]}`, "Inside anything but list, either all values are number or string, mixed type is not supported"},
		{"anything-but empty object", `{"n": [{"anything-but": {}}]}`, "Anything-But expression name not found"},
		{"anything-but unsupported", `{"n": [{"anything-but": {"numeric": [">", 1]}}]}`, "Unsupported anything-but pattern: numeric"},
		{"anything-but empty prefix", `{"n": [{"anything-but": {"prefix": ""}}]}`, "Null prefix/suffix not allowed"},
		{"anything-but prefix number", `{"n": [{"anything-but": {"prefix": 1}}]}`, "Value of anything-but must be an array or single string/number value."},
		{"anything-but suffix list with number", `{"n": [{"anything-but": {"suffix": ["a", 1]}}]}`, "prefix/suffix match pattern must be a string"},
		{"anything-but equals-ignore-case number", `{"n": [{"anything-but": {"equals-ignore-case": [1]}}]}`, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."},
		{"anything-but wildcard with two stars", `{"n": [{"anything-but": {"wildcard": "**"}}]}`, "Consecutive wildcard characters at pos 1"},
		{"$or not an array", `{"$or": {"source": ["a"]}}`, "It must be an Array followed with $or."},
		{"$or of one", `{"$or": [{"source": ["a"]}]}`, "There must have at least 2 Objects in $or relationship."},
		{"$or of a non-object", `{"$or": [{"source": ["a"]}, ["b"]]}`, "Only JSON object is allowed in array of $or relationship."},
		{"$or with a reserved name", `{"$or": [{"numeric": [1]}, {"source": ["a"]}]}`, "numeric is Ruler reserved fieldName which cannot be used inside $or."},
		{"$or with an empty object", `{"$or": [{}, {"source": ["a"]}]}`, "Empty objects are not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]byte(tc.pattern))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Compile(%s): want an *Error, got pattern %v, error %v", tc.pattern, p, err)
			}
			if perr.Reason != tc.reason {
				t.Errorf("Compile(%s): want reason %q, got %q", tc.pattern, tc.reason, perr.Reason)
			}
			if want := "Event pattern is not valid. Reason: " + tc.reason; err.Error() != want {
				t.Errorf("Error(): want %q, got %q", want, err.Error())
			}
		})
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustCompile of a bad pattern: want a panic, got none")
		}
	}()
	MustCompile(`{}`)
}

func TestParseEventOnce(t *testing.T) {
	ev, err := ParseEvent(sample(t))
	if err != nil {
		t.Fatalf("ParseEvent: want the sample parsed, got %v", err)
	}
	for _, p := range []string{`{"source": ["aws.ec2"]}`, `{"detail": {"state": ["running"]}}`} {
		if !MustCompile(p).MatchEvent(ev) {
			t.Errorf("MatchEvent(%s): want true, got false", p)
		}
	}
	if MustCompile(`{"source": ["aws.ec2"]}`).MatchEvent(Event{}) {
		t.Error("MatchEvent of a zero Event: want false, got true")
	}
	if _, err := ParseEvent([]byte(`null`)); err == nil {
		t.Error("ParseEvent(null): want an error, got nil")
	}
}

func TestWildcardSegments(t *testing.T) {
	cases := []struct {
		pattern, value string
		want           bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"*a*", "xyz", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"a*a", "a", false},
		{"\\\\*", "\\x", true},
		{strings.Repeat("a*", 20) + "b", strings.Repeat("a", 40), false},
	}
	for _, tc := range cases {
		w, err := compileWildcard(tc.pattern)
		if err != nil {
			t.Fatalf("compileWildcard(%q): %v", tc.pattern, err)
		}
		if got := w.matchString(tc.value); got != tc.want {
			t.Errorf("wildcard %q on %q: want %v, got %v", tc.pattern, tc.value, tc.want, got)
		}
	}
}
