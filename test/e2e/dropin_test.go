package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rotorhq/rotor/shared/lifecycle"
)

// TestDropInForAWSMultiUserFunction is what a user sees who swaps rotor's
// function in for AWS's multi-user PostgreSQL function, on a database as
// applications leave it: the application user owns its schema, tables,
// sequences and functions, holds direct grants on a table it does not own,
// and has a per-role search_path. Everything goes through the AWS CLI
// against the local endpoint: the configuration test
// (--no-rotate-immediately), three rotations, a rollback, and a rotation
// after the rollback. After each, the AWSCURRENT user (and AWSPREVIOUS,
// which alternating users keep valid) does all the application does,
// including use the tables the other user created while it was current.
func TestDropInForAWSMultiUserFunction(t *testing.T) {
	ctx := context.Background()
	const function = "rotor-postgres"
	user := fmt.Sprintf("dropin_%d", roleSeq.Add(1))
	schema := user + "_app"
	shared := user + "_shared"
	pw := "Initial-" + uuid.NewString()
	for _, sql := range []string{
		`CREATE ROLE ` + user + ` WITH LOGIN PASSWORD '` + pw + `'`,
		`ALTER ROLE ` + user + ` SET search_path = ` + schema + `, public`,
		`CREATE SCHEMA ` + schema + ` AUTHORIZATION ` + user,
		// A table the application does not own, granted to it directly.
		`CREATE TABLE public.` + shared + ` (id int)`,
		`GRANT SELECT, INSERT ON public.` + shared + ` TO ` + user,
	} {
		if err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// The application's own objects, created by the application user.
	conn, err := db.Connect(ctx, user, pw)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`CREATE TABLE orders (id serial PRIMARY KEY, note text)`,
		`CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders'`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// A consumer whose pool has not recycled yet keeps a session of the
	// original user open throughout: AWS's function rotates regardless
	// (a password change leaves open sessions alone), and so must rotor's.
	defer conn.Close(ctx)
	arn, err := createSecret(ctx, "e2e/"+user, user, pw, masterARN)
	if err != nil {
		t.Fatal(err)
	}
	logStart := fileSize(t, fnLogPath)

	app := &application{t: t, schema: schema, shared: shared}
	app.use(read(t, arn, "AWSCURRENT"))

	// The configuration test: nothing moves, nothing fails.
	_, before := read(t, arn, "AWSCURRENT")
	awsCLI(t, "secretsmanager", "rotate-secret", "--secret-id", arn,
		"--rotation-lambda-arn", endpoint.FunctionARN(function),
		"--rotation-rules", "AutomaticallyAfterDays=30", "--no-rotate-immediately")
	waitRotations(t)
	if stages := cliStages(t, arn); !slices.Equal(stages[before], []string{"AWSCURRENT"}) || len(stages) != 1 {
		t.Fatalf("after the configuration test: want AWSCURRENT alone on %s and no other version, got %v", before, stages)
	}
	checkNoErrors(t, arn, logStart)

	rotateCLI := func(what string) string {
		t.Helper()
		var out struct{ VersionId string }
		json.Unmarshal(awsCLI(t, "secretsmanager", "rotate-secret", "--secret-id", arn), &out)
		waitRotations(t)
		stages := cliStages(t, arn)
		if !slices.Contains(stages[out.VersionId], "AWSCURRENT") {
			t.Fatalf("%s: want AWSCURRENT on the new version %s, got %v", what, out.VersionId, stages)
		}
		checkNoRotationInProgress(t, what, stages)
		app.use(read(t, arn, "AWSCURRENT"))
		app.use(read(t, arn, "AWSPREVIOUS"))
		checkNoErrors(t, arn, logStart)
		return out.VersionId
	}
	var last string
	for i := range 3 {
		last = rotateCLI(fmt.Sprintf("rotation %d", i+1))
		if _, err := conn.Exec(ctx, `SELECT count(*) FROM orders`); err != nil {
			t.Fatalf("rotation %d: want the consumer's open session to go on, got %v", i+1, err)
		}
	}

	// Rollback, as an operator asks for it with `aws lambda invoke`.
	_, previous := read(t, arn, "AWSPREVIOUS")
	payload, _ := json.Marshal(lifecycle.RollbackEvent{Action: lifecycle.RollbackAction, SecretID: arn, FromVersionID: last})
	outFile := filepath.Join(t.TempDir(), "rollback.json")
	var inv struct{ FunctionError string }
	json.Unmarshal(awsCLI(t, "lambda", "invoke", "--function-name", endpoint.FunctionARN(function),
		"--payload", string(payload), outFile), &inv)
	if inv.FunctionError != "" {
		body, _ := os.ReadFile(outFile)
		t.Fatalf("rollback: want no function error, got %s: %s", inv.FunctionError, body)
	}
	stages := cliStages(t, arn)
	if !slices.Contains(stages[previous], "AWSCURRENT") {
		t.Fatalf("rollback: want AWSCURRENT back on %s, got %v", previous, stages)
	}
	checkNoRotationInProgress(t, "rollback", stages)
	app.use(read(t, arn, "AWSCURRENT"))
	checkNoErrors(t, arn, logStart)

	rotateCLI("rotation after the rollback")
	checkNoSecretInLogs(t)
}

// application is what the application does with its credential.
type application struct {
	t      *testing.T
	schema string
	shared string
	// tables the users created, one per use: each later user must use
	// them all.
	tables []string
}

func (a *application) use(c credential, version string) {
	t := a.t
	t.Helper()
	ctx := context.Background()
	conn, err := db.Connect(ctx, c.Username, c.Password)
	if err != nil {
		t.Fatalf("version %s: want %s to log in, got %v", version, c.Username, err)
	}
	defer conn.Close(ctx)
	table := fmt.Sprintf("made_%d", len(a.tables))
	statements := []string{
		// Unqualified names: the base user's search_path applies.
		`INSERT INTO orders (note) VALUES ('x')`,
		`SELECT order_count()`,
		`SELECT count(*) FROM public.` + a.shared,
		`INSERT INTO public.` + a.shared + ` VALUES (1)`,
	}
	for _, tb := range a.tables {
		statements = append(statements, `INSERT INTO `+a.schema+`.`+tb+` VALUES (1)`, `SELECT count(*) FROM `+a.schema+`.`+tb)
	}
	statements = append(statements, `CREATE TABLE `+a.schema+`.`+table+` (id int)`)
	for _, sql := range statements {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("version %s, user %s: %s: %v", version, c.Username, sql, err)
		}
	}
	a.tables = append(a.tables, table)
}

