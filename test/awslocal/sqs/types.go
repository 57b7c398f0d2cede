package sqs

// Request and response shapes of the operations served, with the member
// names of SQS's JSON protocol (CreateQueue's tags member is lower case in
// the service model). Optional numbers are pointers: absent and zero differ
// (an absent WaitTimeSeconds is the queue's default, zero is a short poll).

// MessageAttributeValue is a message attribute. BinaryValue is base64 on the
// wire, which encoding/json does for []byte.
type MessageAttributeValue struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

type CreateQueueInput struct {
	QueueName  string            `json:"QueueName"`
	Attributes map[string]string `json:"Attributes"`
	Tags       map[string]string `json:"tags"`
}

type QueueURLOutput struct {
	QueueUrl string `json:"QueueUrl"`
}

type GetQueueURLInput struct {
	QueueName              string `json:"QueueName"`
	QueueOwnerAWSAccountId string `json:"QueueOwnerAWSAccountId"`
}

type ListQueuesInput struct {
	QueueNamePrefix string `json:"QueueNamePrefix"`
	NextToken       string `json:"NextToken"`
	MaxResults      *int   `json:"MaxResults"`
}

type ListQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty"`
	NextToken string   `json:"NextToken,omitempty"`
}

type ListDeadLetterSourceQueuesInput struct {
	QueueUrl   string `json:"QueueUrl"`
	NextToken  string `json:"NextToken"`
	MaxResults *int   `json:"MaxResults"`
}

type ListDeadLetterSourceQueuesOutput struct {
	QueueUrls []string `json:"queueUrls"`
	NextToken string   `json:"NextToken,omitempty"`
}

type QueueURLInput struct {
	QueueUrl string `json:"QueueUrl"`
}

type GetQueueAttributesInput struct {
	QueueUrl       string   `json:"QueueUrl"`
	AttributeNames []string `json:"AttributeNames"`
}

type GetQueueAttributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty"`
}

type SetQueueAttributesInput struct {
	QueueUrl   string            `json:"QueueUrl"`
	Attributes map[string]string `json:"Attributes"`
}

type TagQueueInput struct {
	QueueUrl string            `json:"QueueUrl"`
	Tags     map[string]string `json:"Tags"`
}

type UntagQueueInput struct {
	QueueUrl string   `json:"QueueUrl"`
	TagKeys  []string `json:"TagKeys"`
}

type ListQueueTagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty"`
}

type SendMessageInput struct {
	QueueUrl                string                           `json:"QueueUrl"`
	MessageBody             *string                          `json:"MessageBody"`
	DelaySeconds            *int                             `json:"DelaySeconds"`
	MessageAttributes       map[string]MessageAttributeValue `json:"MessageAttributes"`
	MessageSystemAttributes map[string]MessageAttributeValue `json:"MessageSystemAttributes"`
	MessageDeduplicationId  *string                          `json:"MessageDeduplicationId"`
	MessageGroupId          *string                          `json:"MessageGroupId"`
}

type SendMessageOutput struct {
	MessageId                    string `json:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
}

type SendMessageBatchRequestEntry struct {
	Id                      string                           `json:"Id"`
	MessageBody             *string                          `json:"MessageBody"`
	DelaySeconds            *int                             `json:"DelaySeconds"`
	MessageAttributes       map[string]MessageAttributeValue `json:"MessageAttributes"`
	MessageSystemAttributes map[string]MessageAttributeValue `json:"MessageSystemAttributes"`
	MessageDeduplicationId  *string                          `json:"MessageDeduplicationId"`
	MessageGroupId          *string                          `json:"MessageGroupId"`
}

type SendMessageBatchInput struct {
	QueueUrl string                         `json:"QueueUrl"`
	Entries  []SendMessageBatchRequestEntry `json:"Entries"`
}

type SendMessageBatchResultEntry struct {
	Id                           string `json:"Id"`
	MessageId                    string `json:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
}

// BatchResultErrorEntry is one failed entry of a batch; Code is the query
// code (InvalidParameterValue, ReceiptHandleIsInvalid), as SQS reports it.
type BatchResultErrorEntry struct {
	Id          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
}

type SendMessageBatchOutput struct {
	Successful []SendMessageBatchResultEntry `json:"Successful"`
	Failed     []BatchResultErrorEntry       `json:"Failed"`
}

type ReceiveMessageInput struct {
	QueueUrl                    string   `json:"QueueUrl"`
	AttributeNames              []string `json:"AttributeNames"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string `json:"MessageAttributeNames"`
	MaxNumberOfMessages         *int     `json:"MaxNumberOfMessages"`
	VisibilityTimeout           *int     `json:"VisibilityTimeout"`
	WaitTimeSeconds             *int     `json:"WaitTimeSeconds"`
	ReceiveRequestAttemptId     *string  `json:"ReceiveRequestAttemptId"`
}

type Message struct {
	MessageId              string                           `json:"MessageId"`
	ReceiptHandle          string                           `json:"ReceiptHandle"`
	MD5OfBody              string                           `json:"MD5OfBody"`
	Body                   string                           `json:"Body"`
	Attributes             map[string]string                `json:"Attributes,omitempty"`
	MessageAttributes      map[string]MessageAttributeValue `json:"MessageAttributes,omitempty"`
	MD5OfMessageAttributes string                           `json:"MD5OfMessageAttributes,omitempty"`
}

type ReceiveMessageOutput struct {
	Messages []Message `json:"Messages,omitempty"`
}

type DeleteMessageInput struct {
	QueueUrl      string `json:"QueueUrl"`
	ReceiptHandle string `json:"ReceiptHandle"`
}

type DeleteMessageBatchRequestEntry struct {
	Id            string `json:"Id"`
	ReceiptHandle string `json:"ReceiptHandle"`
}

type DeleteMessageBatchInput struct {
	QueueUrl string                           `json:"QueueUrl"`
	Entries  []DeleteMessageBatchRequestEntry `json:"Entries"`
}

type BatchResultEntry struct {
	Id string `json:"Id"`
}

type BatchOutput struct {
	Successful []BatchResultEntry      `json:"Successful"`
	Failed     []BatchResultErrorEntry `json:"Failed"`
}

type ChangeMessageVisibilityInput struct {
	QueueUrl          string `json:"QueueUrl"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
}

type ChangeMessageVisibilityBatchRequestEntry struct {
	Id                string `json:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
}

type ChangeMessageVisibilityBatchInput struct {
	QueueUrl string                                     `json:"QueueUrl"`
	Entries  []ChangeMessageVisibilityBatchRequestEntry `json:"Entries"`
}
