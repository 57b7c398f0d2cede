package eventpattern

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Error is a pattern that does not compile. Its message is EventBridge's
// InvalidEventPatternException message: "Event pattern is not valid.
// Reason: " and the reason Event Ruler gives.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "Event pattern is not valid. Reason: " + e.Reason }

func invalid(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Pattern is a compiled event pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	root *object
}

// object is the pattern of one JSON object: every field must match (AND),
// and each $or group must have a matching alternative.
type object struct {
	fields []*field
	ors    [][]*object
}

// field is one named field of an object pattern: either a nested object
// pattern or a list of alternative leaf matchers.
type field struct {
	name string
	// path is the field's path from the event's root, $or levels left out,
	// for "exists": false, which AWS checks against the whole event.
	path   []string
	sub    *object
	values []matcher
}

// The match types Event Ruler reserves: they may not be field names inside
// $or, where they would be ambiguous.
var reserved = map[string]bool{
	"anything-but": true, "cidr": true, "equals-ignore-case": true, "exists": true,
	"numeric": true, "prefix": true, "suffix": true, "wildcard": true,
}

// Compile parses an event pattern. The error, for a bad pattern, is an
// [*Error].
func Compile(pattern []byte) (*Pattern, error) {
	tree, err := parseTree(pattern)
	if err != nil {
		return nil, invalid("Filter is not valid JSON")
	}
	if tree.kind != kObject {
		return nil, invalid("Filter is not an object")
	}
	root, err := compileObject(tree, nil, false)
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// MustCompile is Compile for patterns known to be good; it panics on a bad
// one.
func MustCompile(pattern string) *Pattern {
	p, err := Compile([]byte(pattern))
	if err != nil {
		panic(err)
	}
	return p
}

func compileObject(n *node, path []string, inOr bool) (*object, error) {
	if len(n.obj) == 0 {
		return nil, invalid("Empty objects are not allowed")
	}
	o := &object{}
	seen := map[string]bool{}
	for _, m := range n.obj {
		if m.key == "$or" {
			alts, err := compileOr(m.val, path)
			if err != nil {
				return nil, err
			}
			o.ors = append(o.ors, alts)
			continue
		}
		if inOr && reserved[m.key] {
			return nil, invalid("%s is Ruler reserved fieldName which cannot be used inside $or.", m.key)
		}
		fpath := append(append([]string(nil), path...), m.key)
		if seen[m.key] {
			return nil, invalid("Path `%s` cannot be allowed multiple times", strings.Join(fpath, "."))
		}
		seen[m.key] = true
		f := &field{name: m.key, path: fpath}
		switch m.val.kind {
		case kObject:
			sub, err := compileObject(m.val, fpath, inOr)
			if err != nil {
				return nil, err
			}
			f.sub = sub
		case kArray:
			values, err := compileValues(m.val)
			if err != nil {
				return nil, err
			}
			f.values = values
		default:
			return nil, invalid("%q must be an object or an array", m.key)
		}
		o.fields = append(o.fields, f)
	}
	return o, nil
}

func compileOr(n *node, path []string) ([]*object, error) {
	if n.kind != kArray {
		return nil, invalid("It must be an Array followed with $or.")
	}
	var alts []*object
	for _, el := range n.arr {
		if el.kind != kObject {
			return nil, invalid("Only JSON object is allowed in array of $or relationship.")
		}
		alt, err := compileObject(el, path, true)
		if err != nil {
			return nil, err
		}
		alts = append(alts, alt)
	}
	if len(alts) < 2 {
		return nil, invalid("There must have at least 2 Objects in $or relationship.")
	}
	return alts, nil
}

func compileValues(n *node) ([]matcher, error) {
	if len(n.arr) == 0 {
		return nil, invalid("Empty arrays are not allowed")
	}
	var out []matcher
	for _, el := range n.arr {
		switch el.kind {
		case kString:
			out = append(out, exactString(el.str))
		case kNumber:
			out = append(out, newExactNumber(el.num))
		case kBool:
			out = append(out, exactBool(el.b))
		case kNull:
			out = append(out, exactNull{})
		case kObject:
			m, err := compileExpression(el)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		default:
			return nil, invalid("Match value must be String, number, true, false, or null")
		}
	}
	return out, nil
}

func compileExpression(n *node) (matcher, error) {
	if len(n.obj) == 0 {
		return nil, invalid("Match expression name not found")
	}
	if len(n.obj) > 1 {
		return nil, invalid("Only one key allowed in match expression")
	}
	name, v := n.obj[0].key, n.obj[0].val
	switch name {
	case "prefix", "suffix":
		s, fold, err := affix(name, v)
		if err != nil {
			return nil, err
		}
		return affixMatcher{s: s, suffix: name == "suffix", fold: fold}, nil
	case "equals-ignore-case":
		if v.kind != kString {
			return nil, invalid("equals-ignore-case match pattern must be a string")
		}
		return equalsFold(v.str), nil
	case "wildcard":
		if v.kind != kString {
			return nil, invalid("wildcard match pattern must be a string")
		}
		w, err := compileWildcard(v.str)
		if err != nil {
			return nil, err
		}
		return w, nil
	case "numeric":
		return compileNumeric(v)
	case "exists":
		if v.kind != kBool {
			return nil, invalid("exists match pattern must be either true or false.")
		}
		return exists(v.b), nil
	case "cidr":
		if v.kind != kString {
			return nil, invalid("cidr match pattern must be a string")
		}
		p, err := netip.ParsePrefix(v.str)
		if err != nil {
			return nil, invalid("Nonstandard IP address: %s", v.str)
		}
		return cidr{p.Masked()}, nil
	case "anything-but":
		return compileAnythingBut(v)
	}
	return nil, invalid("Unrecognized match type %s", name)
}

// affix reads a prefix or suffix operand: a string, or
// {"equals-ignore-case": string}.
func affix(name string, v *node) (s string, fold bool, err error) {
	switch v.kind {
	case kString:
		return v.str, false, nil
	case kObject:
		title := strings.ToUpper(name[:1]) + name[1:]
		if len(v.obj) == 0 {
			return "", false, invalid("%s expression name not found", title)
		}
		if v.obj[0].key != "equals-ignore-case" {
			return "", false, invalid("Unsupported %s pattern: %s", name, v.obj[0].key)
		}
		if v.obj[0].val.kind != kString {
			return "", false, invalid("equals-ignore-case match pattern must be a string")
		}
		if len(v.obj) > 1 {
			return "", false, invalid("Only one key allowed in match expression")
		}
		return v.obj[0].val.str, true, nil
	}
	return "", false, invalid("%s match pattern must be a string", name)
}

// The range Event Ruler compares numbers in, and its precision: six
// decimal places.
const (
	numericLimit = 5.0e9
	numericScale = 1e6
)

// numericKey is a number as Event Ruler compares it: offset into the
// positive range and truncated to six decimal places. ok is false outside
// the range, where numeric matching does not apply.
func numericKey(text string) (key int64, ok bool) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || f < -numericLimit || f > numericLimit {
		return 0, false
	}
	return int64(numericScale * (numericLimit + f)), true
}

