package config

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func baseline(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

var reStep = regexp.MustCompile(`^([A-Za-z]+)(?:\[([0-9]+)\])?$`)

// set puts value at a path such as "environments[0].secrets[1].rotation.days";
// a nil value deletes the field.
func set(t *testing.T, root map[string]any, path string, value any) {
	t.Helper()
	steps := strings.Split(path, ".")
	var cur any = root
	for i, step := range steps {
		m := reStep.FindStringSubmatch(step)
		if m == nil {
			t.Fatalf("bad path step %q", step)
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: not an object", strings.Join(steps[:i], "."))
		}
		last := i == len(steps)-1
		if m[2] == "" {
			if last {
				if value == nil {
					delete(obj, m[1])
				} else {
					obj[m[1]] = value
				}
				return
			}
			cur = obj[m[1]]
			continue
		}
		arr, ok := obj[m[1]].([]any)
		idx, _ := strconv.Atoi(m[2])
		if !ok || idx >= len(arr) {
			t.Fatalf("%s: no element %d", step, idx)
		}
		if last {
			arr[idx] = value
			return
		}
		cur = arr[idx]
	}
}

func parseMap(t *testing.T, m map[string]any) (*File, error) {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data)
}

func TestBaselineIsValid(t *testing.T) {
	f, err := parseMap(t, baseline(t))
	if err != nil {
		t.Fatalf("want the baseline valid, got:\n%v", err)
	}
	if got := len(f.Environments); got != 3 {
		t.Fatalf("want 3 environments, got %d", got)
	}
}

func TestRepositoryFileIsValid(t *testing.T) {
	if _, err := Load("../environments.json"); err != nil {
		t.Fatalf("want infra/environments.json valid, got:\n%v", err)
	}
}

func TestDefaults(t *testing.T) {
	m := baseline(t)
	set(t, m, "environments[0].rotators[0].strategy", nil)
	set(t, m, "environments[0].rotators[0].passwordLength", nil)
	set(t, m, "environments[0].secrets[0].rotation.windowHours", nil)
	set(t, m, "environments[0].secrets[0].database.port", nil)
	set(t, m, "audit.busName", nil)
	set(t, m, "pipeline.branch", nil)
	f, err := parseMap(t, m)
	if err != nil {
		t.Fatal(err)
	}
	e := f.Environments[0]
	r := e.Rotators[0]
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"strategy", r.Strategy, DefaultStrategy},
		{"passwordLength", *r.PasswordLength, DefaultPasswordLength},
		{"passwordSource", r.PasswordSource, DefaultPasswordSource},
		{"timeoutSeconds", *r.TimeoutSeconds, DefaultTimeoutSeconds},
		{"windowHours", e.Secrets[0].Rotation.WindowHours, DefaultWindowHours},
		{"port", e.Secrets[0].Database.Port, DefaultPostgresPort},
		{"ssl", *e.Secrets[0].Database.SSL, true},
		{"audit.busName", f.Audit.BusName, DefaultAuditBusName},
		{"pipeline.branch", f.Pipeline.Branch, DefaultPipelineBranch},
		{"gracePeriod", r.GracePeriod, DefaultGracePeriod},
		{"lockIdleUser", r.LockIdleUser, false},
		{"prod gracePeriod", f.Environments[2].Rotators[0].GracePeriod, "12h"},
		{"prod lockIdleUser", f.Environments[2].Rotators[0].LockIdleUser, true},
		{"consumer busName", f.Environments[2].Consumers[2].BusName, DefaultConsumerBusName},
		{"consumer region", f.Environments[2].Consumers[2].Region, f.Environments[2].Region},
	} {
		if c.got != c.want {
			t.Errorf("%s: want %v, got %v", c.name, c.want, c.got)
		}
	}
	if got, want := f.Accounts(), []string{"111111111111", "222222222222", "333333333333"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Accounts: want %v, got %v", want, got)
	}
}