// awsCLI runs the AWS CLI against the endpoint and returns its stdout.
func awsCLI(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", append(args, "--endpoint-url", endpoint.URL, "--output", "json")...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"AWS_ACCESS_KEY_ID=" + awsConfigAccessKey(t),
		"AWS_SECRET_ACCESS_KEY=x",
		"AWS_DEFAULT_REGION=" + awsConfig().Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args[:2], " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func awsConfigAccessKey(t *testing.T) string {
	t.Helper()
	creds, err := awsConfig().Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return creds.AccessKeyID
}

// cliStages is describe-secret's VersionIdsToStages.
func cliStages(t *testing.T, arn string) map[string][]string {
	t.Helper()
	var d struct{ VersionIdsToStages map[string][]string }
	if err := json.Unmarshal(awsCLI(t, "secretsmanager", "describe-secret", "--secret-id", arn), &d); err != nil {
		t.Fatal(err)
	}
	return d.VersionIdsToStages
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// checkNoErrors fails on any error the function logged for the secret since
// offset.
func checkNoErrors(t *testing.T, arn string, offset int64) {
	t.Helper()
	raw, err := os.ReadFile(fnLogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(raw[offset:], []byte("\n")) {
		var l struct {
			Level    string `json:"level"`
			SecretID string `json:"secret_id"`
			Msg      string `json:"msg"`
			Error    string `json:"error"`
		}
		if json.Unmarshal(line, &l) != nil || l.SecretID != arn {
			continue
		}
		if l.Level == "ERROR" {
			t.Fatalf("want no error for the secret, the function logged %s: %s: %s", l.Level, l.Msg, l.Error)
		}
	}
}

// checkNoRotationInProgress fails when AWSPENDING is on a version that is
// not AWSCURRENT: Secrets Manager then refuses the next RotateSecret ("A
// previous rotation isn't complete"). AWSPENDING beside AWSCURRENT is how
// AWS leaves a finished rotation.
func checkNoRotationInProgress(t *testing.T, what string, stages map[string][]string) {
	t.Helper()
	for id, s := range stages {
		if slices.Contains(s, "AWSPENDING") && !slices.Contains(s, "AWSCURRENT") {
			t.Fatalf("%s: want no AWSPENDING apart from AWSCURRENT, got it on %s (%v)", what, id, stages)
		}
	}
}