func patternNumber(op string, v *node) (int64, error) {
	if v == nil || v.kind != kNumber {
		return 0, invalid("Value of %s must be numeric", op)
	}
	k, ok := numericKey(v.num.String())
	if !ok {
		return 0, invalid("Value must be between %s and %s, inclusive", "-5.0E9", "5.0E9")
	}
	return k, nil
}

func compileNumeric(v *node) (matcher, error) {
	if v.kind != kArray {
		return nil, invalid("Value of numeric must be an array.")
	}
	a := v.arr
	if len(a) == 0 || a[0].kind != kString {
		t := "]"
		if len(a) > 0 {
			t = a[0].text()
		}
		return nil, invalid("Invalid member in numeric match: %s", t)
	}
	at := func(i int) *node {
		if i < len(a) {
			return a[i]
		}
		return nil
	}
	op := a[0].str
	switch op {
	case "=", "<", "<=":
		name := op
		if op == "=" {
			name = "equals"
		}
		k, err := patternNumber(name, at(1))
		if err != nil {
			return nil, err
		}
		if len(a) > 2 {
			return nil, invalid("Too many elements in numeric expression")
		}
		switch op {
		case "=":
			return numeric{hasLo: true, lo: k, hasHi: true, hi: k}, nil
		case "<":
			return numeric{hasHi: true, hi: k, hiOpen: true}, nil
		default:
			return numeric{hasHi: true, hi: k}, nil
		}
	case ">", ">=":
		lo, err := patternNumber(op, at(1))
		if err != nil {
			return nil, err
		}
		r := numeric{hasLo: true, lo: lo, loOpen: op == ">"}
		if len(a) == 2 {
			return r, nil
		}
		if a[2].kind != kString {
			return nil, invalid("Bad value in numeric range: %s", a[2].text())
		}
		op2 := a[2].str
		if op2 != "<" && op2 != "<=" {
			return nil, invalid("Bad numeric range operator: %s", op2)
		}
		hi, err := patternNumber(op2, at(3))
		if err != nil {
			return nil, err
		}
		if len(a) > 4 {
			return nil, invalid("Too many terms in numeric range expression")
		}
		if lo >= hi {
			return nil, invalid("Bottom must be less than top")
		}
		r.hasHi, r.hi, r.hiOpen = true, hi, op2 == "<"
		return r, nil
	}
	return nil, invalid("Unrecognized numeric range operator: %s", op)
}