func TestBadConfiguration(t *testing.T) {
	type tweak struct {
		path  string
		value any // nil deletes
	}
	cases := []struct {
		name   string
		tweaks []tweak
		field  string // the path the error must name
		msg    string // a part of the message
	}{
		{"unknown top-level field", []tweak{{"region", "eu-west-1"}}, "region", "unknown field"},
		{"unknown nested field", []tweak{{"environments[1].secrets[0].rotation.hours", json.Number("3")}}, "environments[1].secrets[0].rotation.hours", "unknown field"},
		{"string for an integer", []tweak{{"environments[0].rotators[0].passwordLength", "32"}}, "environments[0].rotators[0].passwordLength", "want an integer"},
		{"fraction for an integer", []tweak{{"environments[0].rotators[0].reservedConcurrency", 1.5}}, "environments[0].rotators[0].reservedConcurrency", "want an integer"},
		{"object for an array", []tweak{{"environments[0].secrets", map[string]any{}}}, "environments[0].secrets", "want an array"},
		{"no environments", []tweak{{"environments", []any{}}}, "environments", "at least one"},
		{"bad environment name", []tweak{{"environments[0].name", "Dev"}}, "environments[0].name", "lower case"},
		{"duplicate environment name", []tweak{{"environments[1].name", "dev"}}, "environments[1].name", "also the name of environments[0]"},
		{"short account", []tweak{{"environments[1].account", "12345"}}, "environments[1].account", "12-digit"},
		{"bad region", []tweak{{"environments[0].region", "europe"}}, "environments[0].region", "region"},
		{"audit account", []tweak{{"audit.account", "x"}}, "audit.account", "12-digit"},
		{"audit retention", []tweak{{"audit.logRetentionDays", json.Number("4000")}}, "audit.logRetentionDays", "retention"},
		{"alarm topic elsewhere", []tweak{{"environments[2].alarmTopicArn", "arn:aws:sns:us-east-1:333333333333:alarms"}}, "environments[2].alarmTopicArn", "region"},
		{"no rotators", []tweak{{"environments[0].rotators", []any{}}}, "environments[0].rotators", "at least one"},
		{"unknown function", []tweak{{"environments[0].rotators[0].function", "oracle"}}, "environments[0].rotators[0].function", "not a rotor function"},
		{"bad strategy", []tweak{{"environments[0].rotators[0].strategy", "dual"}}, "environments[0].rotators[0].strategy", "not one of"},
		{"short password", []tweak{{"environments[0].rotators[0].passwordLength", json.Number("8")}}, "environments[0].rotators[0].passwordLength", "out of range"},
		{"bad password source", []tweak{{"environments[0].rotators[0].passwordSource", "kms"}}, "environments[0].rotators[0].passwordSource", "not one of"},
		{"bad log level", []tweak{{"environments[0].rotators[0].logLevel", "trace"}}, "environments[0].rotators[0].logLevel", "not one of"},
		{"bad log retention", []tweak{{"environments[0].rotators[0].logRetentionDays", json.Number("10")}}, "environments[0].rotators[0].logRetentionDays", "retention"},
		{"zero concurrency", []tweak{{"environments[0].rotators[0].reservedConcurrency", json.Number("0")}}, "environments[0].rotators[0].reservedConcurrency", "out of range"},
		{"grace period not a duration", []tweak{{"environments[2].rotators[0].gracePeriod", "1 day"}}, "environments[2].rotators[0].gracePeriod", "not a Go duration"},
		{"grace period too short", []tweak{{"environments[2].rotators[0].gracePeriod", "4m59s"}}, "environments[2].rotators[0].gracePeriod", "longer than 330s"},
		{"grace period within a consumer cache's lifetime", []tweak{{"environments[2].rotators[0].gracePeriod", "5m30s"}}, "environments[2].rotators[0].gracePeriod", "longer than 330s"},
		{"grace period too long", []tweak{{"environments[2].rotators[0].gracePeriod", "721h"}}, "environments[2].rotators[0].gracePeriod", "at most 720h"},
		{"grace period negative", []tweak{{"environments[0].rotators[0].gracePeriod", "-24h"}}, "environments[0].rotators[0].gracePeriod", "out of range"},
		{"grace period a number", []tweak{{"environments[2].rotators[0].gracePeriod", json.Number("24")}}, "environments[2].rotators[0].gracePeriod", "want a string"},
		{"lock idle user a string", []tweak{{"environments[2].rotators[0].lockIdleUser", "true"}}, "environments[2].rotators[0].lockIdleUser", "want true or false"},
		{"lock idle user of a single user", []tweak{{"environments[2].rotators[1].lockIdleUser", true}}, "environments[2].rotators[1].lockIdleUser", "only with strategy alternating-users"},
		{"secret named like the fingerprint key", []tweak{{"environments[2].secrets[2].name", "rotor/prod/fingerprint-key"}}, "environments[2].secrets[2].name", "fingerprint key"},
		{"long timeout", []tweak{{"environments[0].rotators[0].timeoutSeconds", json.Number("901")}}, "environments[0].rotators[0].timeoutSeconds", "out of range"},
		{"bad vpc id", []tweak{{"environments[0].rotators[0].vpc.vpcId", "vpc1"}}, "environments[0].rotators[0].vpc.vpcId", "VPC ID"},
		{"subnets and zones differ", []tweak{{"environments[0].rotators[0].vpc.subnetIds", []any{"subnet-0a1b2c3d4e5f60011"}}}, "environments[0].rotators[0].vpc.subnetIds", "one subnet per availability zone"},
		{"bad subnet", []tweak{{"environments[0].rotators[0].vpc.subnetIds[1]", "subnet-x"}}, "environments[0].rotators[0].vpc.subnetIds[1]", "subnet ID"},
		{"no database peer", []tweak{{"environments[0].rotators[0].vpc.databaseCidr", nil}}, "environments[0].rotators[0].vpc.databaseSecurityGroupId", "required"},
		{"both database peers", []tweak{{"environments[0].rotators[0].vpc.databaseSecurityGroupId", "sg-0a1b2c3d4e5f60099"}}, "environments[0].rotators[0].vpc.databaseCidr", "not both"},
		{"bad cidr", []tweak{{"environments[0].rotators[0].vpc.databaseCidr", "10.0.0.0/33"}}, "environments[0].rotators[0].vpc.databaseCidr", "CIDR"},
		{"bad port", []tweak{{"environments[0].rotators[0].vpc.databasePort", json.Number("0")}}, "environments[0].rotators[0].vpc.databasePort", "port"},
		{"no secrets", []tweak{{"environments[0].secrets", []any{}}}, "environments[0].secrets", "at least one"},
		{"bad secret name", []tweak{{"environments[0].secrets[0].name", "app orders"}}, "environments[0].secrets[0].name", "Secrets Manager name"},
		{"secret name like an arn suffix", []tweak{{"environments[0].secrets[0].name", "app/orders-AbCdEf"}}, "environments[0].secrets[0].name", "six characters"},
		{"duplicate secret", []tweak{{"environments[2].secrets[1].name", "app/orders/postgres"}}, "environments[2].secrets[1].name", "names two secrets"},
		{"same secret in shared account", []tweak{{"environments[1].account", "111111111111"}}, "environments[1].secrets[0].name", "same account and region"},
		{"unknown rotator", []tweak{{"environments[0].secrets[0].rotator", "mysql"}}, "environments[0].secrets[0].rotator", "not a rotator"},
		{"engine mismatch", []tweak{{"environments[0].secrets[0].database.engine", "mysql"}}, "environments[0].secrets[0].database.engine", "cannot be rotated"},
		{"no host", []tweak{{"environments[0].secrets[0].database.host", nil}}, "environments[0].secrets[0].database.host", "required"},
		{"no username", []tweak{{"environments[0].secrets[0].database.username", ""}}, "environments[0].secrets[0].database.username", "required"},
		{"no master for alternating", []tweak{{"environments[0].secrets[0].masterSecretArn", nil}}, "environments[0].secrets[0].masterSecretArn", "alternating users"},
		{"partial master arn", []tweak{{"environments[0].secrets[0].masterSecretArn", "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rdsmaster"}}, "environments[0].secrets[0].masterSecretArn", "complete secret ARN"},
		{"master in another account", []tweak{{"environments[0].secrets[0].masterSecretArn", "arn:aws:secretsmanager:eu-west-1:999999999999:secret:rds-master-AbCdEf"}}, "environments[0].secrets[0].masterSecretArn", "account"},
		{"master key without master", []tweak{{"environments[2].secrets[2].masterSecretKmsKeyArn", "arn:aws:kms:eu-west-1:333333333333:key/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"}}, "environments[2].secrets[2].masterSecretKmsKeyArn", "only with masterSecretArn"},
		{"bad reader", []tweak{{"environments[0].secrets[0].readers[0]", "orders-api"}}, "environments[0].secrets[0].readers[0]", "IAM role or user ARN"},
		{"two schedules", []tweak{{"environments[0].secrets[0].rotation.months", json.Number("1")}}, "environments[0].secrets[0].rotation", "exactly one"},
		{"no schedule", []tweak{{"environments[0].secrets[0].rotation.days", nil}}, "environments[0].secrets[0].rotation", "exactly one"},
		{"too many days", []tweak{{"environments[0].secrets[0].rotation.days", json.Number("30")}}, "environments[0].secrets[0].rotation.days", "use months"},
		{"too many months", []tweak{{"environments[1].secrets[0].rotation.months", json.Number("13")}}, "environments[1].secrets[0].rotation.months", "1 to 12"},
		{"window too long", []tweak{{"environments[0].secrets[0].rotation.windowHours", json.Number("25")}}, "environments[0].secrets[0].rotation.windowHours", "1 to 24"},
		{"cron minutes", []tweak{{"environments[2].secrets[1].rotation.scheduleExpression", "cron(30 10 ? * TUE *)"}}, "environments[2].secrets[1].rotation.scheduleExpression", "minutes field must be 0"},
		{"cron year", []tweak{{"environments[2].secrets[1].rotation.scheduleExpression", "cron(0 10 ? * TUE 2030)"}}, "environments[2].secrets[1].rotation.scheduleExpression", "year"},
		{"cron both days", []tweak{{"environments[2].secrets[1].rotation.scheduleExpression", "cron(0 10 1 * TUE *)"}}, "environments[2].secrets[1].rotation.scheduleExpression", "must be ?"},
		{"cron window past midnight", []tweak{{"environments[2].secrets[1].rotation.scheduleExpression", "cron(0 23 ? * TUE *)"}}, "environments[2].secrets[1].rotation.scheduleExpression", "next UTC day"},
		{"rate too often", []tweak{{"environments[2].secrets[1].rotation.scheduleExpression", "rate(2 hours)"}}, "environments[2].secrets[1].rotation.scheduleExpression", "4 to 23"},
		{"not an expression", []tweak{{"environments[2].secrets[1].rotation.scheduleExpression", "every tuesday"}}, "environments[2].secrets[1].rotation.scheduleExpression", "want rate"},
		{"duplicate consumer", []tweak{{"environments[2].consumers[1].name", "orders-api"}}, "environments[2].consumers[1].name", "names two consumers"},
		{"consumer of no instance", []tweak{{"environments[0].consumers[0].instances", 0}}, "environments[0].consumers[0].instances", "out of range"},
		{"consumer of more instances than tags", []tweak{{"environments[0].consumers[0].instances", 51}}, "environments[0].consumers[0].instances", "out of range"},
		{"bad consumer type", []tweak{{"environments[0].consumers[0].type", "sns"}}, "environments[0].consumers[0].type", "not one of"},
		{"consumer of unknown secret", []tweak{{"environments[0].consumers[0].secrets[0]", "app/nothing"}}, "environments[0].consumers[0].secrets[0]", "not a secret of this environment"},
		{"consumer without secrets", []tweak{{"environments[0].consumers[0].secrets", []any{}}}, "environments[0].consumers[0].secrets", "at least one"},
		{"function arn on a queue", []tweak{{"environments[0].consumers[0].functionArn", "arn:aws:lambda:eu-west-1:111111111111:function:f"}}, "environments[0].consumers[0].functionArn", "only for type"},
		{"lambda without arn", []tweak{{"environments[2].consumers[1].functionArn", nil}}, "environments[2].consumers[1].functionArn", "required"},
		{"lambda in another region", []tweak{{"environments[2].consumers[1].functionArn", "arn:aws:lambda:us-east-1:333333333333:function:f"}}, "environments[2].consumers[1].functionArn", "region"},
		{"account consumer in own account", []tweak{{"environments[2].consumers[2].account", "333333333333"}}, "environments[2].consumers[2].account", "own account"},
		{"account consumer bad bus", []tweak{{"environments[2].consumers[2].busName", "a bus"}}, "environments[2].consumers[2].busName", "event bus name"},
		{"unknown pipeline field", []tweak{{"pipeline.source", "github"}}, "pipeline.source", "unknown field"},
		{"pipeline not an object", []tweak{{"pipeline", "main"}}, "pipeline", "want an object"},
		{"pipeline account", []tweak{{"pipeline.account", "11110000111"}}, "pipeline.account", "12-digit"},
		{"pipeline without account", []tweak{{"pipeline.account", nil}}, "pipeline.account", "required"},
		{"pipeline region", []tweak{{"pipeline.region", "eu-west"}}, "pipeline.region", "region"},
		{"pipeline without connection", []tweak{{"pipeline.connectionArn", nil}}, "pipeline.connectionArn", "required"},
		{"pipeline connection not an arn", []tweak{{"pipeline.connectionArn", "my-github-connection"}}, "pipeline.connectionArn", "not a CodeConnections connection ARN"},
		{"pipeline connection of another service", []tweak{{"pipeline.connectionArn", "arn:aws:codestar:eu-west-1:111100001111:connection/00000000-0000-0000-0000-000000000000"}}, "pipeline.connectionArn", "not a CodeConnections connection ARN"},
		{"pipeline connection in another account", []tweak{{"pipeline.connectionArn", "arn:aws:codestar-connections:us-east-1:222222222222:connection/00000000-0000-0000-0000-000000000000"}}, "pipeline.connectionArn", "pipeline's account 111100001111"},
		{"pipeline connection number", []tweak{{"pipeline.connectionArn", json.Number("1")}}, "pipeline.connectionArn", "want a string"},
		{"pipeline without repository", []tweak{{"pipeline.repository", ""}}, "pipeline.repository", "required"},
		{"pipeline repository without owner", []tweak{{"pipeline.repository", "rotor"}}, "pipeline.repository", "owner/name"},
		{"pipeline repository url", []tweak{{"pipeline.repository", "https://github.com/example-org/rotor"}}, "pipeline.repository", "owner/name"},
		{"pipeline branch with a space", []tweak{{"pipeline.branch", "release 1"}}, "pipeline.branch", "not a branch name"},
		{"pipeline branch with dots", []tweak{{"pipeline.branch", "release..1"}}, "pipeline.branch", "not a branch name"},
		{"pipeline branch ending in a slash", []tweak{{"pipeline.branch", "release/"}}, "pipeline.branch", "not a branch name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := baseline(t)
			for _, tw := range c.tweaks {
				set(t, m, tw.path, tw.value)
			}
			_, err := parseMap(t, m)
			if err == nil {
				t.Fatalf("want an error naming %s, got none", c.field)
			}
			errs := AsErrors(err)
			if errs == nil {
				t.Fatalf("want config.Errors, got %T: %v", err, err)
			}
			for _, fe := range errs {
				if fe.Path == c.field && strings.Contains(fe.Msg, c.msg) {
					if !strings.HasPrefix(fe.Error(), c.field+": ") {
						t.Errorf("want the message to start with %q, got %q", c.field+": ", fe.Error())
					}
					return
				}
			}
			t.Fatalf("want an error at %s containing %q, got:\n%v", c.field, c.msg, err)
		})
	}
}

