package storetest

import (
	"slices"
	"strings"

	"github.com/rotorhq/rotor/shared/password"
	"github.com/rotorhq/rotor/shared/secretstore"
	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

// Labels, short.
const (
	cur  = secretstore.Current
	pend = secretstore.Pending
	prev = secretstore.Previous
)

// Exceptions, short.
const (
	notFound     = memstore.CodeResourceNotFound
	exists       = memstore.CodeResourceExists
	invalidParam = memstore.CodeInvalidParameter
	invalidReq   = memstore.CodeInvalidRequest
)

// Scenarios is the table of API scenarios, each on a fresh secret.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name: "create, describe and read",
			Steps: []Step{
				create("v1", "one"),
				stages(map[string][]string{"v1": {cur}}),
				get("by stage AWSCURRENT", "", cur, "one"),
				get("by version id", "v1", "", "one"),
				get("by version id and its stage", "v1", cur, "one"),
				get("with neither: AWSCURRENT", "", "", "one"),
				describe(map[string][]string{"v1": {cur}}),
				describeByARN(),
				describeByPartialARN(),
				currentValue("one"),
				value("v1", "one"),
				readVersion("v1", "one", cur),
				readCurrent("v1", "one", cur),
			},
		},
		{
			Name: "put without stages moves AWSCURRENT and AWSPREVIOUS follows",
			Steps: []Step{
				create("v1", "one"),
				put("v2", "two"),
				stages(map[string][]string{"v1": {prev}, "v2": {cur}}),
				put("v3", "three"),
				// v1 has no label left: it is deprecated, and AWS does not
				// list it (moto lists it with no label; Env.Stages drops
				// such entries for both).
				stages(map[string][]string{"v2": {prev}, "v3": {cur}}),
				get("AWSPREVIOUS", "", prev, "two"),
				get("a deprecated version keeps its value", "v1", "", "one"),
				currentValue("three"),
			},
		},
		{
			Name: "put with stages",
			Steps: []Step{
				create("v1", "one"),
				put("v2", "two", pend),
				stages(map[string][]string{"v1": {cur}, "v2": {pend}}),
				get("AWSPENDING", "", pend, "two"),
				put("v3", "three", pend, "custom"),
				stages(map[string][]string{"v1": {cur}, "v3": {pend, "custom"}}),
				put("v4", "four", "custom"),
				stages(map[string][]string{"v1": {cur}, "v3": {pend}, "v4": {"custom"}}),
			},
		},
		{
			Name: "first value of a secret created without one gets AWSCURRENT",
			Steps: []Step{
				createEmpty(),
				{Name: "no current value", Do: func(e *Env) (any, error) { return nil, discard(e.Target.Store.CurrentValue(e.Ctx, e.Secret)) }, WantCode: notFound, WantErr: secretstore.ErrNotFound},
				put("v1", "one", pend),
				stages(map[string][]string{"v1": {cur, pend}}),
				currentValue("one"),
			},
		},
		{
			Name: "idempotent and conflicting puts",
			Steps: []Step{
				create("v1", "one"),
				put("v2", "two"),
				put("v2", "two"),
				stages(map[string][]string{"v1": {prev}, "v2": {cur}}),
				{Name: "same token, another value", Do: func(e *Env) (any, error) {
					return nil, e.Target.Admin.PutSecretValue(e.Ctx, e.Secret, e.V("v2"), "other", nil)
				}, WantCode: exists},
				get("the version kept its value", "v2", "", "two"),
				{Name: "same token as the first version, another value", Do: func(e *Env) (any, error) {
					return nil, e.Target.Store.PutPending(e.Ctx, secretstore.PendingValue{SecretID: e.Secret, VersionID: e.V("v1"), Value: []byte("other")})
				}, WantCode: exists, WantErr: secretstore.ErrVersionExists},
				stages(map[string][]string{"v1": {prev}, "v2": {cur}}),
			},
		},
		{
			Name: "idempotent and conflicting pending puts",
			Steps: []Step{
				create("v1", "one"),
				putPending("v2", "two"),
				putPending("v2", "two"),
				describe(map[string][]string{"v1": {cur}, "v2": {pend}}),
				value("v2", "two"),
				{Name: "same token, another value", Do: func(e *Env) (any, error) {
					return nil, e.Target.Store.PutPending(e.Ctx, secretstore.PendingValue{SecretID: e.Secret, VersionID: e.V("v2"), Value: []byte("other")})
				}, WantCode: exists, WantErr: secretstore.ErrVersionExists,
					MotoDiffers: "moto stores the new value over a version labelled AWSPENDING " +
						"(_check_with_existing_secrets_and_versions returns early for AWSPENDING); " +
						"AWS's PutSecretValue refuses any token already in use with another value"},
				{Name: "pending value unchanged", Do: func(e *Env) (any, error) {
					return asString(e.Target.Store.Value(e.Ctx, e.Secret, e.V("v2")))
				}, Want: "two", MotoDiffers: "follows from the step before"},
			},
		},
		{
			Name: "a rotation's stage moves",
			Steps: []Step{
				create("v1", "one"),
				putPending("v2", "two"),
				// A read by id or by AWSCURRENT answers the version's
				// labels (VersionStages) and id (VersionId) with its value:
				// what a cold setSecret or testSecret learns them from.
				readVersion("v2", "two", pend),
				readCurrent("v1", "one", cur),
				moveStage(cur, "v2", "v1"),
				describe(map[string][]string{"v1": {prev}, "v2": {cur, pend}}),
				currentValue("two"),
				readVersion("v1", "one", prev),
				readVersion("v2", "two", cur, pend),
				readCurrent("v2", "two", cur, pend),
				move("remove AWSPENDING only", pend, "", "v2"),
				describe(map[string][]string{"v1": {prev}, "v2": {cur}}),
				move("roll back: AWSCURRENT to the previous version", cur, "v1", "v2"),
				describe(map[string][]string{"v1": {cur}, "v2": {prev}}),
				currentValue("one"),
			},
		},
		{
			Name: "moving a label that another version has needs RemoveFromVersionId",
			Steps: []Step{
				create("v1", "one"),
				put("v2", "two", pend),
				{Name: "AWSCURRENT without RemoveFromVersionId", Do: func(e *Env) (any, error) {
					return nil, e.Target.Admin.UpdateSecretVersionStage(e.Ctx, e.Secret, cur, e.V("v2"), "")
				}, WantCode: invalidParam},
				{Name: "AWSCURRENT with the wrong RemoveFromVersionId", Do: func(e *Env) (any, error) {
					return nil, e.Target.Store.MoveStage(e.Ctx, secretstore.StageMove{SecretID: e.Secret, Stage: cur, ToVersion: e.V("v2"), FromVersion: e.V("v2") + "x"})
				}, WantCode: invalidParam, WantErr: secretstore.ErrInvalidRequest},
				stages(map[string][]string{"v1": {cur}, "v2": {pend}}),
				{Name: "AWSPENDING without RemoveFromVersionId", Do: func(e *Env) (any, error) {
					return nil, e.Target.Admin.UpdateSecretVersionStage(e.Ctx, e.Secret, pend, e.V("v1"), "")
				}, WantCode: invalidParam,
					MotoDiffers: "moto requires RemoveFromVersionId for AWSCURRENT only and attaches any other label " +
						"a second time, to two versions; AWS: \"If the staging label is already attached to a " +
						"different version of the secret, then you must also specify the RemoveFromVersionId parameter\""},
				{Name: "labels unchanged", Do: stagesDo, Want: map[string][]string{"v1": {cur}, "v2": {pend}}, MotoDiffers: "follows from the step before"},
			},
		},
		{
			Name: "moving a label to the version that has it",
			Steps: []Step{
				create("v1", "one"),
				{Name: "AWSCURRENT to its own version", Do: func(e *Env) (any, error) {
					return nil, e.Target.Store.MoveStage(e.Ctx, secretstore.StageMove{SecretID: e.Secret, Stage: cur, ToVersion: e.V("v1"), FromVersion: e.V("v1")})
				}, MotoDiffers: "moto asks for RemoveFromVersionId whenever the label is AWSCURRENT; AWS asks for it only " +
					"when the label is on a different version, so moving it where it is changes nothing"},
				stages(map[string][]string{"v1": {cur}}),
			},
		},
		{
			Name: "removing labels",
			Steps: []Step{
				create("v1", "one"),
				put("v2", "two", "custom"),
				move("remove a custom label", "custom", "", "v2"),
				stages(map[string][]string{"v1": {cur}}),
				{Name: "remove AWSCURRENT without moving it", Do: func(e *Env) (any, error) {
					return nil, e.Target.Admin.UpdateSecretVersionStage(e.Ctx, e.Secret, cur, "", e.V("v1"))
				}, WantCode: invalidParam, MotoDiffers: "moto removes AWSCURRENT and gives the same version AWSPREVIOUS, leaving " +
					"the secret without a current version; a secret always has an AWSCURRENT version in AWS"},
				{Name: "AWSCURRENT unchanged", Do: stagesDo, Want: map[string][]string{"v1": {cur}}, MotoDiffers: "follows from the step before"},
				{Name: "remove a label from a version that does not have it", Do: func(e *Env) (any, error) {
					return nil, e.Target.Admin.UpdateSecretVersionStage(e.Ctx, e.Secret, pend, "", e.V("v1"))
				}, WantCode: invalidParam},
			},
		},
		{
			Name: "reading what is not there",
			Steps: []Step{
				create("v1", "one"),
				getErr("unknown version id", "nope", "", notFound),
				getErr("unknown stage", "", "NOPE", notFound),
				getErr("version id and a stage it does not have", "v1", pend, invalidReq),
				{Name: "Value of an unknown version", Do: func(e *Env) (any, error) {
					return asString(e.Target.Store.Value(e.Ctx, e.Secret, e.V("nope")))
				}, WantCode: notFound, WantErr: secretstore.ErrVersionNotFound},
				{Name: "MoveStage to an unknown version", Do: func(e *Env) (any, error) {
					return nil, e.Target.Store.MoveStage(e.Ctx, secretstore.StageMove{SecretID: e.Secret, Stage: pend, ToVersion: e.V("nope")})
				}, WantCode: invalidParam, WantErr: secretstore.ErrInvalidRequest},
				stages(map[string][]string{"v1": {cur}}),
			},
		},
		{
			Name: "unknown secret",
			Steps: []Step{
				{Name: "Describe", Do: func(e *Env) (any, error) { return nil, discard(e.Target.Store.Describe(e.Ctx, e.Secret)) }, WantCode: notFound, WantErr: secretstore.ErrNotFound},
				{Name: "Value", Do: func(e *Env) (any, error) { return nil, discard(e.Target.Store.Value(e.Ctx, e.Secret, e.V("v1"))) }, WantCode: notFound, WantErr: secretstore.ErrNotFound},
				{Name: "CurrentValue", Do: func(e *Env) (any, error) { return nil, discard(e.Target.Store.CurrentValue(e.Ctx, e.Secret)) }, WantCode: notFound, WantErr: secretstore.ErrNotFound},
				{Name: "PutPending", Do: func(e *Env) (any, error) {
					return nil, e.Target.Store.PutPending(e.Ctx, secretstore.PendingValue{SecretID: e.Secret, VersionID: e.V("v1"), Value: []byte("x")})
				}, WantCode: notFound, WantErr: secretstore.ErrNotFound},
				{Name: "MoveStage", Do: func(e *Env) (any, error) {
					return nil, e.Target.Store.MoveStage(e.Ctx, secretstore.StageMove{SecretID: e.Secret, Stage: cur, ToVersion: e.V("v1")})
				}, WantCode: notFound, WantErr: secretstore.ErrNotFound},
				getErr("GetSecretValue", "", "", notFound),
			},
		},
		{
			Name: "GetRandomPassword",
			Steps: []Step{
				pw("defaults: 32 characters of every class", memstore.GetRandomPasswordInput{}, 32, password.Printable, "LUDP"),
				pw("length and excluded characters", memstore.GetRandomPasswordInput{PasswordLength: ptr(50), ExcludeCharacters: `abcXYZ019"'\`}, 50, password.Without(password.Printable, `abcXYZ019"'\`), "LUDP"),
				pw("lowercase only", memstore.GetRandomPasswordInput{PasswordLength: ptr(20), ExcludeNumbers: true, ExcludePunctuation: true, ExcludeUppercase: true}, 20, password.Lowercase, "L"),
				pw("with space", memstore.GetRandomPasswordInput{PasswordLength: ptr(10), ExcludePunctuation: true, IncludeSpace: true}, 10, password.Lowercase+password.Uppercase+password.Digits+" ", "LUDS"),
				pw("longest", memstore.GetRandomPasswordInput{PasswordLength: ptr(password.MaxLength)}, password.MaxLength, password.Printable, "LUDP"),
				{Name: "shorter than the classes required", Do: func(e *Env) (any, error) {
					return nil, discard(e.Target.Admin.GetRandomPassword(e.Ctx, memstore.GetRandomPasswordInput{PasswordLength: ptr(3)}))
				}, WantCode: invalidParam},
				pw("short without requiring each class", memstore.GetRandomPasswordInput{PasswordLength: ptr(2), RequireEachIncludedType: ptr(false)}, 2, password.Printable, "").
					motoDiffers("moto refuses any length under 4; AWS refuses a length only when it is shorter than the classes it must hold"),
				pw("a class emptied by ExcludeCharacters is not required", memstore.GetRandomPasswordInput{PasswordLength: ptr(12), ExcludeCharacters: password.Digits}, 12, password.Without(password.Printable, password.Digits), "LUP").
					motoDiffers("moto fails with an internal error (random.choice on an empty class)"),
				{Name: "engine spec", Do: func(e *Env) (any, error) {
					pw, err := e.Target.Store.RandomPassword(e.Ctx, secretstore.PasswordSpec{Length: 24, ExcludeCharacters: "abc", RequireEachIncludedType: true})
					return props(pw, password.Without(password.Printable, "abc"), "LUDP"), err
				}, Want: PasswordProps{Length: 24}},
				{Name: "engine spec, length too long", Do: func(e *Env) (any, error) {
					return nil, discard(e.Target.Store.RandomPassword(e.Ctx, secretstore.PasswordSpec{Length: password.MaxLength + 1}))
				}, WantErr: secretstore.ErrInvalidRequest,
					MotoDiffers: "moto answers InvalidParameterValue, which is no Secrets Manager exception; AWS answers ValidationException"},
			},
		},
	}
}

