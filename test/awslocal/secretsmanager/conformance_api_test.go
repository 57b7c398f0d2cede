package secretsmanager_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/secretsmanager"
	"github.com/rotorhq/rotor/test/motoserver"
)

// TestConformanceAPI runs the API scenarios storetest does not (ListSecrets
// and its filters, tags, UpdateSecret, DeleteSecret and RestoreSecret,
// BatchGetSecretValue, ListSecretVersionIds, CancelRotateSecret, bad input)
// through the SDK against the endpoint and against moto_server, and compares
// the two step by step. Every step states AWS's documented outcome
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/) and the
// endpoint is checked against it; where moto departs from the documentation
// the step says so in apiStep.MotoDiffers and moto's outcome of it is not
// compared.
func TestConformanceAPI(t *testing.T) {
	moto := motoserver.StartTB(t)
	svc := secretsmanager.New(secretsmanager.Options{})
	defer svc.Close()
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: account, DefaultRegion: region}, nil)
	router.Register(svc.JSONService())
	srv := httptest.NewServer(router)
	defer srv.Close()
	endpoint, motoClient := client(srv.URL, "AKIDEXAMPLE"), moto.SecretsManager()

	for _, sc := range apiScenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			fromEndpoint := runAPIScenario(t.Context(), sc, endpoint)
			fromMoto := runAPIScenario(t.Context(), sc, motoClient)
			compareAPI(t, sc, fromEndpoint, fromMoto)
		})
	}
}

// apiStep is one call of a scenario and the outcome AWS documents for it.
type apiStep struct {
	Name string
	// Do makes the call and returns a comparable result: names and
	// versions by their symbolic names, tags as sorted "key=value".
	Do func(e *apiEnv) (any, error)
	// WantCode is the exception AWS answers with; empty for success.
	WantCode string
	// Want, when not nil, is the result of a successful call.
	Want any
	// MotoDiffers says how moto departs from AWS's documentation, citing
	// it; moto's outcome of the step is then not compared.
	MotoDiffers string
	// Doc, when set, quotes the documentation the expectation rests on,
	// for the failure message.
	Doc string
}

type apiScenario struct {
	Name  string
	Steps []apiStep
}

// apiEnv is what a scenario's steps act on, on one target. Secrets are named
// prefix+sym: the prefix is unique to the scenario and the run, so that
// scenarios share neither names nor, through the name filter every listing
// adds, ListSecrets results, on a moto_server that outlives them.
type apiEnv struct {
	ctx    context.Context
	c      *sm.Client
	prefix string
	ids    map[string]string // symbolic version → version id
	syms   map[string]string // version id → symbolic version
	next   string            // the NextToken of the last listing
}

func (e *apiEnv) n(sym string) *string { return aws.String(e.prefix + sym) }

// sym is the symbolic name of a secret of the scenario.
func (e *apiEnv) sym(name string) string {
	if s, ok := strings.CutPrefix(name, e.prefix); ok {
		return s
	}
	return "?" + name
}

// V returns the version id (a UUID: ClientRequestToken takes 32 to 64
// characters) of the symbolic version sym.
func (e *apiEnv) V(sym string) *string {
	if _, ok := e.ids[sym]; !ok {
		e.learn(sym, uuid.NewString())
	}
	return aws.String(e.ids[sym])
}

func (e *apiEnv) learn(sym, id string) { e.ids[sym], e.syms[id] = id, sym }

func (e *apiEnv) vsym(id string) string {
	if s, ok := e.syms[id]; ok {
		return s
	}
	return "?" + id
}

// stages returns versions by symbolic name with sorted labels. Versions
// without a label are dropped unless keepDeprecated: DescribeSecret's
// VersionIdsToStages lists "the versions of the secret that have staging
// labels attached" (moto lists every version).
func (e *apiEnv) stages(m map[string][]string, keepDeprecated bool) map[string][]string {
	out := map[string][]string{}
	for id, labels := range m {
		if len(labels) == 0 && !keepDeprecated {
			continue
		}
		s := append([]string{}, labels...)
		slices.Sort(s)
		out[e.vsym(id)] = s
	}
	return out
}

// scope is the placeholder for the scenario's prefix in filter values.
const scope = "{p}"

// filters returns fs, with the scenario's prefix in their values, after a
// name filter on the prefix.
func (e *apiEnv) filters(fs []types.Filter) []types.Filter {
	out := []types.Filter{filter("name", e.prefix)}
	for _, f := range fs {
		values := make([]string, len(f.Values))
		for i, v := range f.Values {
			values[i] = strings.ReplaceAll(v, scope, e.prefix)
		}
		out = append(out, types.Filter{Key: f.Key, Values: values})
	}
	return out
}

// apiOutcome is what a step gave on a target.
type apiOutcome struct {
	Code   string
	Result any
}

func (o apiOutcome) String() string {
	switch {
	case o.Code != "":
		return o.Code
	case o.Result == nil:
		return "success"
	}
	return fmt.Sprintf("%+v", o.Result)
}

func (st apiStep) want() apiOutcome { return apiOutcome{Code: st.WantCode, Result: st.Want} }

func (st apiStep) documented(o apiOutcome) bool {
	return o.Code == st.WantCode && (st.Want == nil || reflect.DeepEqual(o.Result, st.Want))
}

func errorCode(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.ErrorCode()
	}
	return "error (" + err.Error() + ")"
}

