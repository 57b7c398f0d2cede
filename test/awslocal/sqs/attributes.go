package sqs

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

// queueAttributeNames are the names GetQueueAttributes knows
// (QueueAttributeName in the service model). FIFO-only names are known but
// never returned: every queue here is a standard queue.
var queueAttributeNames = map[string]bool{
	"All": true, "Policy": true, "VisibilityTimeout": true, "MaximumMessageSize": true,
	"MessageRetentionPeriod": true, "ApproximateNumberOfMessages": true,
	"ApproximateNumberOfMessagesNotVisible": true, "CreatedTimestamp": true,
	"LastModifiedTimestamp": true, "QueueArn": true, "ApproximateNumberOfMessagesDelayed": true,
	"DelaySeconds": true, "ReceiveMessageWaitTimeSeconds": true, "RedrivePolicy": true,
	"FifoQueue": true, "ContentBasedDeduplication": true, "KmsMasterKeyId": true,
	"KmsDataKeyReusePeriodSeconds": true, "DeduplicationScope": true, "FifoThroughputLimit": true,
	"RedriveAllowPolicy": true, "SqsManagedSseEnabled": true,
}

// readOnlyAttributes cannot be set; SQS calls them unknown when one tries.
var readOnlyAttributes = map[string]bool{
	"ApproximateNumberOfMessages": true, "ApproximateNumberOfMessagesNotVisible": true,
	"ApproximateNumberOfMessagesDelayed": true, "CreatedTimestamp": true,
	"LastModifiedTimestamp": true, "QueueArn": true,
}

// removedAtDefault are attributes that a set to their default (or to "")
// removes, so GetQueueAttributes stops listing them, as SQS does.
var removedAtDefault = map[string]string{
	"Policy": "", "RedrivePolicy": "", "RedriveAllowPolicy": "",
	"KmsMasterKeyId": "", "KmsDataKeyReusePeriodSeconds": "300",
}

// normaliseAttributes checks attributes given to CreateQueue (create true)
// or SetQueueAttributes and returns them as SQS stores them. A value of ""
// for an attribute of removedAtDefault means "remove it". dlqExists tells
// whether a RedrivePolicy's target exists. Names are checked in sorted
// order, so the error for a request with several bad ones is stable.
func normaliseAttributes(in map[string]string, create bool, owner queueKey, dlqExists func(queueKey) bool) (map[string]string, *awsjson.Error) {
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]string, len(in))
	for _, name := range names {
		v := in[name]
		var err *awsjson.Error
		switch name {
		case "FifoQueue":
			if create && strings.EqualFold(v, "true") {
				return nil, kindUnsupportedOperation.errorf("FIFO queues are not supported by this local endpoint; create a standard queue.")
			}
			return nil, errUnknownAttribute(name)
		case "ContentBasedDeduplication":
			return nil, errUnknownAttribute(name)
		case "DeduplicationScope", "FifoThroughputLimit":
			return nil, kindInvalidAttributeName.errorf("You can specify the %s only when FifoQueue is set to true.", name)
		case "DelaySeconds":
			v, err = intParam(name, v, 0, maxDelaySeconds)
		case "MaximumMessageSize":
			v, err = intParam(name, v, minMessageBytes, maxMessageBytes)
		case "MessageRetentionPeriod":
			v, err = intParam(name, v, minRetention, maxRetention)
		case "ReceiveMessageWaitTimeSeconds":
			v, err = intParam(name, v, 0, maxWaitSeconds)
		case "VisibilityTimeout":
			v, err = intParam(name, v, 0, maxVisibility)
		case "KmsDataKeyReusePeriodSeconds":
			v, err = intParam(name, v, 60, 86400)
		case "SqsManagedSseEnabled":
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				return nil, errInvalidAttributeValue(name)
			}
			v = strconv.FormatBool(b)
		case "KmsMasterKeyId":
		case "Policy", "RedriveAllowPolicy":
			if v != "" && !isJSONObject(v) {
				return nil, errInvalidAttributeValue(name)
			}
		case "RedrivePolicy":
			if v != "" {
				v, err = normaliseRedrive(v, owner, dlqExists)
			}
		default:
			return nil, errUnknownAttribute(name)
		}
		if err != nil {
			return nil, err
		}
		if def, ok := removedAtDefault[name]; ok && v == def {
			v = ""
		}
		out[name] = v
	}
	return out, nil
}

func isJSONObject(s string) bool {
	var m map[string]any
	return json.Unmarshal([]byte(s), &m) == nil
}

// normaliseRedrive checks a RedrivePolicy and returns it as SQS returns it:
// {"deadLetterTargetArn":"...","maxReceiveCount":N}. The dead-letter queue
// must exist, in the same account and region, as AWS requires.
func normaliseRedrive(raw string, owner queueKey, dlqExists func(queueKey) bool) (string, *awsjson.Error) {
	bad := func(reason string) *awsjson.Error { return errInvalidValue(raw, "RedrivePolicy", reason) }
	var p map[string]any
	if json.Unmarshal([]byte(raw), &p) != nil {
		return "", bad("Redrive policy is not a valid JSON map.")
	}
	arn, _ := p["deadLetterTargetArn"].(string)
	if arn == "" {
		return "", bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	rawCount, ok := p["maxReceiveCount"]
	if !ok {
		return "", bad("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	}
	count := -1
	switch c := rawCount.(type) {
	case float64:
		if c == float64(int(c)) {
			count = int(c)
		}
	case string:
		if n, err := strconv.Atoi(c); err == nil {
			count = n
		}
	}
	if count < 1 || count > maxReceiveCountHigh {
		return "", bad("Invalid value for maxReceiveCount: " + jsonText(rawCount) + ", valid values are from 1 to 1000 both inclusive.")
	}
	for k := range p {
		if k != "deadLetterTargetArn" && k != "maxReceiveCount" {
			return "", bad("Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].")
		}
	}
	key, ok := parseQueueARN(arn)
	if !ok || key.Account != owner.Account || key.Region != owner.Region || !dlqExists(key) {
		return "", bad("Dead letter target does not exist.")
	}
	out, _ := json.Marshal(redrivePolicy{DeadLetterTargetArn: arn, MaxReceiveCount: count})
	return string(out), nil
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// apply sets normalised attributes on q.
func (q *queue) apply(attrs map[string]string, now time.Time) {
	for k, v := range attrs {
		if _, removable := removedAtDefault[k]; removable && v == "" {
			delete(q.attrs, k)
			continue
		}
		q.attrs[k] = v
	}
	if len(attrs) > 0 {
		q.modified = now
	}
}

// differs returns the first given attribute whose value is not q's, for
// CreateQueue on an existing name.
func (q *queue) differs(attrs map[string]string) (string, bool) {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if q.attrs[n] != attrs[n] {
			return n, true
		}
	}
	return "", false
}

// attributes returns GetQueueAttributes' answer for names.
func (q *queue) attributes(names []string, now time.Time) map[string]string {
	all := map[string]string{}
	for k, v := range q.attrs {
		all[k] = v
	}
	visible, inFlight, delayed := q.counts(now)
	all["ApproximateNumberOfMessages"] = strconv.Itoa(visible)
	all["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(inFlight)
	all["ApproximateNumberOfMessagesDelayed"] = strconv.Itoa(delayed)
	all["CreatedTimestamp"] = strconv.FormatInt(q.created.Unix(), 10)
	all["LastModifiedTimestamp"] = strconv.FormatInt(q.modified.Unix(), 10)
	all["QueueArn"] = q.key.arn()
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out
}
