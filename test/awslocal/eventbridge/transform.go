package eventbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// jsonUnmarshal decodes with numbers kept as their text, so that a value
// taken out of an event is delivered as it was written.
func jsonUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// marshal is json.Marshal without HTML escaping: events keep their <, >
// and & as the sender wrote them.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// input is what the target receives: the event, or what Input, InputPath
// or InputTransformer make of it.
func (d delivery) input() ([]byte, error) {
	t := d.target
	switch {
	case t.Input != nil:
		return []byte(*t.Input), nil
	case t.InputPath != nil:
		var ev any
		if err := jsonUnmarshal(d.event, &ev); err != nil {
			return nil, permanent("event is not JSON")
		}
		steps, err := parsePath(*t.InputPath)
		if err != nil {
			return nil, permanent("InputPath: %v", err)
		}
		v, _ := evalPath(steps, ev)
		return marshal(v), nil
	case t.InputTransformer != nil:
		return d.transform(t.InputTransformer)
	}
	return d.event, nil
}

// pathStep is one step of a JSON path: a key, or an index when key is
// empty and index is set.
type pathStep struct {
	key   string
	index int
	isIdx bool
}

var errPath = errors.New("must be a JSON path such as $.detail.name, $.resources[0] or $['detail-type']")

// parsePath parses the JSONPath subset EventBridge's examples use: $, .key,
// ['key'] and [index].
func parsePath(p string) ([]pathStep, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, errPath
	}
	rest := p[1:]
	var steps []pathStep
	for rest != "" {
		switch {
		case rest[0] == '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, errPath
			}
			steps = append(steps, pathStep{key: rest[:end]})
			rest = rest[end:]
		case strings.HasPrefix(rest, "['"):
			end := strings.Index(rest, "']")
			if end < 2 {
				return nil, errPath
			}
			steps = append(steps, pathStep{key: rest[2:end]})
			rest = rest[end+2:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, errPath
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 {
				return nil, errPath
			}
			steps = append(steps, pathStep{index: n, isIdx: true})
			rest = rest[end+1:]
		default:
			return nil, errPath
		}
	}
	return steps, nil
}

func evalPath(steps []pathStep, v any) (any, bool) {
	for _, st := range steps {
		switch t := v.(type) {
		case map[string]any:
			if st.isIdx {
				return nil, false
			}
			next, ok := t[st.key]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			if !st.isIdx || st.index >= len(t) {
				return nil, false
			}
			v = t[st.index]
		default:
			return nil, false
		}
	}
	return v, true
}

// transform renders an InputTransformer's template. A placeholder <name>
// inside a JSON string takes the value's text (a string without its
// quotes); elsewhere it takes the value's JSON. A path the event lacks
// gives null, or nothing inside a string. Placeholders that name nothing
// are left as they are.
func (d delivery) transform(it *InputTransformer) ([]byte, error) {
	var ev map[string]any
	if err := jsonUnmarshal(d.event, &ev); err != nil {
		return nil, permanent("event is not JSON")
	}
	values := map[string]any{
		"aws.events.rule-arn":             d.ruleARN,
		"aws.events.rule-name":            d.ruleName,
		"aws.events.event.ingestion-time": d.received.UTC().Format("2006-01-02T15:04:05Z"),
		"aws.events.event.json":           json.RawMessage(d.event),
	}
	withoutDetail := make(map[string]any, len(ev))
	for k, v := range ev {
		if k != "detail" {
			withoutDetail[k] = v
		}
	}
	values["aws.events.event"] = withoutDetail
	missing := map[string]bool{}
	for name, p := range it.InputPathsMap {
		steps, err := parsePath(p)
		if err != nil {
			return nil, permanent("InputPathsMap %s: %v", name, err)
		}
		if v, ok := evalPath(steps, any(ev)); ok {
			values[name] = v
		} else {
			missing[name] = true
		}
	}
	tmpl := *it.InputTemplate
	var out strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '<' {
			if end := strings.IndexByte(tmpl[i:], '>'); end > 0 {
				name := tmpl[i+1 : i+end]
				v, known := values[name]
				if known || missing[name] {
					out.WriteString(render(v, known, inString))
					i += end
					continue
				}
			}
		}
		out.WriteByte(c)
		switch {
		case escaped:
			escaped = false
		case c == '\\' && inString:
			escaped = true
		case c == '"':
			inString = !inString
		}
	}
	return []byte(out.String()), nil
}

func render(v any, found, inString bool) string {
	if !found {
		if inString {
			return ""
		}
		return "null"
	}
	data := marshal(v)
	if !inString {
		return string(data)
	}
	if s, ok := v.(string); ok {
		data = marshal(s)
	} else {
		data = marshal(string(data))
	}
	return string(data[1 : len(data)-1])
}
