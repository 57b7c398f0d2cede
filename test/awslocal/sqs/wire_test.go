package sqs_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/rotorhq/rotor/test/awslocal/sqs"
)

// call posts one raw JSON request, signed enough for the router.
func call(t *testing.T, endpoint, op, body string) (status int, header http.Header, out map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20300102/"+region+"/sqs/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out = map[string]any{}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: want a JSON body, got %q", op, data)
	}
	return resp.StatusCode, resp.Header, out
}

// TestErrorWireFormat checks the three things clients read from an error:
// the status, __type (the model's shape), and x-amzn-query-error (the
// legacy code the SDKs and botocore report).
func TestErrorWireFormat(t *testing.T) {
	l := startLocal(t, sqs.Options{})
	status, _, out := call(t, l.url, "CreateQueue", `{"QueueName":"wire"}`)
	if status != http.StatusOK {
		t.Fatalf("CreateQueue: want 200, got %d %v", status, out)
	}
	qurl := out["QueueUrl"].(string)
	tests := []struct {
		name, op, body string
		wantStatus     int
		wantType       string
		wantQuery      string
	}{
		{"missing queue", "GetQueueUrl", `{"QueueName":"nope"}`, 400, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"queue exists with other attributes", "CreateQueue", `{"QueueName":"wire","Attributes":{"DelaySeconds":"3"}}`, 400, "com.amazonaws.sqs#QueueNameExists", "QueueAlreadyExists;Sender"},
		{"bad parameter", "ReceiveMessage", `{"QueueUrl":"` + qurl + `","MaxNumberOfMessages":0}`, 400, "com.amazonaws.sqs#InvalidParameterValueException", "InvalidParameterValue;Sender"},
		{"missing parameter", "SendMessage", `{"QueueUrl":"` + qurl + `"}`, 400, "com.amazonaws.sqs#MissingRequiredParameterException", "MissingParameter;Sender"},
		{"made-up receipt handle", "DeleteMessage", `{"QueueUrl":"` + qurl + `","ReceiptHandle":"x"}`, 404, "com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid;Sender"},
		{"empty batch", "DeleteMessageBatch", `{"QueueUrl":"` + qurl + `","Entries":[]}`, 400, "com.amazonaws.sqs#EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest;Sender"},
		{"unknown attribute", "GetQueueAttributes", `{"QueueUrl":"` + qurl + `","AttributeNames":["Colour"]}`, 400, "com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName;Sender"},
		{"not a queue URL", "SendMessage", `{"QueueUrl":"wire","MessageBody":"x"}`, 404, "com.amazonaws.sqs#InvalidAddress", "InvalidAddress;Sender"},
		{"FIFO queue", "CreateQueue", `{"QueueName":"f.fifo","Attributes":{"FifoQueue":"true"}}`, 400, "com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation;Sender"},
		{"malformed JSON", "SendMessage", `{"QueueUrl":`, 400, "SerializationException", ""},
		{"wrong JSON type", "ReceiveMessage", `{"QueueUrl":"` + qurl + `","MaxNumberOfMessages":"ten"}`, 400, "SerializationException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, out := call(t, l.url, tt.op, tt.body)
			if status != tt.wantStatus {
				t.Errorf("want status %d, got %d", tt.wantStatus, status)
			}
			if got := out["__type"]; got != tt.wantType {
				t.Errorf("want __type %q, got %q", tt.wantType, got)
			}
			if got := h.Get("X-Amzn-Query-Error"); got != tt.wantQuery {
				t.Errorf("want x-amzn-query-error %q, got %q", tt.wantQuery, got)
			}
			if msg, _ := out["message"].(string); msg == "" {
				t.Errorf("want a message, got none in %v", out)
			}
		})
	}
}

// TestSDKErrorTypes checks that aws-sdk-go-v2 turns the errors into its
// modelled types, and reports the query code as the error code.
func TestSDKErrorTypes(t *testing.T) {
	l := startLocal(t, sqs.Options{})
	c := l.client("testing")
	ctx := t.Context()
	_, err := c.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var qdne *types.QueueDoesNotExist
	if !errors.As(err, &qdne) {
		t.Fatalf("GetQueueUrl of a missing queue: want *types.QueueDoesNotExist, got %T %v", err, err)
	}
	if got := qdne.ErrorCode(); got != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Errorf("want error code AWS.SimpleQueueService.NonExistentQueue, got %q", got)
	}
	if got := qdne.ErrorMessage(); got != "The specified queue does not exist." {
		t.Errorf("want AWS's message, got %q", got)
	}

	if _, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"DelaySeconds": "1"}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"DelaySeconds": "2"}})
	var qne *types.QueueNameExists
	if !errors.As(err, &qne) || qne.ErrorCode() != "QueueAlreadyExists" {
		t.Fatalf("CreateQueue with other attributes: want *types.QueueNameExists with code QueueAlreadyExists, got %T %v", err, err)
	}
	if !strings.Contains(qne.ErrorMessage(), "DelaySeconds") {
		t.Errorf("want the message to name DelaySeconds, got %q", qne.ErrorMessage())
	}

	_, err = c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(l.url + "/" + account + "/q"), MaxNumberOfMessages: 11})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" || ae.ErrorFault() != smithy.FaultClient {
		t.Fatalf("MaxNumberOfMessages 11: want InvalidParameterValue, a client fault, got %v", err)
	}
}
