package sqs

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// attributesMD5 is MD5OfMessageAttributes as SQS computes it, so that SDKs
// that check it (the Java and .NET ones do) accept the response: for each
// attribute in name order, the length-prefixed name, the length-prefixed
// data type, a transport byte (1 string, 2 binary) and the length-prefixed
// value; lengths are 4-byte big-endian.
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html#sqs-attributes-md5-message-digest-calculation
func attributesMD5(attrs map[string]MessageAttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	put := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, n := range names {
		v := attrs[n]
		put([]byte(n))
		put([]byte(v.DataType))
		if v.StringValue != nil {
			h.Write([]byte{1})
			put([]byte(*v.StringValue))
		} else {
			h.Write([]byte{2})
			put(v.BinaryValue)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validBodyRune is the set SendMessage allows: #x9 | #xA | #xD | #x20 to
// #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validBodyRune(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

func validText(s string) bool {
	for _, r := range s {
		if !validBodyRune(r) {
			return false
		}
	}
	return true
}

var (
	attrNameChars = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)
	batchIDChars  = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,80}$`)
	fifoIDChars   = regexp.MustCompile("^[0-9a-zA-Z!\"#$%&'()*+,./:;<=>?@\\[\\\\\\]^_`{|}~-]{1,128}$")
)

// attributesSize is the attributes' share of a message's size: names, data
// types and values all count.
func attributesSize(attrs map[string]MessageAttributeValue) int {
	n := 0
	for name, v := range attrs {
		n += len(name) + len(v.DataType) + len(v.BinaryValue)
		if v.StringValue != nil {
			n += len(*v.StringValue)
		}
	}
	return n
}

// checkAttributes validates message attributes as SendMessage does
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html).
func checkAttributes(attrs map[string]MessageAttributeValue) *awsjson.Error {
	if len(attrs) > maxMessageAttrs {
		return kindInvalidParameterValue.errorf("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), maxMessageAttrs)
	}
	for name, v := range attrs {
		lower := strings.ToLower(name)
		switch {
		case len(name) >= 256:
			return kindInvalidParameterValue.errorf("Message (user) attribute names must be shorter than 256 Bytes")
		case !attrNameChars.MatchString(name):
			return kindInvalidParameterValue.errorf("Message (user) attribute name '%s' can only contain upper and lower case characters, digits, periods, hyphens and underscores.", name)
		case strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") ||
			strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
			return kindInvalidParameterValue.errorf("Message (user) attribute name '%s' is reserved or has periods in the wrong place: names cannot begin with 'AWS.' or 'Amazon.', begin or end with '.', or contain '..'.", name)
		case v.DataType == "":
			return kindInvalidParameterValue.errorf("The message attribute '%s' must contain non-empty message attribute type.", name)
		case len(v.DataType) >= 256:
			return kindInvalidParameterValue.errorf("Message (user) attribute types must be shorter than 256 Bytes")
		}
		base, _, _ := strings.Cut(v.DataType, ".")
		switch base {
		case "String", "Number":
			if v.StringValue == nil || *v.StringValue == "" {
				return kindInvalidParameterValue.errorf("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", name, base)
			}
			if !validText(*v.StringValue) {
				return kindInvalidParameterValue.errorf("Message (user) attribute '%s' has an invalid value. %s", name, invalidCharacters)
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(*v.StringValue, 64); err != nil {
					return kindInvalidParameterValue.errorf("Can't cast the value of message (user) attribute '%s' to a number.", name)
				}
			}
		case "Binary":
			if len(v.BinaryValue) == 0 {
				return kindInvalidParameterValue.errorf("Message (user) attribute '%s' must contain a non-empty value of type 'Binary'.", name)
			}
		default:
			return kindInvalidParameterValue.errorf("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		}
		if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
			return kindInvalidParameterValue.errorf("Message (user) attribute '%s': StringListValues and BinaryListValues are reserved for future use.", name)
		}
	}
	return nil
}

// checkSystemAttributes allows the one system attribute a sender may set.
func checkSystemAttributes(attrs map[string]MessageAttributeValue) *awsjson.Error {
	for name, v := range attrs {
		if name != "AWSTraceHeader" {
			return kindInvalidParameterValue.errorf("Message system attribute name '%s' is invalid.", name)
		}
		if v.DataType != "String" || v.StringValue == nil || *v.StringValue == "" {
			return kindInvalidParameterValue.errorf("Message system attribute '%s' must contain a non-empty value of type 'String'.", name)
		}
	}
	return nil
}

// intParam parses a queue attribute that must be an integer in [lo, hi].
func intParam(name, value string, lo, hi int) (string, *awsjson.Error) {
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || n < lo || n > hi {
		return "", errInvalidAttributeValue(name)
	}
	return strconv.Itoa(n), nil
}
