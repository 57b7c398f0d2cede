// Package eventpattern compiles and matches Amazon EventBridge event
// patterns, for rotor's local EventBridge: rules, TestEventPattern and
// delivery all use it.
//
// It implements "Event patterns in Amazon EventBridge" and "Content
// filtering in Amazon EventBridge event patterns" of the EventBridge User
// Guide (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html),
// with the edge cases settled as AWS's open-source matcher, Event Ruler
// (https://github.com/aws/event-ruler), settles them. [Compile] checks a
// pattern and [Pattern.Match] tests an event (the full event JSON: version,
// id, detail-type, source, account, time, region, resources, detail).
//
// # Supported
//
//   - Exact values: strings (case-sensitive), numbers (by value, so [300]
//     matches 300.0 and 3e2), true, false and null. Every field of a pattern
//     must be present in the event with the same nesting; fields of the
//     event that the pattern does not name are ignored. A field's values are
//     alternatives: ["a", "b"] matches either.
//   - Arrays in the event: a field matches if any element matches. Objects
//     inside arrays are matched element by element: the fields a pattern
//     names under an array must all be found in the same element (Event
//     Ruler's "array consistency").
//   - {"prefix": "s"} and {"prefix": {"equals-ignore-case": "s"}};
//     {"suffix": "s"} and {"suffix": {"equals-ignore-case": "s"}};
//     {"equals-ignore-case": "s"}; {"wildcard": "a*b"} (* is any run of
//     characters, \* a literal star, \\ a backslash; ** is refused). These
//     match strings only.
//   - {"anything-but": v} with v a string, a number, a list of strings or a
//     list of numbers, {"prefix": s}, {"suffix": s}, {"equals-ignore-case": s
//     or list}, or {"wildcard": s or list}. It matches any value present
//     that is not excluded, numbers and booleans included; it never matches
//     an absent field.
//   - {"numeric": ["=", n]}, ["<", n], ["<=", n], [">", n], [">=", n], and
//     ranges [">" or ">=", lo, "<" or "<=", hi]. JSON numbers only, between
//     -5.0e9 and 5.0e9, compared to six decimal places, as AWS documents.
//   - {"exists": true} and {"exists": false}. Only leaves exist: a field
//     whose value is an object or an empty array does not, so exists false
//     matches it. A field that is absent in one array element but present in
//     another exists.
//   - {"cidr": "10.0.0.0/24"} on IPv4 and IPv6 address strings.
//   - "$or": [{...}, {...}] at any level, with at least two alternatives,
//     nested and combined with the fields beside it.
//   - Bad patterns are refused with the reason Event Ruler gives ("Empty
//     arrays are not allowed", "\"source\" must be an object or an array",
//     "Unrecognized match type contains", ...), prefixed as EventBridge's
//     InvalidEventPatternException message is.
//
// # Not emulated
//
// AWS's limits on a pattern's complexity (MachineComplexityEvaluator) and
// on the number of $or combinations are not enforced; exact string values
// that look like IP addresses are compared as text, not as addresses; case
// folding is Go's simple folding (strings.EqualFold), not Java's.
package eventpattern