func TestNotJSON(t *testing.T) {
	for _, in := range []string{"", "{", `{"environments": []} {}`, "[]"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q): want an error, got none", in)
		}
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := t.TempDir() + "/env.json"
	if err := os.WriteFile(path, []byte(`{"environments": [], "x": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "x: unknown field") {
		t.Fatalf("want an error naming the file and the field x, got %v", err)
	}
}

func TestPipeline(t *testing.T) {
	f, err := parseMap(t, baseline(t))
	if err != nil {
		t.Fatal(err)
	}
	want := Pipeline{
		Account: "111100001111", Region: "eu-west-1",
		ConnectionArn: "arn:aws:codeconnections:eu-west-1:111100001111:connection/00000000-0000-0000-0000-000000000000",
		Repository:    "example-org/rotor", Branch: "main",
	}
	if f.Pipeline == nil || *f.Pipeline != want {
		t.Fatalf("pipeline: want %+v, got %+v", want, f.Pipeline)
	}

	// Optional; and what else is accepted.
	m := baseline(t)
	set(t, m, "pipeline", nil)
	if f, err := parseMap(t, m); err != nil || f.Pipeline != nil {
		t.Fatalf("without pipeline: want no pipeline and no error, got %+v, %v", f.Pipeline, err)
	}
	for _, tw := range []struct{ path, value string }{
		{"pipeline.connectionArn", "arn:aws:codestar-connections:us-east-1:111100001111:connection/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"},
		{"pipeline.repository", "group/subgroup/rotor"},
		{"pipeline.branch", "release/v1.2"},
	} {
		m := baseline(t)
		set(t, m, tw.path, tw.value)
		if _, err := parseMap(t, m); err != nil {
			t.Errorf("%s %q: want valid, got:\n%v", tw.path, tw.value, err)
		}
	}
}

// The names of one rotator's secrets become its ROTOR_GATE_SECRETS; the
// secret whose name takes the list past the budget is named, once.
func TestGateSecretsBudget(t *testing.T) {
	m := baseline(t)
	env := m["environments"].([]any)[2].(map[string]any)
	secrets := env["secrets"].([]any)
	// reports (20 characters) and five names of 495: the fifth passes 2048.
	for i := range 5 {
		s := map[string]any{}
		for k, v := range secrets[2].(map[string]any) {
			s[k] = v
		}
		s["name"] = fmt.Sprintf("app/%s%d", strings.Repeat("r", 490), i)
		secrets = append(secrets, s)
	}
	env["secrets"] = secrets
	_, err := parseMap(t, m)
	errs := AsErrors(err)
	var got []string
	for _, fe := range errs {
		if strings.Contains(fe.Msg, "ROTOR_GATE_SECRETS") {
			got = append(got, fe.Path)
		}
	}
	if len(got) != 1 || got[0] != "environments[2].secrets[7].name" {
		t.Fatalf("want one ROTOR_GATE_SECRETS error at environments[2].secrets[7].name, got %v (all: %v)", got, err)
	}

	// Four of them fit.
	env["secrets"] = secrets[:7]
	if _, err := parseMap(t, m); err != nil {
		t.Fatalf("want %d characters of names valid, got:\n%v", 20+4*496, err)
	}
}
