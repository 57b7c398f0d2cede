package sqs

import (
	"context"
	"encoding/base64"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
)

// CreateQueue creates a standard queue, or returns the URL of the queue of
// that name when every attribute given has the queue's value (AWS: "If you
// provide the name of an existing queue along with the exact names and
// values of all the queue's attributes, CreateQueue returns the queue URL
// for the existing queue"); another value is QueueAlreadyExists.
func (s *Service) CreateQueue(ctx context.Context, in *CreateQueueInput) (*QueueURLOutput, error) {
	c := caller(ctx)
	if in.QueueName == "" {
		return nil, errMissing("QueueName")
	}
	if strings.HasSuffix(in.QueueName, ".fifo") && strings.EqualFold(in.Attributes["FifoQueue"], "true") {
		return nil, kindUnsupportedOperation.errorf("FIFO queues are not supported by this local endpoint; create a standard queue.")
	}
	if !validQueueName(in.QueueName) {
		return nil, kindInvalidParameterValue.errorf("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	k := queueKey{Account: c.AccountID, Region: c.Region, Name: in.QueueName}

	s.mu.Lock()
	defer s.mu.Unlock()
	attrs, aerr := normaliseAttributes(in.Attributes, true, k, s.exists)
	if aerr != nil {
		return nil, aerr
	}
	now := s.clock.Now()
	if q, ok := s.queues[k]; ok {
		if name, differ := q.differs(attrs); differ {
			return nil, kindQueueNameExists.errorf("A queue already exists with the same name and a different value for attribute %s", name)
		}
		return &QueueURLOutput{QueueUrl: queueURL(c.Host, k)}, nil
	}
	if at, ok := s.deleted[k]; ok && s.cooldowns && now.Sub(at) < cooldown {
		return nil, kindQueueDeletedRecently.errorf("You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	}
	q := newQueue(k, now)
	q.apply(attrs, now)
	q.modified = now
	for tk, tv := range in.Tags {
		q.tags[tk] = tv
	}
	s.queues[k] = q
	s.log.LogAttrs(ctx, slog.LevelDebug, "sqs: queue created", slog.String("queue", k.arn()))
	return &QueueURLOutput{QueueUrl: queueURL(c.Host, k)}, nil
}

// GetQueueURL returns a queue's URL, in the caller's account or in
// QueueOwnerAWSAccountId's.
func (s *Service) GetQueueURL(ctx context.Context, in *GetQueueURLInput) (*QueueURLOutput, error) {
	c := caller(ctx)
	if in.QueueName == "" {
		return nil, errMissing("QueueName")
	}
	k := queueKey{Account: c.AccountID, Region: c.Region, Name: in.QueueName}
	if in.QueueOwnerAWSAccountId != "" {
		k.Account = in.QueueOwnerAWSAccountId
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.exists(k) {
		return nil, errQueueDoesNotExist()
	}
	return &QueueURLOutput{QueueUrl: queueURL(c.Host, k)}, nil
}

// ListQueues lists the caller's queues in name order, 1000 at most, or
// MaxResults a page with NextToken.
func (s *Service) ListQueues(ctx context.Context, in *ListQueuesInput) (*ListQueuesOutput, error) {
	c := caller(ctx)
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 1000) {
		return nil, errInvalidValue(*in.MaxResults, "MaxResults", "MaxResults must be an integer between 1 and 1000.")
	}
	after, terr := decodeToken(in.NextToken)
	if terr != nil {
		return nil, terr
	}
	s.mu.Lock()
	var names []string
	for k := range s.queues {
		if k.Account == c.AccountID && k.Region == c.Region && strings.HasPrefix(k.Name, in.QueueNamePrefix) && k.Name > after {
			names = append(names, k.Name)
		}
	}
	s.mu.Unlock()
	slices.Sort(names)
	out := &ListQueuesOutput{}
	limit := 1000
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	if len(names) > limit {
		names = names[:limit]
		if in.MaxResults != nil {
			out.NextToken = encodeToken(names[len(names)-1])
		}
	}
	for _, n := range names {
		out.QueueUrls = append(out.QueueUrls, queueURL(c.Host, queueKey{Account: c.AccountID, Region: c.Region, Name: n}))
	}
	return out, nil
}

// Page tokens carry the last name listed.
func encodeToken(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func decodeToken(tok string) (string, *awsjson.Error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !utf8.Valid(b) {
		return "", errInvalidValue(tok, "NextToken", "Invalid NextToken value.")
	}
	return string(b), nil
}

// ListDeadLetterSourceQueues lists the queues whose RedrivePolicy names the
// queue as their dead-letter queue.
func (s *Service) ListDeadLetterSourceQueues(ctx context.Context, in *ListDeadLetterSourceQueuesInput) (*ListDeadLetterSourceQueuesOutput, error) {
	c := caller(ctx)
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 1000) {
		return nil, errInvalidValue(*in.MaxResults, "MaxResults", "MaxResults must be an integer between 1 and 1000.")
	}
	after, terr := decodeToken(in.NextToken)
	if terr != nil {
		return nil, terr
	}
	s.mu.Lock()
	dlq, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	var sources []queueKey
	for k, q := range s.queues {
		if p, ok := q.redrive(); ok && p.DeadLetterTargetArn == dlq.key.arn() && k.Name > after {
			sources = append(sources, k)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(sources, func(a, b queueKey) int { return strings.Compare(a.Name, b.Name) })
	out := &ListDeadLetterSourceQueuesOutput{QueueUrls: []string{}}
	if in.MaxResults != nil && len(sources) > *in.MaxResults {
		sources = sources[:*in.MaxResults]
		out.NextToken = encodeToken(sources[len(sources)-1].Name)
	}
	for _, k := range sources {
		out.QueueUrls = append(out.QueueUrls, queueURL(c.Host, k))
	}
	return out, nil
}

// DeleteQueue deletes a queue and its messages. Long polls on it end.
func (s *Service) DeleteQueue(ctx context.Context, in *QueueURLInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	delete(s.queues, q.key)
	s.deleted[q.key] = s.clock.Now()
	q.msgs = nil
	q.signal()
	s.log.LogAttrs(ctx, slog.LevelDebug, "sqs: queue deleted", slog.String("queue", q.key.arn()))
	return nil, nil
}

// GetQueueAttributes returns the attributes named ("All" for every one); no
// names is an empty answer, as in SQS.
func (s *Service) GetQueueAttributes(ctx context.Context, in *GetQueueAttributesInput) (*GetQueueAttributesOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	for _, n := range in.AttributeNames {
		if !queueAttributeNames[n] {
			return nil, errUnknownAttribute(n)
		}
	}
	attrs := q.attributes(in.AttributeNames, s.clock.Now())
	if len(attrs) == 0 {
		return &GetQueueAttributesOutput{}, nil
	}
	return &GetQueueAttributesOutput{Attributes: attrs}, nil
}

// SetQueueAttributes changes attributes; an invalid one changes none.
func (s *Service) SetQueueAttributes(ctx context.Context, in *SetQueueAttributesInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	for n := range in.Attributes {
		if readOnlyAttributes[n] {
			return nil, errUnknownAttribute(n)
		}
	}
	attrs, aerr := normaliseAttributes(in.Attributes, false, q.key, s.exists)
	if aerr != nil {
		return nil, aerr
	}
	now := s.clock.Now()
	q.apply(attrs, now)
	// A shorter delay or a redrive policy can make messages receivable now.
	q.signal()
	return nil, nil
}

// PurgeQueue deletes every message of a queue.
func (s *Service) PurgeQueue(ctx context.Context, in *QueueURLInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if s.cooldowns && !q.lastPurge.IsZero() && now.Sub(q.lastPurge) < cooldown {
		return nil, kindPurgeQueueInProgress.errorf("Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.key.Name)
	}
	q.lastPurge = now
	q.msgs = nil
	return nil, nil
}

// checkTags applies the tag rules of the SQS developer guide: at most 50,
// keys of 1 to 128 characters, values of at most 256.
func checkTags(tags map[string]string) *awsjson.Error {
	if len(tags) > 50 {
		return kindInvalidParameterValue.errorf("Too many tags added for queue: %d tags, at most 50.", len(tags))
	}
	for k, v := range tags {
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
			return kindInvalidParameterValue.errorf("Tag keys must be between 1 and 128 characters in length.")
		}
		if utf8.RuneCountInString(v) > 256 {
			return kindInvalidParameterValue.errorf("Tag values must be at most 256 characters in length.")
		}
	}
	return nil
}

// TagQueue adds or replaces tags.
func (s *Service) TagQueue(ctx context.Context, in *TagQueueInput) (*struct{}, error) {
	if len(in.Tags) == 0 {
		return nil, errMissing("Tags")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	merged := len(q.tags)
	for k := range in.Tags {
		if _, ok := q.tags[k]; !ok {
			merged++
		}
	}
	if merged > 50 {
		return nil, kindInvalidParameterValue.errorf("Too many tags added for queue: %d tags, at most 50.", merged)
	}
	for k, v := range in.Tags {
		q.tags[k] = v
	}
	return nil, nil
}

// UntagQueue removes tags; a key the queue does not have is not an error.
func (s *Service) UntagQueue(ctx context.Context, in *UntagQueueInput) (*struct{}, error) {
	if len(in.TagKeys) == 0 {
		return nil, errMissing("TagKeys")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(q.tags, k)
	}
	return nil, nil
}

// ListQueueTags returns a queue's tags; none is an empty answer.
func (s *Service) ListQueueTags(ctx context.Context, in *QueueURLInput) (*ListQueueTagsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(ctx, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	out := &ListQueueTagsOutput{}
	if len(q.tags) > 0 {
		out.Tags = map[string]string{}
		for k, v := range q.tags {
			out.Tags[k] = v
		}
	}
	return out, nil
}