// PasswordProps is what a step sees of a password: its length, the
// characters it holds that it should not, and the classes it lacks among
// those it must hold ("L", "U", "D", "P", "S").
type PasswordProps struct {
	Length  int
	Outside string
	Missing string
}

var classLetters = map[string]string{"L": password.Lowercase, "U": password.Uppercase, "D": password.Digits, "P": password.Punctuation, "S": password.Space}

func props(pw, allowed, required string) PasswordProps {
	p := PasswordProps{Length: len(pw)}
	for _, r := range pw {
		if !strings.ContainsRune(allowed, r) && !strings.ContainsRune(p.Outside, r) {
			p.Outside += string(r)
		}
	}
	for _, c := range required {
		if password.Intersect(pw, classLetters[string(c)]) == "" {
			p.Missing += string(c)
		}
	}
	return p
}

func pw(name string, in memstore.GetRandomPasswordInput, length int, allowed, required string) Step {
	return Step{Name: name, Do: func(e *Env) (any, error) {
		pw, err := e.Target.Admin.GetRandomPassword(e.Ctx, in)
		if err != nil {
			return nil, err
		}
		return props(pw, allowed, required), nil
	}, Want: PasswordProps{Length: length}}
}

func (s Step) motoDiffers(reason string) Step {
	s.MotoDiffers = reason
	return s
}

