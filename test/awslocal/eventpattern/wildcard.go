package eventpattern

import "strings"

// wildcard is a compiled wildcard pattern: literal segments between stars.
// "a*b*c" is segments [a b c]; a leading or trailing star leaves an empty
// first or last segment.
type wildcard struct {
	segments []string
}

// compileWildcard checks a wildcard value as Event Ruler does: \* is a
// literal star, \\ a backslash, any other escape is refused, and so are two
// stars in a row (they would make matching slow and mean the same as one).
func compileWildcard(s string) (wildcard, error) {
	var segs []string
	var cur strings.Builder
	lastStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return wildcard{}, invalid("Invalid escape character at pos %d", i+1)
			}
			i++
			cur.WriteByte(s[i])
			lastStar = false
		case '*':
			if lastStar {
				return wildcard{}, invalid("Consecutive wildcard characters at pos %d", i)
			}
			segs = append(segs, cur.String())
			cur.Reset()
			lastStar = true
		default:
			cur.WriteByte(c)
			lastStar = false
		}
	}
	segs = append(segs, cur.String())
	return wildcard{segments: segs}, nil
}

func (w wildcard) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	return w.matchString(s)
}

// matchString anchors the first and last segments and finds the others
// left to right, leftmost first: with only stars between literals, the
// leftmost match of each middle segment is never worse than a later one, so
// this needs no backtracking.
func (w wildcard) matchString(s string) bool {
	segs := w.segments
	if len(segs) == 1 {
		return s == segs[0]
	}
	first, last := segs[0], segs[len(segs)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	rest := s[len(first) : len(s)-len(last)]
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(rest, seg)
		if i < 0 {
			return false
		}
		rest = rest[i+len(seg):]
	}
	return true
}
