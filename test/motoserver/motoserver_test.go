package motoserver_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor/test/motoserver"
)

func TestStartServeStop(t *testing.T) {
	s, err := motoserver.Start()
	if err != nil {
		t.Fatalf("Start: want a running server, got %v", err)
	}
	ctx := context.Background()
	sm := s.SecretsManager()
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("motoserver-smoke"), SecretString: aws.String("x")})
	if err != nil {
		t.Fatalf("CreateSecret through the SDK: want success, got %v", err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatalf("Reset: want success, got %v", err)
	}
	_, err = sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("motoserver-smoke")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeSecret after Reset: want ResourceNotFoundException, got %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: want nil, got %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: want nil, got %v", err)
	}
	if resp, err := http.Get(s.URL); err == nil {
		resp.Body.Close()
		t.Fatalf("after Stop: want the port closed, got %s", resp.Status)
	}
}

func TestStartTB(t *testing.T) {
	s := motoserver.StartTB(t)
	resp, err := http.Get(s.URL + "/moto-api/")
	if err != nil {
		t.Fatalf("GET %s: want an answer, got %v", s.URL, err)
	}
	resp.Body.Close()
}