func runAPIScenario(ctx context.Context, sc apiScenario, c *sm.Client) []apiOutcome {
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(sc.Name), "-"), "-")
	e := &apiEnv{
		ctx: ctx, c: c,
		prefix: fmt.Sprintf("conf-%.30s-%s/", slug, uuid.NewString()[:8]),
		ids:    map[string]string{}, syms: map[string]string{},
	}
	var out []apiOutcome
	for _, st := range sc.Steps {
		res, err := st.Do(e)
		if err != nil {
			res = nil
		}
		out = append(out, apiOutcome{Code: errorCode(err), Result: res})
	}
	return out
}

// compareAPI checks the endpoint against AWS's documented outcome of each
// step, and moto against the endpoint where moto follows AWS.
func compareAPI(t *testing.T, sc apiScenario, endpoint, moto []apiOutcome) {
	t.Helper()
	for i, st := range sc.Steps {
		n, ep, mo := i+1, endpoint[i], moto[i]
		switch {
		case !st.documented(ep):
			doc := ""
			if st.Doc != "" {
				doc = "; " + st.Doc
			}
			t.Errorf("step %d (%s): endpoint %v, want %v as AWS documents it (moto %v)%s", n, st.Name, ep, st.want(), mo, doc)
		case st.MotoDiffers != "" && st.documented(mo):
			t.Errorf("step %d (%s): marked \"moto differs\", but moto gave the documented %v: drop the mark", n, st.Name, mo)
		case st.MotoDiffers != "":
			t.Logf("step %d (%s): moto differs, endpoint checked alone: %s (endpoint %v, moto %v)", n, st.Name, st.MotoDiffers, ep, mo)
		case !reflect.DeepEqual(ep, mo):
			t.Errorf("step %d (%s): endpoint %v, moto %v", n, st.Name, ep, mo)
		}
	}
}

// Exceptions, short.
const (
	notFound     = "ResourceNotFoundException"
	exists       = "ResourceExistsException"
	invalidReq   = "InvalidRequestException"
	invalidParam = "InvalidParameterException"
	validation   = "ValidationException"
)

const (
	cur  = "AWSCURRENT"
	prev = "AWSPREVIOUS"
)

// Citations of the API reference, for MotoDiffers.
const (
	docFilter = "API_Filter: \"description: Prefix match, not case-sensitive\""
	// Every operation lists InvalidRequestException, whose first
	// documented cause is "The secret is scheduled for deletion."
	docScheduled  = "InvalidRequestException, in the operation's Errors: \"Possible causes: The secret is scheduled for deletion.\""
	docValidation = "CommonErrors: ValidationException, \"The input fails to satisfy the constraints specified by an AWS service\""
)

const docForceDelete = "API_DeleteSecret, ForceDeleteWithoutRecovery: \"If you forcibly delete an already deleted or nonexistent secret, " +
	"the operation does not return ResourceNotFoundException.\""

func withDoc(st apiStep, doc string) apiStep {
	st.Doc = doc
	return st
}

func filter(key string, values ...string) types.Filter {
	return types.Filter{Key: types.FilterNameStringType(key), Values: values}
}

