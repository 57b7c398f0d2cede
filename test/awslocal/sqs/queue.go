package sqs

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Limits and defaults of standard queues, from the CreateQueue and
// SetQueueAttributes API reference.
const (
	maxMessageBytes     = 1 << 20 // 1 MiB, MaximumMessageSize's default and ceiling
	minMessageBytes     = 1024
	maxDelaySeconds     = 900
	maxVisibility       = 43200 // 12 hours
	minRetention        = 60
	maxRetention        = 1209600 // 14 days
	defaultRetention    = 345600  // 4 days
	maxWaitSeconds      = 20
	maxBatchEntries     = 10
	maxMessageAttrs     = 10
	maxReceiveCountHigh = 1000
	cooldown            = 60 * time.Second // PurgeQueue and DeleteQueue
)

// queueKey names a queue: SQS keeps queues per account and region.
type queueKey struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Name    string `json:"name"`
}

func (k queueKey) arn() string {
	return "arn:aws:sqs:" + k.Region + ":" + k.Account + ":" + k.Name
}

// parseQueueARN splits arn:<partition>:sqs:<region>:<account>:<name>.
func parseQueueARN(arn string) (queueKey, bool) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" || p[3] == "" || p[4] == "" || !validQueueName(p[5]) {
		return queueKey{}, false
	}
	return queueKey{Account: p[4], Region: p[3], Name: p[5]}, true
}

func validQueueName(name string) bool {
	if len(name) < 1 || len(name) > 80 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// queue is one standard queue. Attributes are kept as SQS returns them
// (strings, normalised on the way in) so that GetQueueAttributes and
// CreateQueue's "same attributes" check compare like with like.
type queue struct {
	key       queueKey
	attrs     map[string]string
	created   time.Time
	modified  time.Time
	tags      map[string]string
	msgs      []*message // in the order they were sent
	lastPurge time.Time
	// wake is closed, and replaced, whenever a message may have become
	// receivable, so long polls return at once instead of polling.
	wake chan struct{}
}

func newQueue(key queueKey, now time.Time) *queue {
	return &queue{
		key: key,
		attrs: map[string]string{
			"DelaySeconds":                  "0",
			"MaximumMessageSize":            strconv.Itoa(maxMessageBytes),
			"MessageRetentionPeriod":        strconv.Itoa(defaultRetention),
			"ReceiveMessageWaitTimeSeconds": "0",
			"VisibilityTimeout":             "30",
			"SqsManagedSseEnabled":          "true",
		},
		created:  now,
		modified: now,
		tags:     map[string]string{},
		wake:     make(chan struct{}),
	}
}

func (q *queue) int(name string) int {
	n, _ := strconv.Atoi(q.attrs[name])
	return n
}

// signal wakes every long poll waiting on the queue.
func (q *queue) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// redrive returns the queue's redrive policy, if it has one.
func (q *queue) redrive() (redrivePolicy, bool) {
	raw, ok := q.attrs["RedrivePolicy"]
	if !ok {
		return redrivePolicy{}, false
	}
	var p redrivePolicy
	if json.Unmarshal([]byte(raw), &p) != nil {
		return redrivePolicy{}, false
	}
	return p, true
}

// redrivePolicy is the RedrivePolicy attribute, in the form SQS returns it
// (maxReceiveCount a number, whatever the caller sent).
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// expire drops messages older than the retention period. SQS deletes them
// "automatically"; doing it lazily, on every access, needs no goroutine.
func (q *queue) expire(now time.Time) {
	keep := time.Duration(q.int("MessageRetentionPeriod")) * time.Second
	out := q.msgs[:0]
	for _, m := range q.msgs {
		if now.Sub(m.Sent) < keep {
			out = append(out, m)
		}
	}
	clear(q.msgs[len(out):])
	q.msgs = out
}

// counts returns ApproximateNumberOfMessages, ...NotVisible and ...Delayed.
func (q *queue) counts(now time.Time) (visible, inFlight, delayed int) {
	for _, m := range q.msgs {
		switch {
		case now.Before(m.DelayUntil):
			delayed++
		case now.Before(m.InvisibleUntil):
			inFlight++
		default:
			visible++
		}
	}
	return visible, inFlight, delayed
}

// nextAvailable returns the earliest time after now at which a delayed or
// in-flight message becomes receivable.
func (q *queue) nextAvailable(now time.Time) (time.Time, bool) {
	var next time.Time
	for _, m := range q.msgs {
		at := m.availableAt()
		if at.After(now) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next, !next.IsZero()
}

func (q *queue) find(id string) (int, *message) {
	for i, m := range q.msgs {
		if m.ID == id {
			return i, m
		}
	}
	return -1, nil
}

func (q *queue) remove(i int) {
	q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
}

// message is a stored message. Its fields are exported for Snapshot.
type message struct {
	ID               string                           `json:"id"`
	Body             string                           `json:"body"`
	Attributes       map[string]MessageAttributeValue `json:"attributes,omitempty"`
	TraceHeader      string                           `json:"traceHeader,omitempty"`
	GroupID          string                           `json:"groupId,omitempty"`
	SenderID         string                           `json:"senderId"`
	Sent             time.Time                        `json:"sent"`
	DelayUntil       time.Time                        `json:"delayUntil"`
	InvisibleUntil   time.Time                        `json:"invisibleUntil"`
	ReceiveCount     int                              `json:"receiveCount"`
	FirstReceived    time.Time                        `json:"firstReceived"`
	LastReceived     time.Time                        `json:"lastReceived"`
	DeadLetterSource string                           `json:"deadLetterSource,omitempty"`
	// Receipts holds every handle a receive gave out, the latest last: a
	// delete with any of them deletes the message (as SQS does for an
	// expired handle of a message not received since).
	Receipts []string `json:"receipts,omitempty"`
}

func (m *message) availableAt() time.Time {
	if m.DelayUntil.After(m.InvisibleUntil) {
		return m.DelayUntil
	}
	return m.InvisibleUntil
}

func (m *message) available(now time.Time) bool { return !now.Before(m.availableAt()) }

func (m *message) hasReceipt(h string) bool {
	for _, r := range m.Receipts {
		if r == h {
			return true
		}
	}
	return false
}

func (m *message) latestReceipt() string {
	if len(m.Receipts) == 0 {
		return ""
	}
	return m.Receipts[len(m.Receipts)-1]
}

// A receipt handle names the queue and the message, so a handle of another
// queue or a made-up one is ReceiptHandleIsInvalid, while a well-formed
// handle of a message already deleted is not an error (AWS: deleting twice
// succeeds). The random part makes every receive's handle new.
func newReceipt(key queueKey, id string) string {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	raw := key.arn() + " " + id + " " + base64.RawURLEncoding.EncodeToString(nonce[:])
	return base64.StdEncoding.EncodeToString([]byte(raw))
}

// parseReceipt returns the message id of a handle of queue key.
func parseReceipt(key queueKey, handle string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(handle)
	if err != nil {
		return "", false
	}
	p := strings.Split(string(raw), " ")
	if len(p) != 3 || p[0] != key.arn() || p[1] == "" {
		return "", false
	}
	return p[1], true
}
