package stacks_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/rotorhq/rotor/infra/config"
	"github.com/rotorhq/rotor/infra/internal/cdktest"
	"github.com/rotorhq/rotor/infra/stacks"
)

var (
	pipelineOnce sync.Once
	pipelineTpl  assertions.Template
)

// pipelineTemplate is the template of the pipeline stack of configFile's app.
func pipelineTemplate(t *testing.T) (*config.File, *stacks.App, assertions.Template) {
	t.Helper()
	f, a, _ := built(t)
	if a.Pipeline == nil {
		t.Fatal("want a pipeline stack: the file has a pipeline")
	}
	pipelineOnce.Do(func() { pipelineTpl = assertions.Template_FromStack(a.Pipeline.Stack, nil) })
	return f, a, pipelineTpl
}

// pipelineStage is one stage of an AWS::CodePipeline::Pipeline, as synthesized.
type pipelineStage struct {
	Name    string
	Actions []pipelineAction
}

type pipelineAction struct {
	Name          string
	Category      string
	Provider      string
	RunOrder      int
	Configuration map[string]any
}

// pipelineStages reads the stages of the template's only pipeline.
func pipelineStages(t *testing.T, tpl assertions.Template) []pipelineStage {
	t.Helper()
	pipelines := cdktest.Resources(t, tpl, "AWS::CodePipeline::Pipeline")
	if len(pipelines) != 1 {
		t.Fatalf("want one AWS::CodePipeline::Pipeline, got %d", len(pipelines))
	}
	var out []pipelineStage
	for _, p := range pipelines {
		for _, s := range p["Properties"].(map[string]any)["Stages"].([]any) {
			sm := s.(map[string]any)
			st := pipelineStage{Name: sm["Name"].(string)}
			for _, a := range sm["Actions"].([]any) {
				am := a.(map[string]any)
				typ := am["ActionTypeId"].(map[string]any)
				act := pipelineAction{Name: am["Name"].(string), Category: typ["Category"].(string), Provider: typ["Provider"].(string), RunOrder: 1}
				if n, ok := am["RunOrder"].(float64); ok {
					act.RunOrder = int(n)
				}
				act.Configuration, _ = am["Configuration"].(map[string]any)
				st.Actions = append(st.Actions, act)
			}
			out = append(out, st)
		}
	}
	return out
}

// deployStages are the pipeline's stages after its own (Source, Build,
// UpdatePipeline, Assets): the ones that deploy rotor's stages.
func deployStages(t *testing.T, stages []pipelineStage) []pipelineStage {
	t.Helper()
	for i, s := range stages {
		if s.Name == "Assets" {
			return stages[i+1:]
		}
	}
	t.Fatalf("want an Assets stage, got %v", stageNames(stages))
	return nil
}

func stageNames(stages []pipelineStage) []string {
	var names []string
	for _, s := range stages {
		names = append(names, s.Name)
	}
	return names
}

// checkApprovals fails t unless every production stage opens with a manual
// approval that runs before all of its CloudFormation actions, and no other
// stage has one.
func checkApprovals(t *testing.T, stages []pipelineStage, production map[string]bool) {
	t.Helper()
	for _, s := range stages {
		var approvals []pipelineAction
		firstDeploy := -1
		for _, a := range s.Actions {
			switch {
			case a.Category == "Approval" && a.Provider == "Manual":
				approvals = append(approvals, a)
			case a.Category == "Deploy" && a.Provider == "CloudFormation":
				if firstDeploy < 0 || a.RunOrder < firstDeploy {
					firstDeploy = a.RunOrder
				}
			}
		}
		if firstDeploy < 0 {
			t.Errorf("stage %s: no CloudFormation action", s.Name)
			continue
		}
		if !production[s.Name] {
			if len(approvals) != 0 {
				t.Errorf("stage %s is not production: want no manual approval, got %+v", s.Name, approvals)
			}
			continue
		}
		if len(approvals) != 1 {
			t.Errorf("production stage %s: want one manual approval, got %d", s.Name, len(approvals))
			continue
		}
		if a := approvals[0]; a.Name != stacks.ApprovalStepID(s.Name) || a.RunOrder >= firstDeploy {
			t.Errorf("production stage %s: want %s to run before the deployment (run order %d), got %s at run order %d",
				s.Name, stacks.ApprovalStepID(s.Name), firstDeploy, a.Name, a.RunOrder)
		}
	}
}

