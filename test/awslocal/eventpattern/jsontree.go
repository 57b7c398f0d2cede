package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// kind is a JSON value's type.
type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

// node is a parsed pattern value. Objects keep their keys in order, and
// duplicates, so that errors name the first problem as a reader sees it.
type node struct {
	kind kind
	b    bool
	num  json.Number
	str  string
	arr  []*node
	obj  []member
}

type member struct {
	key string
	val *node
}

func (n *node) text() string {
	switch n.kind {
	case kNull:
		return "null"
	case kBool:
		if n.b {
			return "true"
		}
		return "false"
	case kNumber:
		return n.num.String()
	case kString:
		return n.str
	case kArray:
		return "["
	default:
		return "{"
	}
}

var errNotJSON = errors.New("not JSON")

// parseTree parses one JSON value, refusing trailing data.
func parseTree(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotJSON
	}
	return n, nil
}

func parseNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, errNotJSON
	}
	return parseFrom(dec, tok)
}

func parseFrom(dec *json.Decoder, tok json.Token) (*node, error) {
	switch t := tok.(type) {
	case nil:
		return &node{kind: kNull}, nil
	case bool:
		return &node{kind: kBool, b: t}, nil
	case json.Number:
		return &node{kind: kNumber, num: t}, nil
	case string:
		return &node{kind: kString, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &node{kind: kArray}
			for dec.More() {
				el, err := parseNode(dec)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, el)
			}
			if _, err := dec.Token(); err != nil {
				return nil, errNotJSON
			}
			return n, nil
		case '{':
			n := &node{kind: kObject}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, errNotJSON
				}
				key, ok := k.(string)
				if !ok {
					return nil, errNotJSON
				}
				v, err := parseNode(dec)
				if err != nil {
					return nil, err
				}
				n.obj = append(n.obj, member{key, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, errNotJSON
			}
			return n, nil
		}
	}
	return nil, errNotJSON
}