func ptr[T any](v T) *T { return &v }

func discard[T any](_ T, err error) error { return err }

func asString(b []byte, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func create(sym, value string) Step {
	return Step{Name: "create " + sym, Do: func(e *Env) (any, error) {
		arn, err := e.Target.Admin.CreateSecret(e.Ctx, e.Secret, e.V(sym), &value)
		e.ARN = arn
		return nil, err
	}}
}

func createEmpty() Step {
	return Step{Name: "create without a value", Do: func(e *Env) (any, error) {
		arn, err := e.Target.Admin.CreateSecret(e.Ctx, e.Secret, "", nil)
		e.ARN = arn
		return nil, err
	}}
}

func put(sym, value string, stages ...string) Step {
	return Step{Name: "put " + sym + " " + strings.Join(stages, ","), Do: func(e *Env) (any, error) {
		return nil, e.Target.Admin.PutSecretValue(e.Ctx, e.Secret, e.V(sym), value, stages)
	}}
}

func move(name, stage, to, from string) Step {
	return Step{Name: name, Do: func(e *Env) (any, error) {
		var toID, fromID string
		if to != "" {
			toID = e.V(to)
		}
		if from != "" {
			fromID = e.V(from)
		}
		return nil, e.Target.Admin.UpdateSecretVersionStage(e.Ctx, e.Secret, stage, toID, fromID)
	}}
}

func stagesDo(e *Env) (any, error) {
	m, err := e.Target.Admin.VersionStages(e.Ctx, e.Secret)
	if err != nil {
		return nil, err
	}
	return e.Stages(m), nil
}

func stages(want map[string][]string) Step {
	return Step{Name: "DescribeSecret", Do: stagesDo, Want: want}
}

func get(name, sym, stage, want string) Step {
	return Step{Name: "GetSecretValue " + name, Do: func(e *Env) (any, error) {
		var id string
		if sym != "" {
			id = e.V(sym)
		}
		v, err := e.Target.Admin.GetSecretValue(e.Ctx, e.Secret, id, stage)
		if err != nil {
			return nil, err
		}
		return v, nil
	}, Want: want}
}

func getErr(name, sym, stage, code string) Step {
	s := get(name, sym, stage, "")
	s.Want, s.WantCode = nil, code
	return s
}

func describe(want map[string][]string) Step {
	return Step{Name: "Describe", Do: func(e *Env) (any, error) {
		d, err := e.Target.Store.Describe(e.Ctx, e.Secret)
		if err != nil {
			return nil, err
		}
		return e.Stages(d.Versions), nil
	}, Want: want}
}

func describeByARN() Step {
	return Step{Name: "Describe by ARN", Do: func(e *Env) (any, error) {
		d, err := e.Target.Store.Describe(e.Ctx, e.ARN)
		return [2]bool{d.Name == e.Secret, d.ARN == e.ARN}, err
	}, Want: [2]bool{true, true}}
}

func describeByPartialARN() Step {
	return Step{Name: "Describe by partial ARN", Do: func(e *Env) (any, error) {
		partial := e.ARN[:strings.LastIndex(e.ARN, "-")]
		d, err := e.Target.Store.Describe(e.Ctx, partial)
		return [2]bool{d.Name == e.Secret, d.ARN == e.ARN}, err
	}, Want: [2]bool{true, true}}
}

func currentValue(want string) Step {
	return Step{Name: "CurrentValue", Do: func(e *Env) (any, error) {
		return asString(e.Target.Store.CurrentValue(e.Ctx, e.Secret))
	}, Want: want}
}

func value(sym, want string) Step {
	return Step{Name: "Value " + sym, Do: func(e *Env) (any, error) {
		return asString(e.Target.Store.Value(e.Ctx, e.Secret, e.V(sym)))
	}, Want: want}
}

func putPending(sym, value string) Step {
	return Step{Name: "PutPending " + sym, Do: func(e *Env) (any, error) {
		return nil, e.Target.Store.PutPending(e.Ctx, secretstore.PendingValue{SecretID: e.Secret, VersionID: e.V(sym), Value: []byte(value)})
	}}
}

func moveStage(stage, to, from string) Step {
	return Step{Name: "MoveStage " + stage + " to " + to, Do: func(e *Env) (any, error) {
		return nil, e.Target.Store.MoveStage(e.Ctx, secretstore.StageMove{SecretID: e.Secret, Stage: stage, ToVersion: e.V(to), FromVersion: e.V(from)})
	}}
}

// readVersion reads sym with Store.Version: its id, labels and value.
func readVersion(sym, value string, stages ...string) Step {
	return Step{Name: "Version " + sym, Do: func(e *Env) (any, error) {
		v, err := e.Target.Store.Version(e.Ctx, e.Secret, e.V(sym))
		return readOf(e, v), err
	}, Want: readResult{Version: sym, Stages: sortedStages(stages), Value: value}}
}

// readCurrent reads AWSCURRENT with Store.Current: its id, labels and value.
func readCurrent(sym, value string, stages ...string) Step {
	return Step{Name: "Current (" + sym + ")", Do: func(e *Env) (any, error) {
		v, err := e.Target.Store.Current(e.Ctx, e.Secret)
		return readOf(e, v), err
	}, Want: readResult{Version: sym, Stages: sortedStages(stages), Value: value}}
}

// readResult is a read with the version id as its symbol and the labels
// sorted, so that targets compare.
type readResult struct {
	Version string
	Stages  []string
	Value   string
}

func readOf(e *Env, v secretstore.Version) any {
	if v.ID == "" {
		return nil
	}
	return readResult{Version: e.Sym(v.ID), Stages: sortedStages(v.Stages), Value: string(v.Value)}
}

func sortedStages(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
