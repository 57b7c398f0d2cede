package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/rotorhq/rotor/infra/config"
	"github.com/rotorhq/rotor/infra/rotor"
)

// AuditStageID is the stage of the audit account.
const AuditStageID = "audit"

// App is rotor's CDK app: one stage per environment, named after it, and a
// stage "audit" for the security account; with a pipeline configured, also
// the stack rotor-pipeline, whose pipeline deploys those same stages.
type App struct {
	App          awscdk.App
	Stages       map[string]awscdk.Stage
	Environments map[string]*EnvironmentStack
	Audit        *AuditStack
	// Pipeline is nil when the file has no pipeline.
	Pipeline *PipelineStack
}

// Build adds rotor's stages to app. Stacks have explicit accounts and regions
// and look nothing up, so synth needs no AWS credentials. cdk-nag's
// AwsSolutions checks run on the app and on every stage (aspects stop at
// stage boundaries).
func Build(app awscdk.App, f *config.File, code CodeSource) (a *App, err error) {
	defer func() {
		// DistCode panics with a MissingCodeError from inside the construct
		// tree; the app reports it as an error.
		if r := recover(); r != nil {
			if mc, ok := r.(*MissingCodeError); ok {
				a, err = nil, mc
				return
			}
			panic(r)
		}
	}()
	a = &App{App: app, Stages: map[string]awscdk.Stage{}, Environments: map[string]*EnvironmentStack{}}
	rotor.ApplyNagChecks(app)

	// The pipeline deploys the stages in this order: audit first.
	var ordered []PipelineStage
	auditArn := ""
	if f.Audit != nil {
		auditArn = AuditBusArn(f.Audit)
		stage := newStage(app, AuditStageID, f.Audit.Account, f.Audit.Region)
		a.Stages[AuditStageID] = stage
		a.Audit = NewAuditStack(stage, "Audit", &AuditStackProps{Audit: f.Audit, SourceAccounts: f.Accounts()})
		ordered = append(ordered, PipelineStage{Stage: stage})
	}
	for i := range f.Environments {
		e := &f.Environments[i]
		if e.Name == AuditStageID {
			return nil, fmt.Errorf("environments[%d].name: %q is the audit stage's name", i, e.Name)
		}
		if f.Pipeline != nil && (e.Name == PipelineStackID || "rotor-"+e.Name == PipelineStackID) {
			return nil, fmt.Errorf("environments[%d].name: %q would clash with the pipeline stack %s", i, e.Name, PipelineStackID)
		}
		stage := newStage(app, e.Name, e.Account, e.Region)
		a.Stages[e.Name] = stage
		a.Environments[e.Name] = NewEnvironmentStack(stage, "Rotor", &EnvironmentStackProps{
			Environment: e,
			AuditBusArn: auditArn,
			Code:        code,
		})
		ordered = append(ordered, PipelineStage{Stage: stage, Production: e.Production})
	}
	// After every stage is complete: adding a stage to the pipeline
	// synthesizes it.
	if f.Pipeline != nil {
		a.Pipeline = NewPipelineStack(app, PipelineStackID, &PipelineStackProps{Pipeline: f.Pipeline, Stages: ordered})
	}
	return a, nil
}

func newStage(app awscdk.App, id, account, region string) awscdk.Stage {
	stage := awscdk.NewStage(app, jsii.String(id), &awscdk.StageProps{
		Env: &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)},
	})
	rotor.ApplyNagChecks(stage)
	return stage
}
