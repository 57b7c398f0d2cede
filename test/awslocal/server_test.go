package awslocal_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotorhq/rotor/test/awslocal"
)

func sdkConfig(url, accessKey string) aws.Config {
	return aws.Config{
		Region:           awslocal.DefaultRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, "x", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	}
}

// TestRestartKeepsState: secrets, queues with their messages and rules
// survive a Close and a Start on the same state file, in every account.
func TestRestartKeepsState(t *testing.T) {
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "state.json")
	first, err := awslocal.Start(awslocal.Options{StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"111111111111", "222222222222"} {
		cfg := sdkConfig(first.URL, key)
		if _, err := sm.NewFromConfig(cfg).CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("kept-" + key), SecretString: aws.String("v")}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := sdkConfig(first.URL, "111111111111")
	q, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("still here")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eventbridge.NewFromConfig(cfg).PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("kept"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second, err := awslocal.Start(awslocal.Options{StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, key := range []string{"111111111111", "222222222222"} {
		out, err := sm.NewFromConfig(sdkConfig(second.URL, key)).GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("kept-" + key)})
		if err != nil || aws.ToString(out.SecretString) != "v" || !strings.Contains(aws.ToString(out.ARN), ":"+key+":") {
			t.Fatalf("want account %s's secret back after the restart, got %v (%v)", key, out, err)
		}
	}
	cfg = sdkConfig(second.URL, "111111111111")
	url, err := sqs.NewFromConfig(cfg).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("kept")})
	if err != nil {
		t.Fatalf("want the queue back after the restart, got %v", err)
	}
	msgs, err := sqs.NewFromConfig(cfg).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl})
	if err != nil || len(msgs.Messages) != 1 || aws.ToString(msgs.Messages[0].Body) != "still here" {
		t.Fatalf("want the queued message back after the restart, got %v (%v)", msgs, err)
	}
	if _, err := eventbridge.NewFromConfig(cfg).DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("kept")}); err != nil {
		t.Fatalf("want the rule back after the restart, got %v", err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "10.1.2.3:4566", ":4566"} {
		if s, err := awslocal.Start(awslocal.Options{Addr: addr}); err == nil {
			s.Close()
			t.Fatalf("want %s refused (loopback only), got a server", addr)
		}
	}
}

func TestUnsignedRequestsAreRefused(t *testing.T) {
	s, err := awslocal.Start(awslocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := sdkConfig(s.URL, "x")
	cfg.Credentials = aws.AnonymousCredentials{}
	_, err = sm.NewFromConfig(cfg).ListSecrets(context.Background(), &sm.ListSecretsInput{})
	if err == nil || !strings.Contains(err.Error(), "MissingAuthenticationTokenException") {
		t.Fatalf("want MissingAuthenticationTokenException for an unsigned request, got %v", err)
	}
}
