package pgadapter_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/events/pgadapter"
)

// TestRealCache runs a pool on the consumer SDK's cache against the local
// Secrets Manager endpoint: an alternating-users rotation (PutSecretValue,
// UpdateSecretVersionStage, Refresh) swaps the pool to user B, then a
// single-user change of B's password (the database first, AWSPENDING
// second, AWSCURRENT not moved) is bridged by AuthFailed and one retry.
func TestRealCache(t *testing.T) {
	ctx := context.Background()
	userA, pwA := newRole(t)
	userB, pwB := newRole(t)
	name := fmt.Sprintf("pgadapter-test/%d", seq.Add(1))
	out, err := smc.CreateSecret(ctx, &sm.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(string(secretValue(t, secretFields(userA, pwA)))),
		ClientRequestToken: aws.String(uuid.NewString()),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ARN)
	first := aws.ToString(out.VersionId)

	log, logs := newLogger()
	cache, err := consumer.New(ctx, smc, consumer.Options{SecretID: arn, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// A zero retire window: the query after the swap must log in as B.
	pool, err := pgadapter.NewPool(ctx, cache, poolConfig(t), pgadapter.WithLogger(log), pgadapter.WithRetireWindow(0))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	currentUser := func() string {
		t.Helper()
		var u string
		if err := pool.QueryRow(ctx, `SELECT current_user::text`).Scan(&u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := currentUser(); u != userA {
		t.Fatalf("before the rotation: want user %s, got %s", userA, u)
	}

	// Alternating users: AWSCURRENT moves to B's version.
	second := uuid.NewString()
	put(t, arn, second, secretFields(userB, pwB), "AWSPENDING")
	if _, err := smc.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: aws.String(second), RemoveFromVersionId: aws.String(first),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := smc.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId: aws.String(arn), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(second),
	}); err != nil {
		t.Fatal(err)
	}
	if swapped, err := cache.Refresh(ctx); err != nil || !swapped {
		t.Fatalf("Refresh: want a swap, got %v, %v", swapped, err)
	}
	if u := currentUser(); u != userB {
		t.Errorf("after the rotation: want user %s, got %s", userB, u)
	}
	if st := pool.Stats(); st.Swaps != 1 || st.Retries != 0 {
		t.Errorf("after the rotation: want 1 swap, no retry, got %+v", st)
	}

	// Single user: B's password changes in the database, AWSPENDING holds
	// it, AWSCURRENT has not moved. The idle connection still works; a new
	// one is refused, refreshed and retried.
	pwB2 := newPassword(t)
	setPassword(t, userB, pwB2)
	put(t, arn, uuid.NewString(), secretFields(userB, pwB2), "AWSPENDING")
	pool.Reset()
	if u := currentUser(); u != userB {
		t.Errorf("in the single-user window: want user %s, got %s", userB, u)
	}
	if st := pool.Stats(); st.Retries != 1 || st.RetryFailures != 0 || st.AuthFailures != 1 {
		t.Errorf("in the single-user window: want 1 refusal and 1 retry, got %+v", st)
	}
	if got := cache.Stats().AuthFailures; got != 1 {
		t.Errorf("cache: want 1 AuthFailed call, got %d", got)
	}
	noSecrets(t, "log", logs.String(), pwA, pwB, pwB2)
}

func put(t *testing.T, arn, id string, fields map[string]any, stage string) {
	t.Helper()
	if _, err := smc.PutSecretValue(context.Background(), &sm.PutSecretValueInput{
		SecretId: aws.String(arn), ClientRequestToken: aws.String(id),
		SecretString: aws.String(string(secretValue(t, fields))), VersionStages: []string{stage},
	}); err != nil {
		t.Fatal(err)
	}
}
