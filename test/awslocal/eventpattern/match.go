package eventpattern

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Event is a decoded event, to match it against many patterns without
// decoding it for each.
type Event struct {
	root map[string]any
}

// ParseEvent decodes an event. It must be a JSON object.
func ParseEvent(data []byte) (Event, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return Event{}, err
	}
	if root == nil {
		return Event{}, errNotJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, errNotJSON
	}
	return Event{root: root}, nil
}

// Match reports whether the event (JSON) matches the pattern. An event that
// is not a JSON object matches nothing.
func (p *Pattern) Match(event []byte) bool {
	e, err := ParseEvent(event)
	if err != nil {
		return false
	}
	return p.MatchEvent(e)
}

// MatchEvent reports whether a decoded event matches the pattern.
func (p *Pattern) MatchEvent(e Event) bool {
	if e.root == nil {
		return false
	}
	return p.root.match(e.root, true, e.root)
}

// match tests the object pattern against cur, one JSON object of the event
// (present false: the object is absent, so only absence can match).
func (o *object) match(cur map[string]any, present bool, root map[string]any) bool {
	for _, f := range o.fields {
		var v any
		ok := false
		if present {
			v, ok = cur[f.name]
		}
		if !f.matchValue(v, ok, root) {
			return false
		}
	}
	for _, alts := range o.ors {
		found := false
		for _, alt := range alts {
			if alt.match(cur, present, root) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (f *field) matchValue(v any, present bool, root map[string]any) bool {
	if f.sub != nil {
		var objs []map[string]any
		if present {
			objs = objectsIn(v, objs)
		}
		if len(objs) == 0 {
			return f.sub.match(nil, false, root)
		}
		// Array consistency: the nested fields must all match within one
		// element of an array of objects.
		for _, o := range objs {
			if f.sub.match(o, true, root) {
				return true
			}
		}
		return false
	}
	var leaves []any
	if present {
		leaves = leavesIn(v, leaves)
	}
	for _, m := range f.values {
		if e, ok := m.(exists); ok {
			if bool(e) && len(leaves) > 0 {
				return true
			}
			if !bool(e) && !hasLeaf(root, f.path) {
				return true
			}
			continue
		}
		for _, l := range leaves {
			if m.match(l) {
				return true
			}
		}
	}
	return false
}

// objectsIn appends the objects v holds: v itself, or the objects of an
// array, at any depth of nested arrays.
func objectsIn(v any, out []map[string]any) []map[string]any {
	switch t := v.(type) {
	case map[string]any:
		out = append(out, t)
	case []any:
		for _, el := range t {
			out = objectsIn(el, out)
		}
	}
	return out
}

// leavesIn appends the leaf values v holds: v itself if it is a scalar, or
// the scalars of an array at any depth. Objects are not leaves.
func leavesIn(v any, out []any) []any {
	switch t := v.(type) {
	case map[string]any:
	case []any:
		for _, el := range t {
			out = leavesIn(el, out)
		}
	default:
		out = append(out, t)
	}
	return out
}

// hasLeaf reports whether the event has a leaf at path anywhere, through
// every element of the arrays on the way: AWS's "exists": false looks at
// the whole event, not at one array element.
func hasLeaf(v any, path []string) bool {
	switch t := v.(type) {
	case []any:
		for _, el := range t {
			if hasLeaf(el, path) {
				return true
			}
		}
		return false
	case map[string]any:
		if len(path) == 0 {
			return false
		}
		next, ok := t[path[0]]
		return ok && hasLeaf(next, path[1:])
	default:
		return len(path) == 0
	}
}

// matcher tests one leaf value of the event: a string, a json.Number, a
// bool or nil (null).
type matcher interface {
	match(v any) bool
}

type exactString string

func (m exactString) match(v any) bool {
	s, ok := v.(string)
	return ok && s == string(m)
}

// exactNumber matches a number by its text or, when both are in the
// numeric range, by value, as Event Ruler inserts both matchers.
type exactNumber struct {
	text  string
	key   int64
	keyed bool
}

func newExactNumber(n json.Number) exactNumber {
	k, ok := numericKey(n.String())
	return exactNumber{text: n.String(), key: k, keyed: ok}
}

func (m exactNumber) match(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if n.String() == m.text {
		return true
	}
	k, ok := numericKey(n.String())
	return ok && m.keyed && k == m.key
}

type exactBool bool

func (m exactBool) match(v any) bool {
	b, ok := v.(bool)
	return ok && b == bool(m)
}

type exactNull struct{}

func (exactNull) match(v any) bool { return v == nil }

// exists is handled by field.matchValue: it is about the field, not a leaf.
type exists bool

func (exists) match(any) bool { return false }

type affixMatcher struct {
	s      string
	suffix bool
	fold   bool
}

func (m affixMatcher) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	switch {
	case !m.fold && m.suffix:
		return strings.HasSuffix(s, m.s)
	case !m.fold:
		return strings.HasPrefix(s, m.s)
	case m.suffix:
		return hasSuffixFold(s, m.s)
	default:
		return hasPrefixFold(s, m.s)
	}
}

// hasPrefixFold is strings.HasPrefix under simple case folding, rune by
// rune, as folding may change a string's length in bytes.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if !strings.EqualFold(string(r1), string(r2)) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}

func hasSuffixFold(s, suffix string) bool {
	for suffix != "" {
		if s == "" {
			return false
		}
		r1, n1 := utf8.DecodeLastRuneInString(s)
		r2, n2 := utf8.DecodeLastRuneInString(suffix)
		if !strings.EqualFold(string(r1), string(r2)) {
			return false
		}
		s, suffix = s[:len(s)-n1], suffix[:len(suffix)-n2]
	}
	return true
}

type equalsFold string

func (m equalsFold) match(v any) bool {
	s, ok := v.(string)
	return ok && strings.EqualFold(s, string(m))
}

// numeric is a range of numericKey values; "=" is a closed range of one.
type numeric struct {
	hasLo, hasHi   bool
	loOpen, hiOpen bool
	lo, hi         int64
}

func (m numeric) match(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	k, ok := numericKey(n.String())
	if !ok {
		return false
	}
	if m.hasLo && (k < m.lo || (m.loOpen && k == m.lo)) {
		return false
	}
	if m.hasHi && (k > m.hi || (m.hiOpen && k == m.hi)) {
		return false
	}
	return true
}

type cidr struct{ prefix netip.Prefix }

func (m cidr) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	return m.prefix.Contains(a.Unmap()) || m.prefix.Contains(a)
}

// anythingBut excludes strings or numbers (by value); every other value
// present matches, as Event Ruler compares JSON texts and a number's text
// is never a string's.
type anythingBut struct {
	strs map[string]bool
	nums map[int64]bool
}

func (m anythingBut) match(v any) bool {
	switch t := v.(type) {
	case string:
		return !m.strs[t]
	case json.Number:
		k, ok := numericKey(t.String())
		return !ok || !m.nums[k]
	}
	return true
}

// anythingButString excludes the strings its matchers match (prefix,
// suffix, equals-ignore-case, wildcard); values that are not strings match.
type anythingButString struct {
	excluded []matcher
}

func (m anythingButString) match(v any) bool {
	if _, ok := v.(string); !ok {
		return true
	}
	for _, x := range m.excluded {
		if x.match(v) {
			return false
		}
	}
	return true
}