func TestPipelineStack(t *testing.T) {
	f, a, tpl := pipelineTemplate(t)
	st := a.Pipeline.Stack
	if *st.StackName() != "rotor-pipeline" || *st.Account() != f.Pipeline.Account || *st.Region() != f.Pipeline.Region {
		t.Errorf("want rotor-pipeline in %s/%s, got %s in %s/%s", f.Pipeline.Account, f.Pipeline.Region, *st.StackName(), *st.Account(), *st.Region())
	}
	// Cross-account artifacts: a KMS key (rotated) encrypts the store.
	cdktest.Count(t, tpl, "AWS::CodePipeline::Pipeline", map[string]any{
		"ArtifactStore": assertions.Match_ObjectLike(&map[string]any{"EncryptionKey": assertions.Match_ObjectLike(&map[string]any{"Type": "KMS"})}),
	}, 1)
	cdktest.Count(t, tpl, "AWS::KMS::Key", map[string]any{"EnableKeyRotation": true}, 1)

	stages := pipelineStages(t, tpl)
	src := stages[0]
	if src.Name != "Source" || len(src.Actions) != 1 || src.Actions[0].Provider != "CodeStarSourceConnection" {
		t.Fatalf("want a Source stage with one CodeStarSourceConnection action first, got %+v", src)
	}
	want := map[string]any{"ConnectionArn": f.Pipeline.ConnectionArn, "FullRepositoryId": f.Pipeline.Repository, "BranchName": f.Pipeline.Branch}
	for k, v := range want {
		if got := src.Actions[0].Configuration[k]; got != v {
			t.Errorf("source %s: want %v, got %v", k, v, got)
		}
	}

	// The synth step: the functions built at the root, the app synthesized
	// in infra/, its cdk.out the step's output.
	projects := cdktest.Resources(t, tpl, "AWS::CodeBuild::Project")
	var buildspec string
	for _, p := range projects {
		props := p["Properties"].(map[string]any)
		if strings.HasSuffix(fmt.Sprint(props["Description"]), "/Build/Synth") {
			buildspec = props["Source"].(map[string]any)["BuildSpec"].(string)
			if img := props["Environment"].(map[string]any)["Image"]; img != "aws/codebuild/standard:8.0" {
				t.Errorf("synth image: want aws/codebuild/standard:8.0, got %v", img)
			}
		}
	}
	for _, want := range []string{
		`"make build RDS_CA_BUNDLE=global-bundle.pem"`,
		`"cd infra && npx cdk synth"`,
		`"base-directory": "infra/cdk.out"`,
		"go" + stacks.GoVersion + ".linux-amd64.tar.gz",
		"npm install -g aws-cdk@2",
	} {
		if !strings.Contains(buildspec, want) {
			t.Errorf("synth buildspec: want %s in it, got:\n%s", want, buildspec)
		}
	}
}

// The pipeline deploys the audit stage, then the environments in file order,
// each from the app's own stage: the template `cdk deploy 'dev/*'` deploys.
func TestPipelineStagesInOrder(t *testing.T) {
	f, a, tpl := pipelineTemplate(t)
	stages := pipelineStages(t, tpl)
	want := []string{"Source", "Build", "UpdatePipeline", "Assets", stacks.AuditStageID}
	for _, e := range f.Environments {
		want = append(want, e.Name)
	}
	if got := stageNames(stages); !slices.Equal(got, want) {
		t.Fatalf("pipeline stages: want %v, got %v", want, got)
	}
	for _, s := range deployStages(t, stages) {
		var stack awscdk.Stack = a.Audit.Stack
		if s.Name != stacks.AuditStageID {
			stack = a.Environments[s.Name].Stack
		}
		wantPath := "Synth_Output::assembly-" + s.Name + "/" + *stack.TemplateFile()
		found := false
		for _, act := range s.Actions {
			if act.Provider != "CloudFormation" {
				continue
			}
			if act.Configuration["StackName"] != *stack.StackName() {
				t.Errorf("stage %s, action %s: want stack %s, got %v", s.Name, act.Name, *stack.StackName(), act.Configuration["StackName"])
			}
			if p, ok := act.Configuration["TemplatePath"]; ok {
				found = true
				if p != wantPath {
					t.Errorf("stage %s: want the template %s, got %v", s.Name, wantPath, p)
				}
			}
		}
		if !found {
			t.Errorf("stage %s: no action deploys a template", s.Name)
		}
	}
}