func compileAnythingBut(v *node) (matcher, error) {
	switch v.kind {
	case kString:
		return anythingBut{strs: map[string]bool{v.str: true}}, nil
	case kNumber:
		k, ok := numericKey(v.num.String())
		if !ok {
			return nil, invalid("Value must be between %s and %s, inclusive", "-5.0E9", "5.0E9")
		}
		return anythingBut{nums: map[int64]bool{k: true}}, nil
	case kArray:
		ab := anythingBut{strs: map[string]bool{}, nums: map[int64]bool{}}
		for _, el := range v.arr {
			switch el.kind {
			case kString:
				ab.strs[el.str] = true
			case kNumber:
				k, ok := numericKey(el.num.String())
				if !ok {
					return nil, invalid("Value must be between %s and %s, inclusive", "-5.0E9", "5.0E9")
				}
				ab.nums[k] = true
			default:
				return nil, invalid("Inside anything but list, start|null|boolean is not supported.")
			}
		}
		if (len(ab.strs) > 0) == (len(ab.nums) > 0) {
			return nil, invalid("Inside anything but list, either all values are number or string, mixed type is not supported")
		}
		return ab, nil
	case kObject:
		if len(v.obj) == 0 {
			return nil, invalid("Anything-But expression name not found")
		}
		op, operand := v.obj[0].key, v.obj[0].val
		switch op {
		case "prefix", "suffix", "equals-ignore-case", "wildcard":
		default:
			return nil, invalid("Unsupported anything-but pattern: %s", op)
		}
		if operand.kind != kString && operand.kind != kArray {
			return nil, invalid("Value of anything-but must be an array or single string/number value.")
		}
		items := []*node{operand}
		if operand.kind == kArray {
			items = operand.arr
		}
		var inner []matcher
		for _, it := range items {
			if it.kind != kString {
				switch op {
				case "equals-ignore-case":
					return nil, invalid("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
				case "wildcard":
					return nil, invalid("wildcard match pattern must be a string")
				}
				return nil, invalid("prefix/suffix match pattern must be a string")
			}
			switch op {
			case "prefix", "suffix":
				if it.str == "" {
					return nil, invalid("Null prefix/suffix not allowed")
				}
				inner = append(inner, affixMatcher{s: it.str, suffix: op == "suffix"})
			case "equals-ignore-case":
				inner = append(inner, equalsFold(it.str))
			case "wildcard":
				w, err := compileWildcard(it.str)
				if err != nil {
					return nil, err
				}
				inner = append(inner, w)
			}
		}
		if len(v.obj) > 1 {
			return nil, invalid("Only one key allowed in match expression")
		}
		return anythingButString{excluded: inner}, nil
	}
	return nil, invalid("Value of anything-but must be an array or single string/number value.")
}