func tagList(tags []types.Tag) []string {
	var out []string
	for _, t := range tags {
		out = append(out, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	slices.Sort(out)
	return out
}

func tagsOf(kv ...string) []types.Tag {
	var out []types.Tag
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// call is a step whose outcome is its exception, or success.
func call(name, code string, do func(e *apiEnv) error) apiStep {
	return apiStep{Name: name, WantCode: code, Do: func(e *apiEnv) (any, error) { return nil, do(e) }}
}

type createOpt func(*sm.CreateSecretInput)

func withDescription(d string) createOpt {
	return func(in *sm.CreateSecretInput) { in.Description = aws.String(d) }
}

func withKMS(k string) createOpt {
	return func(in *sm.CreateSecretInput) { in.KmsKeyId = aws.String(k) }
}

func withTags(kv ...string) createOpt {
	return func(in *sm.CreateSecretInput) { in.Tags = tagsOf(kv...) }
}

// create creates secret sym with version ver holding value ("" for ver:
// no value, no version).
func create(sym, ver, value string, opts ...createOpt) apiStep {
	return createErr(sym, ver, value, "", opts...)
}

func createErr(sym, ver, value, code string, opts ...createOpt) apiStep {
	name := "CreateSecret " + sym
	if ver != "" {
		name += " " + ver
	}
	return call(name, code, func(e *apiEnv) error {
		in := &sm.CreateSecretInput{Name: e.n(sym)}
		if ver != "" {
			in.ClientRequestToken, in.SecretString = e.V(ver), aws.String(value)
		}
		for _, o := range opts {
			o(in)
		}
		_, err := e.c.CreateSecret(e.ctx, in)
		return err
	})
}

func put(sym, ver, value string) apiStep {
	return call("PutSecretValue "+sym+" "+ver, "", func(e *apiEnv) error {
		_, err := e.c.PutSecretValue(e.ctx, &sm.PutSecretValueInput{SecretId: e.n(sym), ClientRequestToken: e.V(ver), SecretString: aws.String(value)})
		return err
	})
}

func get(sym, want string) apiStep {
	return apiStep{Name: "GetSecretValue " + sym, Want: want, Do: func(e *apiEnv) (any, error) {
		out, err := e.c.GetSecretValue(e.ctx, &sm.GetSecretValueInput{SecretId: e.n(sym)})
		if err != nil {
			return nil, err
		}
		return aws.ToString(out.SecretString), nil
	}}
}

func getErr(sym, code string) apiStep {
	st := get(sym, "")
	st.Want, st.WantCode = nil, code
	return st
}

// secretView is what the scenarios compare of DescribeSecret.
type secretView struct {
	Name string
	// ARN is arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>.
	ARN         bool
	Description string
	KmsKeyId    string
	Tags        []string
	Versions    map[string][]string
	Rotation    bool
	Deleted     bool
	// Dated: CreatedDate and LastChangedDate are set.
	Dated bool
}

func describe(sym string, want secretView) apiStep {
	return apiStep{Name: "DescribeSecret " + sym, Want: want, Do: func(e *apiEnv) (any, error) {
		d, err := e.c.DescribeSecret(e.ctx, &sm.DescribeSecretInput{SecretId: e.n(sym)})
		if err != nil {
			return nil, err
		}
		name := aws.ToString(d.Name)
		arn := regexp.MustCompile(`^arn:aws:secretsmanager:` + region + `:` + account + `:secret:` + regexp.QuoteMeta(name) + `-[A-Za-z0-9]{6}$`)
		return secretView{
			Name: e.sym(name), ARN: arn.MatchString(aws.ToString(d.ARN)),
			Description: aws.ToString(d.Description), KmsKeyId: aws.ToString(d.KmsKeyId),
			Tags: tagList(d.Tags), Versions: e.stages(d.VersionIdsToStages, false),
			Rotation: aws.ToBool(d.RotationEnabled), Deleted: d.DeletedDate != nil,
			Dated: d.CreatedDate != nil && d.LastChangedDate != nil,
		}, nil
	}}
}

func describeErr(sym, code string) apiStep {
	st := describe(sym, secretView{})
	st.Want, st.WantCode = nil, code
	return st
}

func tags(sym string, want ...string) apiStep {
	return apiStep{Name: "tags of " + sym, Want: want, Do: func(e *apiEnv) (any, error) {
		d, err := e.c.DescribeSecret(e.ctx, &sm.DescribeSecretInput{SecretId: e.n(sym)})
		if err != nil {
			return nil, err
		}
		return tagList(d.Tags), nil
	}}
}

// stagesOf is DescribeSecret's VersionIdsToStages.
func stagesOf(sym string, want map[string][]string) apiStep {
	return apiStep{Name: "VersionIdsToStages of " + sym, Want: want, Do: func(e *apiEnv) (any, error) {
		d, err := e.c.DescribeSecret(e.ctx, &sm.DescribeSecretInput{SecretId: e.n(sym)})
		if err != nil {
			return nil, err
		}
		return e.stages(d.VersionIdsToStages, false), nil
	}}
}

type listArgs struct {
	Filters   []types.Filter
	SortOrder types.SortOrderType
	Planned   bool
	Max       int32
	// Next continues from the NextToken of the listing before.
	Next bool
}

// page is a listing: names in order (" (deleted)" after those with a
// DeletedDate), and whether NextToken is set.
type page struct {
	Names []string
	More  bool
}

// list is ListSecrets, scoped to the scenario's secrets.
func list(name string, a listArgs, want page) apiStep {
	return apiStep{Name: "ListSecrets " + name, Want: want, Do: func(e *apiEnv) (any, error) {
		in := &sm.ListSecretsInput{Filters: e.filters(a.Filters), SortOrder: a.SortOrder}
		if a.Planned {
			in.IncludePlannedDeletion = aws.Bool(true)
		}
		if a.Max != 0 {
			in.MaxResults = aws.Int32(a.Max)
		}
		if a.Next {
			in.NextToken = aws.String(e.next)
		}
		out, err := e.c.ListSecrets(e.ctx, in)
		if err != nil {
			return nil, err
		}
		e.next = aws.ToString(out.NextToken)
		p := page{More: e.next != ""}
		for _, s := range out.SecretList {
			n := e.sym(aws.ToString(s.Name))
			if s.DeletedDate != nil {
				n += " (deleted)"
			}
			p.Names = append(p.Names, n)
		}
		return p, nil
	}}
}

func listErr(name string, a listArgs, code string) apiStep {
	st := list(name, a, page{})
	st.Want, st.WantCode = nil, code
	return st
}

func names(n ...string) page { return page{Names: n} }

// updateView is UpdateSecret's answer: the symbolic VersionId, "" when the
// call created no version.
type updateView struct{ Version string }

// update is UpdateSecret; ver names the version the call creates: with
// token set, ver is sent as ClientRequestToken, otherwise the SDK makes
// one up and the step learns it as ver.
func update(name, sym, ver string, token bool, mod func(*sm.UpdateSecretInput), want updateView) apiStep {
	return apiStep{Name: "UpdateSecret " + sym + " " + name, Want: want, Do: func(e *apiEnv) (any, error) {
		in := &sm.UpdateSecretInput{SecretId: e.n(sym)}
		if token {
			in.ClientRequestToken = e.V(ver)
		}
		mod(in)
		out, err := e.c.UpdateSecret(e.ctx, in)
		if err != nil {
			return nil, err
		}
		id := aws.ToString(out.VersionId)
		if id == "" {
			return updateView{}, nil
		}
		if _, known := e.syms[id]; !known && ver != "" {
			e.learn(ver, id)
		}
		return updateView{Version: e.vsym(id)}, nil
	}}
}

func updateErr(name, sym, ver, code string, mod func(*sm.UpdateSecretInput)) apiStep {
	st := update(name, sym, ver, ver != "", mod, updateView{})
	st.Want, st.WantCode = nil, code
	return st
}

// inDays is DeleteSecret's DeletionDate, in days from now.
type inDays int

func (d inDays) String() string { return fmt.Sprintf("DeletionDate in %d days", int(d)) }

// deleteSecret is DeleteSecret; its result is the days from now to
// DeletionDate.
func deleteSecret(sym string, window int64, force bool, wantDays inDays) apiStep {
	name := fmt.Sprintf("DeleteSecret %s RecoveryWindowInDays=%d ForceDeleteWithoutRecovery=%t", sym, window, force)
	return apiStep{Name: name, Want: wantDays, Do: func(e *apiEnv) (any, error) {
		in := &sm.DeleteSecretInput{SecretId: e.n(sym)}
		if window != 0 {
			in.RecoveryWindowInDays = aws.Int64(window)
		}
		if force {
			in.ForceDeleteWithoutRecovery = aws.Bool(true)
		}
		out, err := e.c.DeleteSecret(e.ctx, in)
		if err != nil {
			return nil, err
		}
		return inDays(math.Round(time.Until(aws.ToTime(out.DeletionDate)).Hours() / 24)), nil
	}}
}

func deleteErr(sym string, window int64, force bool, code string) apiStep {
	st := deleteSecret(sym, window, force, 0)
	st.Want, st.WantCode = nil, code
	return st
}

func restore(sym, code string) apiStep {
	return call("RestoreSecret "+sym, code, func(e *apiEnv) error {
		_, err := e.c.RestoreSecret(e.ctx, &sm.RestoreSecretInput{SecretId: e.n(sym)})
		return err
	})
}

func tagResource(sym, code string, kv ...string) apiStep {
	return call("TagResource "+sym+" "+strings.Join(kv, ","), code, func(e *apiEnv) error {
		_, err := e.c.TagResource(e.ctx, &sm.TagResourceInput{SecretId: e.n(sym), Tags: tagsOf(kv...)})
		return err
	})
}

func untagResource(sym, code string, keys ...string) apiStep {
	return call("UntagResource "+sym+" "+strings.Join(keys, ","), code, func(e *apiEnv) error {
		_, err := e.c.UntagResource(e.ctx, &sm.UntagResourceInput{SecretId: e.n(sym), TagKeys: keys})
		return err
	})
}

// batchView is BatchGetSecretValue's answer: "sym=value" and "sym:code",
// sorted (AWS documents no order), and whether NextToken is set.
type batchView struct {
	Values []string
	Errors []string
	More   bool
}

type batchArgs struct {
	IDs     []string // symbolic secret names
	Filters []types.Filter
	Max     int32
	Next    bool
}

func batch(name string, a batchArgs, want batchView) apiStep {
	return apiStep{Name: "BatchGetSecretValue " + name, Want: want, Do: func(e *apiEnv) (any, error) {
		in := &sm.BatchGetSecretValueInput{}
		for _, id := range a.IDs {
			in.SecretIdList = append(in.SecretIdList, *e.n(id))
		}
		if a.Filters != nil {
			in.Filters = e.filters(a.Filters)
		}
		if a.Max != 0 {
			in.MaxResults = aws.Int32(a.Max)
		}
		if a.Next {
			in.NextToken = aws.String(e.next)
		}
		out, err := e.c.BatchGetSecretValue(e.ctx, in)
		if err != nil {
			return nil, err
		}
		e.next = aws.ToString(out.NextToken)
		v := batchView{More: e.next != ""}
		for _, s := range out.SecretValues {
			v.Values = append(v.Values, e.sym(aws.ToString(s.Name))+"="+aws.ToString(s.SecretString))
		}
		for _, f := range out.Errors {
			v.Errors = append(v.Errors, e.sym(aws.ToString(f.SecretId))+":"+aws.ToString(f.ErrorCode))
		}
		slices.Sort(v.Values)
		slices.Sort(v.Errors)
		return v, nil
	}}
}

func batchErr(name string, a batchArgs, code string) apiStep {
	st := batch(name, a, batchView{})
	st.Want, st.WantCode = nil, code
	return st
}

// all is the scoping filter alone: the scenario's secrets.
var all = []types.Filter{}

func versionIDs(sym string, deprecated bool, want map[string][]string) apiStep {
	return apiStep{Name: fmt.Sprintf("ListSecretVersionIds %s IncludeDeprecated=%t", sym, deprecated), Want: want, Do: func(e *apiEnv) (any, error) {
		out, err := e.c.ListSecretVersionIds(e.ctx, &sm.ListSecretVersionIdsInput{SecretId: e.n(sym), IncludeDeprecated: aws.Bool(deprecated)})
		if err != nil {
			return nil, err
		}
		m := map[string][]string{}
		for _, v := range out.Versions {
			m[aws.ToString(v.VersionId)] = v.VersionStages
		}
		return e.stages(m, true), nil
	}}
}

// removePending removes AWSPENDING from version ver of secret sym.
func removePending(sym, ver, code string) apiStep {
	return call("UpdateSecretVersionStage "+sym+" AWSPENDING RemoveFromVersionId "+ver, code, func(e *apiEnv) error {
		_, err := e.c.UpdateSecretVersionStage(e.ctx, &sm.UpdateSecretVersionStageInput{SecretId: e.n(sym),
			VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: e.V(ver)})
		return err
	})
}

func apiScenarios() []apiScenario {
	big := strings.Repeat("x", 65537)
	return []apiScenario{
		{
			Name: "CreateSecret with description, KMS key and tags; DescribeSecret",
			Steps: []apiStep{
				create("a", "a1", "one", withDescription("Primary database"), withKMS("alias/rotor-test"), withTags("env=prod", "team=core")),
				describe("a", secretView{Name: "a", ARN: true, Description: "Primary database", KmsKeyId: "alias/rotor-test",
					Tags: []string{"env=prod", "team=core"}, Versions: map[string][]string{"a1": {cur}}, Dated: true}),
				create("b", "", "", withDescription("no value yet")),
				describe("b", secretView{Name: "b", ARN: true, Description: "no value yet", Versions: map[string][]string{}, Dated: true}),
				getErr("b", notFound),
				// ClientRequestToken: "If a version with this value already
				// exists and the version SecretString and SecretBinary values
				// are the same as those in the request, then the request is
				// ignored."
				create("a", "a1", "one"),
				createErr("a", "a1", "other", exists),
				createErr("a", "a2", "one", exists),
				stagesOf("a", map[string][]string{"a1": {cur}}),
			},
		},
		{
			Name: "TagResource and UntagResource",
			Steps: []apiStep{
				create("a", "a1", "one", withTags("env=prod")),
				tagResource("a", "", "team=core", "env=dev"),
				tags("a", "env=dev", "team=core"),
				list("tag-key team", listArgs{Filters: []types.Filter{filter("tag-key", "team")}}, names("a")),
				untagResource("a", "", "team", "absent"),
				tags("a", "env=dev"),
				list("tag-key team, untagged", listArgs{Filters: []types.Filter{filter("tag-key", "team")}}, names()),
				untagResource("a", "", "env"),
				tags("a"),
				tagResource("missing", notFound, "k=v"),
				untagResource("missing", notFound, "k"),
			},
		},
		{
			Name: "ListSecrets filters",
			Steps: []apiStep{
				create("alpha", "a1", "one", withDescription("Primary database"), withTags("env=prod")),
				create("beta", "b1", "two", withDescription("Cache for sessions"), withTags("env=dev", "tier=gold")),
				create("gamma", "g1", "three"),
				list("name prefix", listArgs{Filters: all}, names("alpha", "beta", "gamma")),
				list("name, two values", listArgs{Filters: []types.Filter{filter("name", scope+"alpha", scope+"gamma")}}, names("alpha", "gamma")),
				list("name is case-sensitive", listArgs{Filters: []types.Filter{filter("name", scope+"ALPHA")}}, names()),
				list("name negated", listArgs{Filters: []types.Filter{filter("name", "!"+scope+"alpha")}}, names("beta", "gamma")),
				list("description prefix, any case", listArgs{Filters: []types.Filter{filter("description", "primary")}}, names("alpha")),
				{
					Name: "ListSecrets description: a later word is no prefix", Want: names(),
					Do:          list("", listArgs{Filters: []types.Filter{filter("description", "database")}}, page{}).Do,
					MotoDiffers: "moto matches description word by word (filters.py: \"actual testing determines that it uses the same approach to the all_filter\"); " + docFilter,
				},
				list("tag-key prefix", listArgs{Filters: []types.Filter{filter("tag-key", "ti")}}, names("beta")),
				list("tag-key is case-sensitive", listArgs{Filters: []types.Filter{filter("tag-key", "Tier")}}, names()),
				list("tag-value prefix", listArgs{Filters: []types.Filter{filter("tag-value", "pro")}}, names("alpha")),
				list("tag-key and tag-value are ANDed", listArgs{Filters: []types.Filter{filter("tag-key", "env"), filter("tag-value", "gold")}}, names("beta")),
				list("all, any case", listArgs{Filters: []types.Filter{filter("all", "CACHE")}}, names("beta")),
				list("all, a tag value", listArgs{Filters: []types.Filter{filter("all", "gold")}}, names("beta")),
				listErr("unknown filter key", listArgs{Filters: []types.Filter{filter("colour", "red")}}, validation),
				{
					Name: "ListSecrets a value outside the filter pattern", WantCode: validation,
					Do:          listErr("", listArgs{Filters: []types.Filter{filter("name", "bad*value")}}, "").Do,
					MotoDiffers: "moto does not check filter values; API_Filter: Values \"Pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$\", and " + docValidation,
				},
			},
		},
		{
			Name: "ListSecrets planned deletion, sort order and paging",
			Steps: []apiStep{
				create("a", "a1", "one"),
				create("b", "b1", "two"),
				create("c", "c1", "three"),
				list("default order", listArgs{Filters: all}, names("a", "b", "c")),
				list("asc", listArgs{Filters: all, SortOrder: types.SortOrderTypeAsc}, names("a", "b", "c")),
				{
					Name: "ListSecrets desc", Want: names("c", "b", "a"),
					Do:          list("", listArgs{Filters: all, SortOrder: types.SortOrderTypeDesc}, page{}).Do,
					MotoDiffers: "moto ignores SortOrder; API_ListSecrets: SortOrder \"Secrets are listed by CreatedDate\", Valid Values: asc | desc",
				},
				list("MaxResults 2", listArgs{Filters: all, Max: 2}, page{Names: []string{"a", "b"}, More: true}),
				list("next page", listArgs{Filters: all, Max: 2, Next: true}, names("c")),
				{
					Name: "ListSecrets MaxResults 101", WantCode: validation,
					Do:          listErr("", listArgs{Filters: all, Max: 101}, "").Do,
					MotoDiffers: "moto does not check MaxResults; API_ListSecrets: MaxResults \"Valid Range: Minimum value of 1. Maximum value of 100.\", and " + docValidation,
				},
				deleteSecret("b", 0, false, 30),
				list("without planned deletion", listArgs{Filters: all}, names("a", "c")),
				list("IncludePlannedDeletion", listArgs{Filters: all, Planned: true}, names("a", "b (deleted)", "c")),
				restore("b", ""),
				list("after RestoreSecret", listArgs{Filters: all}, names("a", "b", "c")),
			},
		},
		{
			Name: "UpdateSecret",
			Steps: []apiStep{
				create("a", "a1", "one", withDescription("first")),
				update("description", "a", "", false, func(in *sm.UpdateSecretInput) { in.Description = aws.String("second") }, updateView{}),
				update("KmsKeyId", "a", "", false, func(in *sm.UpdateSecretInput) { in.KmsKeyId = aws.String("alias/other") }, updateView{}),
				describe("a", secretView{Name: "a", ARN: true, Description: "second", KmsKeyId: "alias/other", Versions: map[string][]string{"a1": {cur}}, Dated: true}),
				update("value", "a", "a2", true, func(in *sm.UpdateSecretInput) { in.SecretString = aws.String("two") }, updateView{Version: "a2"}),
				stagesOf("a", map[string][]string{"a1": {prev}, "a2": {cur}}),
				update("value again, same token", "a", "a2", true, func(in *sm.UpdateSecretInput) { in.SecretString = aws.String("two") }, updateView{Version: "a2"}),
				updateErr("another value, same token", "a", "a2", exists, func(in *sm.UpdateSecretInput) { in.SecretString = aws.String("other") }),
				update("value, the SDK's token", "a", "a3", false, func(in *sm.UpdateSecretInput) { in.SecretString = aws.String("three") }, updateView{Version: "a3"}),
				describe("a", secretView{Name: "a", ARN: true, Description: "second", KmsKeyId: "alias/other", Versions: map[string][]string{"a2": {prev}, "a3": {cur}}, Dated: true}),
				get("a", "three"),
				updateErr("unknown secret", "missing", "", notFound, func(in *sm.UpdateSecretInput) { in.Description = aws.String("x") }),
			},
		},
		{
			Name: "DeleteSecret and RestoreSecret",
			Steps: []apiStep{
				create("a", "a1", "one"),
				create("b", "b1", "two"),
				deleteErr("a", 6, false, invalidParam),
				deleteErr("a", 31, false, invalidParam),
				deleteErr("a", 7, true, invalidParam),
				describe("a", secretView{Name: "a", ARN: true, Versions: map[string][]string{"a1": {cur}}, Dated: true}),
				deleteSecret("a", 7, false, 7),
				describe("a", secretView{Name: "a", ARN: true, Versions: map[string][]string{"a1": {cur}}, Deleted: true, Dated: true}),
				getErr("a", invalidReq),
				updateErr("description, scheduled for deletion", "a", "", invalidReq, func(in *sm.UpdateSecretInput) { in.Description = aws.String("x") }),
				deleteErr("a", 0, false, invalidReq),
				restore("a", ""),
				get("a", "one"),
				describe("a", secretView{Name: "a", ARN: true, Versions: map[string][]string{"a1": {cur}}, Dated: true}),
				deleteSecret("b", 0, false, 30),
				{
					Name: "PutSecretValue b b2, scheduled for deletion", WantCode: invalidReq,
					Do:          put("b", "b2", "other").Do,
					MotoDiffers: "moto's put_secret_value never checks the deletion; API_PutSecretValue " + docScheduled,
				},
				{
					Name: "TagResource b, scheduled for deletion", WantCode: invalidReq,
					Do:          tagResource("b", "", "k=v").Do,
					MotoDiffers: "moto's tag_resource never checks the deletion; API_TagResource " + docScheduled,
				},
				{
					Name: "CreateSecret b b3, name scheduled for deletion", WantCode: invalidReq,
					Do:          create("b", "b3", "three").Do,
					MotoDiffers: "moto answers ResourceExistsException; API_CreateSecret " + docScheduled,
				},
				restore("b", ""),
				{
					Name: "DescribeSecret b: the refusals changed nothing", Want: secretView{Name: "b", ARN: true, Versions: map[string][]string{"b1": {cur}}, Dated: true},
					Do:          describe("b", secretView{}).Do,
					MotoDiffers: "follows from the PutSecretValue and TagResource moto accepted",
				},
				deleteSecret("a", 0, true, 0),
				describeErr("a", notFound),
				restore("a", notFound),
				create("a", "a2", "two"),
				get("a", "two"),
				deleteSecret("a", 0, true, 0),
				withDoc(deleteSecret("a", 0, true, 0), docForceDelete),
				withDoc(deleteSecret("never", 0, true, 0), docForceDelete),
				deleteErr("never", 0, false, notFound),
			},
		},
		{
			Name: "BatchGetSecretValue",
			Steps: []apiStep{
				create("a", "a1", "one"),
				create("b", "b1", "two"),
				create("c", "c1", "three"),
				batch("SecretIdList with a missing secret", batchArgs{IDs: []string{"a", "missing", "b"}},
					batchView{Values: []string{"a=one", "b=two"}, Errors: []string{"missing:" + notFound}}),
				batch("Filters", batchArgs{Filters: all}, batchView{Values: []string{"a=one", "b=two", "c=three"}}),
				batch("Filters, MaxResults 2", batchArgs{Filters: all, Max: 2}, batchView{Values: []string{"a=one", "b=two"}, More: true}),
				batch("Filters, next page", batchArgs{Filters: all, Max: 2, Next: true}, batchView{Values: []string{"c=three"}}),
				batchErr("both SecretIdList and Filters", batchArgs{IDs: []string{"a"}, Filters: all}, invalidParam),
				{
					Name: "BatchGetSecretValue neither SecretIdList nor Filters", WantCode: invalidParam,
					Do:          batchErr("", batchArgs{}, "").Do,
					MotoDiffers: "moto answers an empty success; API_BatchGetSecretValue: \"You must include Filters or SecretIdList, but not both.\"",
				},
				withDoc(batchErr("SecretIdList with MaxResults", batchArgs{IDs: []string{"a"}, Max: 2}, invalidParam),
					"API_BatchGetSecretValue, MaxResults: \"To use this parameter, you must also use the Filters parameter.\"; "+
						"InvalidParameterException: \"The parameter name or value is invalid.\""),
				deleteSecret("b", 0, false, 30),
				batch("SecretIdList with a secret scheduled for deletion", batchArgs{IDs: []string{"a", "b"}},
					batchView{Values: []string{"a=one"}, Errors: []string{"b:" + invalidReq}}),
				{
					Name: "BatchGetSecretValue Filters with a secret scheduled for deletion", Want: batchView{Values: []string{"a=one", "c=three"}},
					Do: batch("", batchArgs{Filters: all}, batchView{}).Do,
					MotoDiffers: "moto fails the whole call with the deleted secret's InvalidRequestException; API_BatchGetSecretValue: " +
						"\"If Secrets Manager encounters errors ... while attempting to retrieve any of the secrets, you can see the errors in Errors in the response\"",
				},
			},
		},
		{
			Name: "ListSecretVersionIds",
			Steps: []apiStep{
				create("a", "a1", "one"),
				put("a", "a2", "two"),
				put("a", "a3", "three"),
				{
					Name: "ListSecretVersionIds a", Want: map[string][]string{"a2": {prev}, "a3": {cur}},
					Do:          versionIDs("a", false, nil).Do,
					MotoDiffers: "moto ignores IncludeDeprecated and lists every version; API_ListSecretVersionIds: IncludeDeprecated \"By default, versions without staging labels aren't included.\"",
				},
				versionIDs("a", true, map[string][]string{"a1": {}, "a2": {prev}, "a3": {cur}}),
				{
					Name: "ListSecretVersionIds unknown secret", WantCode: notFound,
					Do: func(e *apiEnv) (any, error) {
						_, err := e.c.ListSecretVersionIds(e.ctx, &sm.ListSecretVersionIdsInput{SecretId: e.n("missing")})
						return nil, err
					},
					MotoDiffers: "moto answers HTTP 500 (a KeyError in list_secret_version_ids); API_ListSecretVersionIds Errors: " +
						"ResourceNotFoundException, \"Secrets Manager can't find the resource that you asked for.\"",
				},
			},
		},
		{
			// The plain-API half of AWS's recovery from a failed rotation
			// (CancelRotateSecret's VersionId: "remove the VersionStage value
			// AWSPENDING from this version"); the RotateSecret half needs a
			// rotation function, which moto_server runs only in Docker, and is
			// TestRotateSecretAfterRecoveryFromAFailedRotation.
			Name: "AWSPENDING removed from a stuck version",
			Steps: []apiStep{
				create("a", "a1", "one"),
				call("PutSecretValue a a2 AWSPENDING", "", func(e *apiEnv) error {
					_, err := e.c.PutSecretValue(e.ctx, &sm.PutSecretValueInput{SecretId: e.n("a"), ClientRequestToken: e.V("a2"),
						SecretString: aws.String("two"), VersionStages: []string{"AWSPENDING"}})
					return err
				}),
				stagesOf("a", map[string][]string{"a1": {cur}, "a2": {"AWSPENDING"}}),
				removePending("a", "a2", ""),
				stagesOf("a", map[string][]string{"a1": {cur}}),
				versionIDs("a", true, map[string][]string{"a1": {cur}, "a2": {}}),
				// The label is gone: removing it again is refused.
				removePending("a", "a2", invalidParam),
				get("a", "one"),
			},
		},
		{
			Name: "CancelRotateSecret without rotation",
			Steps: []apiStep{
				create("a", "a1", "one"),
				call("CancelRotateSecret a", invalidReq, func(e *apiEnv) error {
					_, err := e.c.CancelRotateSecret(e.ctx, &sm.CancelRotateSecretInput{SecretId: e.n("a")})
					return err
				}),
				describe("a", secretView{Name: "a", ARN: true, Versions: map[string][]string{"a1": {cur}}, Dated: true}),
				call("CancelRotateSecret unknown secret", notFound, func(e *apiEnv) error {
					_, err := e.c.CancelRotateSecret(e.ctx, &sm.CancelRotateSecretInput{SecretId: e.n("missing")})
					return err
				}),
			},
		},
		{
			Name: "bad input is refused and changes nothing",
			Steps: []apiStep{
				create("a", "a1", "one"),
				{
					Name: "CreateSecret b, a value over 65,536 bytes", WantCode: validation,
					Do:          create("b", "b1", big).Do,
					MotoDiffers: "moto stores any size; API_CreateSecret: SecretString \"Length Constraints: Maximum length of 65536\", and " + docValidation,
				},
				{
					Name: "PutSecretValue a, a value over 65,536 bytes", WantCode: validation,
					Do:          put("a", "a2", big).Do,
					MotoDiffers: "moto stores any size; API_PutSecretValue: SecretString \"Length Constraints: Maximum length of 65536\", and " + docValidation,
				},
				{
					Name: "CreateSecret with a name outside the allowed characters", WantCode: invalidParam,
					Do: func(e *apiEnv) (any, error) {
						_, err := e.c.CreateSecret(e.ctx, &sm.CreateSecretInput{Name: e.n("bad name*"), SecretString: aws.String("x")})
						return nil, err
					},
					MotoDiffers: "moto accepts any name; API_CreateSecret: Name \"can contain ASCII letters, numbers, and the following characters: /_+=.@-\"",
				},
				{
					Name: "CreateSecret c, ClientRequestToken shorter than 32", WantCode: validation,
					Do: func(e *apiEnv) (any, error) {
						_, err := e.c.CreateSecret(e.ctx, &sm.CreateSecretInput{Name: e.n("c"), ClientRequestToken: aws.String("short"), SecretString: aws.String("x")})
						return nil, err
					},
					MotoDiffers: "moto answers InvalidParameterException; API_CreateSecret: ClientRequestToken \"Length Constraints: Minimum length of 32. Maximum length of 64.\", and " + docValidation,
				},
				{
					Name: "PutSecretValue a, ClientRequestToken shorter than 32", WantCode: validation,
					Do: func(e *apiEnv) (any, error) {
						_, err := e.c.PutSecretValue(e.ctx, &sm.PutSecretValueInput{SecretId: e.n("a"), ClientRequestToken: aws.String("short"), SecretString: aws.String("x")})
						return nil, err
					},
					MotoDiffers: "moto answers InvalidParameterException; API_PutSecretValue: ClientRequestToken \"Length Constraints: Minimum length of 32. Maximum length of 64.\", and " + docValidation,
				},
				{
					Name: "CreateSecret d, both SecretString and SecretBinary", WantCode: invalidParam,
					Do: func(e *apiEnv) (any, error) {
						_, err := e.c.CreateSecret(e.ctx, &sm.CreateSecretInput{Name: e.n("d"), SecretString: aws.String("x"), SecretBinary: []byte("y")})
						return nil, err
					},
					MotoDiffers: "moto stores both; API_CreateSecret: SecretBinary \"Either SecretString or SecretBinary must have a value, but not both.\"",
				},
				{
					Name: "PutSecretValue a, both SecretString and SecretBinary", WantCode: invalidParam,
					Do: func(e *apiEnv) (any, error) {
						_, err := e.c.PutSecretValue(e.ctx, &sm.PutSecretValueInput{SecretId: e.n("a"), SecretString: aws.String("x"), SecretBinary: []byte("y")})
						return nil, err
					},
					MotoDiffers: "moto stores both; API_PutSecretValue: SecretBinary \"You must include SecretBinary or SecretString, but not both.\"",
				},
				{
					Name: "UpdateSecret a, both SecretString and SecretBinary", WantCode: invalidParam,
					Do: func(e *apiEnv) (any, error) {
						_, err := e.c.UpdateSecret(e.ctx, &sm.UpdateSecretInput{SecretId: e.n("a"), SecretString: aws.String("x"), SecretBinary: []byte("y")})
						return nil, err
					},
					MotoDiffers: "moto stores both; API_UpdateSecret: SecretBinary \"Either SecretBinary or SecretString must have a value, but not both.\"",
				},
				getErr("missing", notFound),
				describeErr("missing", notFound),
				call("PutSecretValue unknown secret", notFound, func(e *apiEnv) error {
					_, err := e.c.PutSecretValue(e.ctx, &sm.PutSecretValueInput{SecretId: e.n("missing"), SecretString: aws.String("x")})
					return err
				}),
				deleteErr("missing", 0, false, notFound),
				{
					Name: "nothing was created", Want: names("a"),
					Do:          list("", listArgs{Filters: all}, page{}).Do,
					MotoDiffers: "follows from the refusals above",
				},
				{
					Name: "GetSecretValue a: the value is unchanged", Want: "one",
					Do:          get("a", "").Do,
					MotoDiffers: "follows from the refusals above",
				},
				{
					Name: "ListSecretVersionIds a: nothing was added", Want: map[string][]string{"a1": {cur}},
					Do:          versionIDs("a", true, nil).Do,
					MotoDiffers: "follows from the refusals above",
				},
			},
		},
	}
}
