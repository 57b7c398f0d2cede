package sqs

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

// sendParams is what SendMessage and a SendMessageBatch entry share.
type sendParams struct {
	Body        *string
	Delay       *int
	Attrs       map[string]MessageAttributeValue
	SystemAttrs map[string]MessageAttributeValue
	DedupID     *string
	GroupID     *string
}

// newMessage checks a message as SendMessage does and builds it. The checks
// come in the order SQS makes them: body present, size, characters,
// attributes, delay, FIFO-only parameters.
func (s *Service) newMessage(q *queue, p sendParams, sender string, batch bool, now time.Time) (*message, *awsjson.Error) {
	if p.Body == nil || *p.Body == "" {
		return nil, errMissing("MessageBody")
	}
	body := *p.Body
	if limit := q.int("MaximumMessageSize"); len(body)+attributesSize(p.Attrs) > limit {
		if batch {
			return nil, kindInvalidParameterValue.errorf("One or more parameters cannot be validated. Reason: Message must be shorter than %d bytes.", limit)
		}
		return nil, errTooLong(limit)
	}
	if !validText(body) {
		return nil, kindInvalidMessageContents.errorf("%s", invalidCharacters)
	}
	if err := checkAttributes(p.Attrs); err != nil {
		return nil, err
	}
	if err := checkSystemAttributes(p.SystemAttrs); err != nil {
		return nil, err
	}
	delay := q.int("DelaySeconds")
	if p.Delay != nil {
		if *p.Delay < 0 || *p.Delay > maxDelaySeconds {
			return nil, errInvalidValue(*p.Delay, "DelaySeconds", "DelaySeconds must be >= 0 and <= 900.")
		}
		delay = *p.Delay
	}
	if p.DedupID != nil {
		return nil, errInvalidValue(*p.DedupID, "MessageDeduplicationId", "The request includes a parameter that is not valid for this queue type.")
	}
	m := &message{
		ID:         uuid.NewString(),
		Body:       body,
		Attributes: p.Attrs,
		SenderID:   sender,
		Sent:       now,
		DelayUntil: now.Add(time.Duration(delay) * time.Second),
	}
	if p.GroupID != nil {
		// A group id on a standard queue makes it a fair queue: accepted and
		// returned, with no effect on order here.
		if !fifoIDChars.MatchString(*p.GroupID) {
			return nil, errInvalidValue(*p.GroupID, "MessageGroupId", "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		m.GroupID = *p.GroupID
	}
	if th, ok := p.SystemAttrs["AWSTraceHeader"]; ok {
		m.TraceHeader = *th.StringValue
	}
	return m, nil
}

// enqueue stores m and wakes long polls: even a delayed message changes when
// the next one becomes receivable.
func (s *Service) enqueue(q *queue, m *message) {
	q.msgs = append(q.msgs, m)
	q.signal()
}

func senderID(ctx context.Context) string {
	c := caller(ctx)
	if c.AccessKeyID != "" {
		return c.AccessKeyID
	}
	return c.AccountID
}

// SendMessage sends one message.
func (s *Service) SendMessage(ctx context.Context, in *SendMessageInput) (*SendMessageOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	m, merr := s.newMessage(q, sendParams{
		Body: in.MessageBody, Delay: in.DelaySeconds, Attrs: in.MessageAttributes,
		SystemAttrs: in.MessageSystemAttributes, DedupID: in.MessageDeduplicationId, GroupID: in.MessageGroupId,
	}, senderID(ctx), false, now)
	if merr != nil {
		return nil, merr
	}
	s.enqueue(q, m)
	return &SendMessageOutput{
		MessageId:                    m.ID,
		MD5OfMessageBody:             md5Hex(m.Body),
		MD5OfMessageAttributes:       attributesMD5(m.Attributes),
		MD5OfMessageSystemAttributes: attributesMD5(in.MessageSystemAttributes),
	}, nil
}

// checkBatch applies the rules every batch shares, in SQS's order: not
// empty, at most 10 entries, valid ids, distinct ids.
func checkBatch(entry string, ids []string) *awsjson.Error {
	if len(ids) == 0 {
		return kindEmptyBatchRequest.errorf("There should be at least one %s in the request.", entry)
	}
	if len(ids) > maxBatchEntries {
		return kindTooManyEntries.errorf("Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !batchIDChars.MatchString(id) {
			return kindInvalidBatchEntryId.errorf("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return kindBatchEntryIdsNotDistinct.errorf("Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

// SendMessageBatch sends up to 10 messages; an entry SQS would refuse is
// reported in Failed and the others are sent.
func (s *Service) SendMessageBatch(ctx context.Context, in *SendMessageBatchInput) (*SendMessageBatchOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i, e := range in.Entries {
		ids[i] = e.Id
		if e.MessageBody != nil {
			total += len(*e.MessageBody)
		}
		total += attributesSize(e.MessageAttributes)
	}
	if err := checkBatch("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	if total > maxMessageBytes {
		return nil, kindBatchRequestTooLong.errorf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxMessageBytes, total)
	}
	now := s.clock.Now()
	out := &SendMessageBatchOutput{Successful: []SendMessageBatchResultEntry{}, Failed: []BatchResultErrorEntry{}}
	sender := senderID(ctx)
	for _, e := range in.Entries {
		m, merr := s.newMessage(q, sendParams{
			Body: e.MessageBody, Delay: e.DelaySeconds, Attrs: e.MessageAttributes,
			SystemAttrs: e.MessageSystemAttributes, DedupID: e.MessageDeduplicationId, GroupID: e.MessageGroupId,
		}, sender, true, now)
		if merr != nil {
			out.Failed = append(out.Failed, batchFailure(e.Id, merr))
			continue
		}
		s.enqueue(q, m)
		out.Successful = append(out.Successful, SendMessageBatchResultEntry{
			Id:                           e.Id,
			MessageId:                    m.ID,
			MD5OfMessageBody:             md5Hex(m.Body),
			MD5OfMessageAttributes:       attributesMD5(m.Attributes),
			MD5OfMessageSystemAttributes: attributesMD5(e.MessageSystemAttributes),
		})
	}
	return out, nil
}

// receiveParams are a ReceiveMessage call's checked parameters.
type receiveParams struct {
	max        int
	visibility time.Duration
	wait       time.Duration
	system     map[string]bool // system attribute names asked for
	attrNames  []string        // message attribute names or patterns
}

// ReceiveMessage returns up to MaxNumberOfMessages receivable messages and
// hides them for the visibility timeout. With a wait time it long-polls: it
// returns as soon as a message can be received, and ends with the request's
// context. A message received maxReceiveCount times already moves to the
// dead-letter queue of the queue's RedrivePolicy instead of being returned.
func (s *Service) ReceiveMessage(ctx context.Context, in *ReceiveMessageInput) (*ReceiveMessageOutput, error) {
	s.mu.Lock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	p, perr := receiveParamsOf(q, in)
	key := q.key
	s.mu.Unlock()
	if perr != nil {
		return nil, perr
	}
	// The wait is wall time even with a fast clock: it is how long the
	// client's connection stays open, and a long poll that ended at once
	// would make pollers spin.
	deadline := time.Now().Add(p.wait)
	for {
		s.mu.Lock()
		q, ok := s.queues[key]
		if !ok {
			// Deleted during the wait.
			s.mu.Unlock()
			return &ReceiveMessageOutput{}, nil
		}
		now := s.clock.Now()
		q.expire(now)
		if msgs := s.take(q, p, now); len(msgs) > 0 {
			s.mu.Unlock()
			return &ReceiveMessageOutput{Messages: msgs}, nil
		}
		if !time.Now().Before(deadline) {
			s.mu.Unlock()
			return &ReceiveMessageOutput{}, nil
		}
		wake := q.wake
		next, hasNext := q.nextAvailable(now)
		s.mu.Unlock()
		stop, werr := s.wait(ctx, wake, deadline, next.Sub(now), hasNext)
		if werr != nil {
			return nil, werr
		}
		if stop {
			return &ReceiveMessageOutput{}, nil
		}
	}
}

func receiveParamsOf(q *queue, in *ReceiveMessageInput) (receiveParams, *awsjson.Error) {
	p := receiveParams{
		max:        1,
		visibility: time.Duration(q.int("VisibilityTimeout")) * time.Second,
		wait:       time.Duration(q.int("ReceiveMessageWaitTimeSeconds")) * time.Second,
		system:     map[string]bool{},
		attrNames:  in.MessageAttributeNames,
	}
	if n := in.MaxNumberOfMessages; n != nil {
		if *n < 1 || *n > maxBatchEntries {
			return p, errInvalidValue(*n, "MaxNumberOfMessages", "Must be between 1 and 10, if provided.")
		}
		p.max = *n
	}
	if w := in.WaitTimeSeconds; w != nil {
		if *w < 0 || *w > maxWaitSeconds {
			return p, errInvalidValue(*w, "WaitTimeSeconds", "Must be >= 0 and <= 20, if provided.")
		}
		p.wait = time.Duration(*w) * time.Second
	}
	if v := in.VisibilityTimeout; v != nil {
		if *v < 0 || *v > maxVisibility {
			return p, errInvalidValue(*v, "VisibilityTimeout", "Must be >= 0 and <= 43200, if provided.")
		}
		p.visibility = time.Duration(*v) * time.Second
	}
	// AttributeNames is the deprecated spelling of MessageSystemAttributeNames;
	// SQS honours both.
	for _, n := range append(append([]string{}, in.AttributeNames...), in.MessageSystemAttributeNames...) {
		p.system[n] = true
	}
	return p, nil
}

// wait blocks until the queue signals, the next message becomes receivable
// (in the service's clock), the deadline (wall time) passes, the context
// ends or the service closes. stop reports the last.
func (s *Service) wait(ctx context.Context, wake <-chan struct{}, deadline time.Time, next time.Duration, hasNext bool) (stop bool, err error) {
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var ready chan error
	if hasNext {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ready = make(chan error, 1)
		go func() { ready <- s.clock.Sleep(sctx, next) }()
	}
	select {
	case <-wake:
	case <-ready:
	case <-timer.C:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-s.done:
		return true, nil
	}
	return false, nil
}

// take receives up to p.max messages of q. s.mu must be held.
func (s *Service) take(q *queue, p receiveParams, now time.Time) []Message {
	policy, hasRedrive := q.redrive()
	var dlq *queue
	if hasRedrive {
		if k, ok := parseQueueARN(policy.DeadLetterTargetArn); ok && k != q.key {
			dlq = s.queues[k]
		}
	}
	var out []Message
	for i := 0; i < len(q.msgs) && len(out) < p.max; {
		m := q.msgs[i]
		if !m.available(now) {
			i++
			continue
		}
		if dlq != nil && m.ReceiveCount >= policy.MaxReceiveCount {
			// SQS moves a message when a receive would exceed
			// maxReceiveCount. It keeps its id, sent time and receive count
			// (the count is "across all queues"), and says where it came from.
			q.remove(i)
			m.DeadLetterSource = q.key.arn()
			m.Receipts = nil
			m.InvisibleUntil = time.Time{}
			m.DelayUntil = time.Time{}
			dlq.msgs = append(dlq.msgs, m)
			dlq.signal()
			continue
		}
		m.ReceiveCount++
		if m.FirstReceived.IsZero() {
			m.FirstReceived = now
		}
		m.LastReceived = now
		m.InvisibleUntil = now.Add(p.visibility)
		handle := newReceipt(q.key, m.ID)
		m.Receipts = append(m.Receipts, handle)
		out = append(out, m.received(handle, p))
		i++
	}
	return out
}

// received is m as ReceiveMessage returns it.
func (m *message) received(handle string, p receiveParams) Message {
	out := Message{MessageId: m.ID, ReceiptHandle: handle, MD5OfBody: md5Hex(m.Body), Body: m.Body}
	system := map[string]string{
		"SenderId":                         m.SenderID,
		"SentTimestamp":                    millis(m.Sent),
		"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
		"ApproximateFirstReceiveTimestamp": millis(m.FirstReceived),
	}
	if m.TraceHeader != "" {
		system["AWSTraceHeader"] = m.TraceHeader
	}
	if m.DeadLetterSource != "" {
		system["DeadLetterQueueSourceArn"] = m.DeadLetterSource
	}
	if m.GroupID != "" {
		system["MessageGroupId"] = m.GroupID
	}
	for name, v := range system {
		if p.system["All"] || p.system[name] {
			if out.Attributes == nil {
				out.Attributes = map[string]string{}
			}
			out.Attributes[name] = v
		}
	}
	for name, v := range m.Attributes {
		if wantAttribute(p.attrNames, name) {
			if out.MessageAttributes == nil {
				out.MessageAttributes = map[string]MessageAttributeValue{}
			}
			out.MessageAttributes[name] = v
		}
	}
	// The digest is of the attributes returned, so a client can check it.
	out.MD5OfMessageAttributes = attributesMD5(out.MessageAttributes)
	return out
}

// wantAttribute matches a message attribute name against
// MessageAttributeNames: "All", ".*", "prefix.*" or the name itself.
func wantAttribute(patterns []string, name string) bool {
	for _, p := range patterns {
		switch {
		case p == "All" || p == ".*" || p == name:
			return true
		case strings.HasSuffix(p, ".*") && strings.HasPrefix(name, strings.TrimSuffix(p, "*")):
			return true
		}
	}
	return false
}

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// deleteByHandle deletes the message a receipt handle names. A handle of
// this queue for a message already gone is not an error: SQS lets a
// consumer delete twice.
func deleteByHandle(q *queue, handle string) *awsjson.Error {
	if handle == "" {
		return errMissing("ReceiptHandle")
	}
	id, ok := parseReceipt(q.key, handle)
	if !ok {
		return errReceiptHandle(handle)
	}
	if i, m := q.find(id); m != nil && m.hasReceipt(handle) {
		q.remove(i)
	}
	return nil
}

// DeleteMessage deletes a received message.
func (s *Service) DeleteMessage(ctx context.Context, in *DeleteMessageInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if derr := deleteByHandle(q, in.ReceiptHandle); derr != nil {
		return nil, derr
	}
	return nil, nil
}

// DeleteMessageBatch deletes up to 10 messages, reporting each entry.
func (s *Service) DeleteMessageBatch(ctx context.Context, in *DeleteMessageBatchInput) (*BatchOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return runBatch("DeleteMessageBatchRequestEntry", in.Entries,
		func(e DeleteMessageBatchRequestEntry) string { return e.Id },
		func(e DeleteMessageBatchRequestEntry) *awsjson.Error { return deleteByHandle(q, e.ReceiptHandle) })
}

// changeVisibility sets the visibility timeout of the message a handle
// names, counted from now. Only the latest handle of a message still in the
// queue works; the total since the receive may not pass 12 hours.
func (s *Service) changeVisibility(q *queue, handle string, timeout *int, now time.Time) *awsjson.Error {
	if handle == "" {
		return errMissing("ReceiptHandle")
	}
	if timeout == nil {
		return errMissing("VisibilityTimeout")
	}
	id, ok := parseReceipt(q.key, handle)
	if !ok {
		return errReceiptHandle(handle)
	}
	if *timeout < 0 || *timeout > maxVisibility {
		return errInvalidValue(*timeout, "VisibilityTimeout", "Must be >= 0 and <= 43200, if provided.")
	}
	_, m := q.find(id)
	if m == nil || m.latestReceipt() != handle {
		return errInvalidValue(handle, "ReceiptHandle", "Message does not exist or is not available for visibility timeout change.")
	}
	until := now.Add(time.Duration(*timeout) * time.Second)
	if until.Sub(m.LastReceived) > maxVisibility*time.Second {
		return errInvalidValue(*timeout, "VisibilityTimeout", "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
	}
	m.InvisibleUntil = until
	q.signal()
	return nil
}

// ChangeMessageVisibility changes a received message's visibility timeout;
// 0 makes it receivable at once.
func (s *Service) ChangeMessageVisibility(ctx context.Context, in *ChangeMessageVisibilityInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if cerr := s.changeVisibility(q, in.ReceiptHandle, in.VisibilityTimeout, s.clock.Now()); cerr != nil {
		return nil, cerr
	}
	return nil, nil
}

// ChangeMessageVisibilityBatch changes up to 10 messages' visibility.
func (s *Service) ChangeMessageVisibilityBatch(ctx context.Context, in *ChangeMessageVisibilityBatchInput) (*BatchOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	return runBatch("ChangeMessageVisibilityBatchRequestEntry", in.Entries,
		func(e ChangeMessageVisibilityBatchRequestEntry) string { return e.Id },
		func(e ChangeMessageVisibilityBatchRequestEntry) *awsjson.Error {
			return s.changeVisibility(q, e.ReceiptHandle, e.VisibilityTimeout, now)
		})
}

// runBatch checks a batch's entry ids, then runs each entry, reporting it
// as successful or failed with its error: the shape of SQS's batch calls
// that answer with ids only.
func runBatch[E any](entryName string, entries []E, id func(E) string, run func(E) *awsjson.Error) (*BatchOutput, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = id(e)
	}
	if err := checkBatch(entryName, ids); err != nil {
		return nil, err
	}
	out := &BatchOutput{Successful: []BatchResultEntry{}, Failed: []BatchResultErrorEntry{}}
	for i, e := range entries {
		if err := run(e); err != nil {
			out.Failed = append(out.Failed, batchFailure(ids[i], err))
			continue
		}
		out.Successful = append(out.Successful, BatchResultEntry{Id: ids[i]})
	}
	return out, nil
}