func TestPipelineApprovesProductionOnly(t *testing.T) {
	f, _, tpl := pipelineTemplate(t)
	production := map[string]bool{}
	for _, e := range f.Environments {
		production[e.Name] = e.Production
	}
	if !production["prod"] || production["dev"] || production["staging"] {
		t.Fatalf("the test file changed: want prod production, dev and staging not, got %v", production)
	}
	checkApprovals(t, deployStages(t, pipelineStages(t, tpl)), production)
}

func TestPipelineNagClean(t *testing.T) {
	_, a, _ := pipelineTemplate(t)
	if errs := cdktest.NagErrors(a.Pipeline.Stack); len(errs) > 0 {
		t.Errorf("want no unsuppressed cdk-nag errors on the pipeline stack, got:\n%s", strings.Join(errs, "\n"))
	}
}

// Without an audit account, with two production environments, one of them in
// another region than the pipeline: the stages keep the file's order, each
// production one waits for its approval, and the cross-region support stack
// CodePipeline adds is cdk-nag clean too.
func TestPipelineVariant(t *testing.T) {
	f := load(t)
	f.Audit = nil
	f.Environments[1].Production = true
	f.Environments[1].Region = "eu-central-1"
	a, err := stacks.Build(awscdk.NewApp(nil), f, stacks.DistCode(dist))
	if err != nil {
		t.Fatal(err)
	}
	stages := deployStages(t, pipelineStages(t, assertions.Template_FromStack(a.Pipeline.Stack, nil)))
	if got, want := stageNames(stages), []string{"dev", "staging", "prod"}; !slices.Equal(got, want) {
		t.Fatalf("deploy stages: want %v, got %v", want, got)
	}
	checkApprovals(t, stages, map[string]bool{"staging": true, "prod": true})

	support := *a.Pipeline.Pipeline.Pipeline().CrossRegionSupport()
	if support["eu-central-1"] == nil {
		t.Fatalf("want a cross-region support stack for eu-central-1, got regions %v", support)
	}
	for region, s := range support {
		if errs := cdktest.NagErrors(s.Stack); len(errs) > 0 {
			t.Errorf("region %s, stack %s: want no unsuppressed cdk-nag errors, got:\n%s", region, *s.Stack.Node().Path(), strings.Join(errs, "\n"))
		}
	}
}

func TestPipelineNameClash(t *testing.T) {
	for _, name := range []string{"pipeline", "rotor-pipeline"} {
		f := load(t)
		f.Environments = f.Environments[:1]
		f.Environments[0].Name = name
		_, err := stacks.Build(awscdk.NewApp(nil), f, stacks.DistCode(dist))
		if err == nil || !strings.Contains(err.Error(), "environments[0].name") || !strings.Contains(err.Error(), "rotor-pipeline") {
			t.Errorf("environment %q: want an error naming environments[0].name and the pipeline stack, got %v", name, err)
		}
	}
	// Without a pipeline, the names are free.
	f := load(t)
	f.Pipeline = nil
	f.Audit = nil
	f.Environments = f.Environments[:1]
	f.Environments[0].Name = "pipeline"
	if a, err := stacks.Build(awscdk.NewApp(nil), f, stacks.DistCode(dist)); err != nil || a.Pipeline != nil {
		t.Errorf("without a pipeline: want no error and no pipeline stack, got %v, %v", err, a)
	}
}
