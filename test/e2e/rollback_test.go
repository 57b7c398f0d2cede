package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/shared/lifecycle"
)

// invokeRollback asks the function to roll back, as an operator does with
// `aws lambda invoke`; it returns Lambda's FunctionError and payload.
func invokeRollback(t *testing.T, function, arn, from string) (functionError string, payload []byte) {
	t.Helper()
	body, _ := json.Marshal(lifecycle.RollbackEvent{Action: lifecycle.RollbackAction, SecretID: arn, FromVersionID: from})
	out, err := lambdasdk.NewFromConfig(awsConfig()).Invoke(context.Background(), &lambdasdk.InvokeInput{
		FunctionName: aws.String(endpoint.FunctionARN(function)), Payload: body,
	})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return aws.ToString(out.FunctionError), out.Payload
}

// With alternating users the previous user still logs in: a rollback moves
// AWSCURRENT back to it. With a single user the old password is gone: the
// function refuses and nothing moves.
func TestRollbackThroughTheFunction(t *testing.T) {
	t.Run("alternating-users", func(t *testing.T) {
		arn := newApp(t, "app_rollback")
		_, first := read(t, arn, "AWSCURRENT")
		second := rotate(t, arn, "rotor-postgres", "")
		if fe, payload := invokeRollback(t, "rotor-postgres", arn, second); fe != "" {
			t.Fatalf("want the rollback done, got %s: %s", fe, payload)
		}
		cur, curVersion := read(t, arn, "AWSCURRENT")
		_, prevVersion := read(t, arn, "AWSPREVIOUS")
		if curVersion != first || prevVersion != second {
			t.Fatalf("want AWSCURRENT back on %s and AWSPREVIOUS on %s, got %s and %s", first, second, curVersion, prevVersion)
		}
		mustLogin(t, cur, "AWSCURRENT after the rollback")
		// Asked again: done already, nothing moves.
		if fe, payload := invokeRollback(t, "rotor-postgres", arn, second); fe != "" {
			t.Fatalf("asked again: want success, got %s: %s", fe, payload)
		}
		if _, v := read(t, arn, "AWSCURRENT"); v != first {
			t.Fatalf("asked again: want AWSCURRENT to stay on %s, got %s", first, v)
		}
		// The secret is ready for the next rotation: no AWSPENDING left
		// on the rolled-back version, RotateSecret accepted and run.
		d, err := client.DescribeSecret(context.Background(), &sm.DescribeSecretInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		for id, stages := range d.VersionIdsToStages {
			if slices.Contains(stages, "AWSPENDING") {
				t.Fatalf("want no AWSPENDING after the rollback, got it on %s: %v", id, d.VersionIdsToStages)
			}
		}
		third := rotate(t, arn, "rotor-postgres", "")
		cur, v := read(t, arn, "AWSCURRENT")
		if v != third {
			t.Fatalf("the rotation after the rollback: want AWSCURRENT on %s, got %s", third, v)
		}
		mustLogin(t, cur, "AWSCURRENT of the rotation after the rollback")
	})
	t.Run("single-user", func(t *testing.T) {
		arn := newApp(t, "app_rollback_single")
		second := rotate(t, arn, "rotor-postgres-single", "")
		fe, payload := invokeRollback(t, "rotor-postgres-single", arn, second)
		if fe == "" || !strings.Contains(string(payload), "RollbackError") || !strings.Contains(string(payload), "no longer works") {
			t.Fatalf("want a RollbackError saying the previous credential no longer works, got %q: %s", fe, payload)
		}
		cur, v := read(t, arn, "AWSCURRENT")
		if v != second {
			t.Fatalf("want AWSCURRENT to stay on %s, got %s", second, v)
		}
		mustLogin(t, cur, "AWSCURRENT after a refused rollback")
	})
	checkNoSecretInLogs(t)
}

// TestConfigurationTestThroughTheFunction: RotateSecret with
// RotateImmediately=false (`aws secretsmanager rotate-secret
// --no-rotate-immediately`) runs the function's testSecret alone. It
// passes for a correct configuration of either strategy, with no clone
// user yet, and changes nothing; with a master secret whose password is
// wrong it fails, and still changes nothing.
func TestConfigurationTestThroughTheFunction(t *testing.T) {
	ctx := context.Background()
	configTest := func(arn, function string) error {
		_, err := client.RotateSecret(ctx, &sm.RotateSecretInput{
			SecretId: aws.String(arn), RotationLambdaARN: aws.String(endpoint.FunctionARN(function)),
			RotateImmediately: aws.Bool(false),
			RotationRules:     &types.RotationRulesType{ScheduleExpression: aws.String("rate(10 days)")},
		})
		waitRotations(t)
		return err
	}
	for function, strategy := range functions {
		t.Run(strategy, func(t *testing.T) {
			arn := newApp(t, "app_config_"+strings.ReplaceAll(strategy, "-", "_"))
			cur, version := read(t, arn, "AWSCURRENT")
			if err := configTest(arn, function); err != nil {
				t.Fatalf("want the configuration test to pass, got %v", err)
			}
			if got, v := read(t, arn, "AWSCURRENT"); v != version || got != cur {
				t.Fatalf("want AWSCURRENT unchanged on %s, got %s", version, v)
			}
			mustLogin(t, cur, "AWSCURRENT after the configuration test")
			if strategy == "alternating-users" {
				var n int
				conn, err := db.Admin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = $1`, cur.Username+"_clone").Scan(&n); err != nil || n != 0 {
					t.Fatalf("want no clone user created by the configuration test, got %d (%v)", n, err)
				}
			}
			// A rotation after it runs as usual.
			next := rotate(t, arn, function, "")
			if _, v := read(t, arn, "AWSCURRENT"); v != next {
				t.Fatalf("want the rotation after the configuration test to finish, got AWSCURRENT on %s", v)
			}
		})
	}
	t.Run("alternating-users, master cannot log in", func(t *testing.T) {
		badMaster, err := createSecret(ctx, "e2e/bad-master-"+uuid.NewString()[:8], masterUser, "not-the-master-password", "")
		if err != nil {
			t.Fatal(err)
		}
		user := fmt.Sprintf("app_config_bad_%d", roleSeq.Add(1))
		if err := db.Exec(ctx, `CREATE ROLE `+user+` WITH LOGIN PASSWORD 'Initial-Password-1'`); err != nil {
			t.Fatal(err)
		}
		arn, err := createSecret(ctx, "e2e/"+user, user, "Initial-Password-1", badMaster)
		if err != nil {
			t.Fatal(err)
		}
		_, version := read(t, arn, "AWSCURRENT")
		if err := configTest(arn, "rotor-postgres"); err == nil {
			t.Fatal("want the configuration test to fail with a master secret that does not log in, got nil")
		}
		d, err := client.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.VersionIdsToStages) != 1 || !slices.Contains(d.VersionIdsToStages[version], "AWSCURRENT") {
			t.Fatalf("want only the AWSCURRENT version left, got %v", d.VersionIdsToStages)
		}
		if fnLog, err := os.ReadFile(fnLogPath); err != nil || !strings.Contains(string(fnLog), "log in as the master user") {
			t.Errorf("want the function's log to say the master user does not log in")
		}
	})
	checkNoSecretInLogs(t)
}
