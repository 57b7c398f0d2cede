package awssm_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
)

// TestTagsAgainstMoto: Details reads tags and versions, Tag adds and
// changes keys and leaves the others, ListTagged finds secrets by tag-key
// prefix, on moto_server.
func TestTagsAgainstMoto(t *testing.T) {
	ctx := t.Context()
	sm := moto.SecretsManager()
	s := awssm.New(sm)
	prefix := "awssm-test-" + uuid.NewString()[:8] + ":"
	name, v1 := secret(t, sm, &secretsmanager.CreateSecretInput{
		SecretString: aws.String("value-tags"),
		Tags:         []types.Tag{{Key: aws.String(prefix + "orders"), Value: aws.String("queue")}, {Key: aws.String("team"), Value: aws.String("payments")}},
	})
	other, _ := secret(t, sm, &secretsmanager.CreateSecretInput{SecretString: aws.String("value-untagged")})

	d, err := s.Details(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != name || !d.HasStage(v1, secretstore.Current) || d.Tags[prefix+"orders"] != "queue" || d.Tags["team"] != "payments" || !d.LastRotated.IsZero() {
		t.Fatalf("want name, AWSCURRENT on %s, both tags and no LastRotated, got %+v", v1, d)
	}
	if err := s.Tag(ctx, name, map[string]string{"rotor:ack:orders": v1, "team": "billing"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, name, map[string]string{"rotor:ack:orders": v1}); err != nil {
		t.Fatalf("the same tag again: want no error, got %v", err)
	}
	d, err = s.Details(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{prefix + "orders": "queue", "team": "billing", "rotor:ack:orders": v1}
	for k, v := range want {
		if d.Tags[k] != v {
			t.Errorf("tag %s: want %q, got %q", k, v, d.Tags[k])
		}
	}
	if err := s.Untag(ctx, name, []string{"rotor:ack:orders", "no-such-key"}); err != nil {
		t.Fatalf("Untag: want no error, got %v", err)
	}
	if d, err = s.Details(ctx, name); err != nil || d.Tags["rotor:ack:orders"] != "" || d.Tags["team"] != "billing" {
		t.Errorf("after Untag: want rotor:ack:orders gone and team kept, got %v (%v)", d.Tags, err)
	}
	found, err := s.ListTagged(ctx, prefix)
	var arns []string
	for _, f := range found {
		arns = append(arns, f.ARN)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(arns) != 1 || arns[0] != d.ARN {
		t.Errorf("ListTagged(%q): want [%s], got %v", prefix, d.ARN, arns)
	}
	od, err := s.Details(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(arns, od.ARN) {
		t.Errorf("want the untagged secret left out, got it")
	}
	if _, err := s.Details(ctx, "missing-"+uuid.NewString()); !errors.Is(err, secretstore.ErrNotFound) {
		t.Errorf("missing secret: want ErrNotFound, got %v", err)
	}
}

// TestTagNeedsTagAPI: a client without TagResource and ListSecrets gets
// ErrNoTagAPI, not a panic.
func TestTagNeedsTagAPI(t *testing.T) {
	s := awssm.New(fakeAPI{})
	if err := s.Tag(t.Context(), "x", map[string]string{"k": "v"}); !errors.Is(err, awssm.ErrNoTagAPI) {
		t.Errorf("Tag: want ErrNoTagAPI, got %v", err)
	}
	if err := s.Untag(t.Context(), "x", []string{"k"}); !errors.Is(err, awssm.ErrNoTagAPI) {
		t.Errorf("Untag: want ErrNoTagAPI, got %v", err)
	}
	if _, err := s.ListTagged(t.Context(), "k"); !errors.Is(err, awssm.ErrNoTagAPI) {
		t.Errorf("ListTagged: want ErrNoTagAPI, got %v", err)
	}
}
