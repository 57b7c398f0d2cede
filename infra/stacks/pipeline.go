package stacks

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodebuild"
	"github.com/aws/aws-cdk-go/awscdk/v2/pipelines"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rotorhq/rotor/infra/config"
)

// PipelineStackID is the construct ID of the pipeline stack, and its
// CloudFormation name: `cdk deploy rotor-pipeline` selects it.
const PipelineStackID = "rotor-pipeline"

// What the synth step installs when the CodeBuild image has an older one.
const (
	// GoVersion is the Go toolchain of the synth step (go.mod asks for 1.26).
	GoVersion = "1.26.8"
	// NodeMajor is the lowest Node.js major version the synth step accepts;
	// jsii runs the CDK in it.
	NodeMajor = 22
	// RDSCABundleURL is AWS's RDS certificate bundle, shipped in every
	// function's zip as `make build RDS_CA_BUNDLE=...` does by hand.
	RDSCABundleURL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
)

// PipelineStage is one stage the pipeline deploys.
type PipelineStage struct {
	Stage awscdk.Stage
	// Production stages wait for a manual approval before their deployment.
	Production bool
}

// PipelineStackProps configure the pipeline stack.
type PipelineStackProps struct {
	awscdk.StackProps
	// Pipeline is the validated pipeline configuration. Required.
	Pipeline *config.Pipeline
	// Stages are deployed one after the other, in this order. They are the
	// app's own stages (the ones `cdk deploy 'dev/*'` deploys by hand), so
	// the pipeline deploys exactly what a manual deployment would.
	Stages []PipelineStage
}

// PipelineStack is the tooling account's CDK Pipelines pipeline.
type PipelineStack struct {
	awscdk.Stack
	Pipeline pipelines.CodePipeline
}

// NewPipelineStack creates the pipeline stack. The pipeline is built before
// it returns (CodePipeline.BuildPipeline), so that its resources exist for
// the cdk-nag suppressions and the tests.
func NewPipelineStack(scope constructs.Construct, id string, props *PipelineStackProps) *PipelineStack {
	p := props.Pipeline
	sp := props.StackProps
	sp.Env = &awscdk.Environment{Account: jsii.String(p.Account), Region: jsii.String(p.Region)}
	if sp.StackName == nil {
		sp.StackName = jsii.String(PipelineStackID)
	}
	if sp.Description == nil {
		sp.Description = jsii.String("rotor: the CDK Pipelines pipeline that deploys the audit stage and every environment from " + p.Repository + "@" + p.Branch)
	}
	st := &PipelineStack{Stack: awscdk.NewStack(scope, jsii.String(id), &sp)}

	source := pipelines.CodePipelineSource_Connection(jsii.String(p.Repository), jsii.String(p.Branch), &pipelines.ConnectionSourceOptions{
		ConnectionArn: jsii.String(p.ConnectionArn),
	})
	synth := pipelines.NewShellStep(jsii.String("Synth"), &pipelines.ShellStepProps{
		Input: source,
		Env: &map[string]*string{
			// cdk-nag's EVB1 reads a deprecated property (see infra/Makefile).
			"JSII_DEPRECATED": jsii.String("quiet"),
		},
		InstallCommands: jsii.Strings(SynthInstallCommands()...),
		Commands:        jsii.Strings(SynthCommands()...),
		// Every stage's assembly, the functions' code and the pipeline's own
		// template: what `make synth` leaves in infra/cdk.out.
		PrimaryOutputDirectory: jsii.String("infra/cdk.out"),
	})

	st.Pipeline = pipelines.NewCodePipeline(st.Stack, jsii.String("Pipeline"), &pipelines.CodePipelineProps{
		PipelineName: jsii.String("rotor"),
		Synth:        synth,
		// The artifacts go to other accounts: a KMS key they may use, not
		// the S3 managed key.
		CrossAccountKeys:  jsii.Bool(true),
		EnableKeyRotation: jsii.Bool(true),
		CodeBuildDefaults: &pipelines.CodeBuildOptions{
			BuildEnvironment: &awscodebuild.BuildEnvironment{BuildImage: awscodebuild.LinuxBuildImage_STANDARD_8_0()},
		},
		SynthCodeBuildDefaults: &pipelines.CodeBuildOptions{
			// Go builds and a jsii synth of every stage: 4 vCPUs, 7 GB.
			BuildEnvironment: &awscodebuild.BuildEnvironment{ComputeType: awscodebuild.ComputeType_MEDIUM},
		},
	})
	for _, s := range props.Stages {
		opts := &pipelines.AddStageOpts{}
		if s.Production {
			opts.Pre = &[]pipelines.Step{pipelines.NewManualApprovalStep(jsii.String(ApprovalStepID(*s.Stage.StageName())), &pipelines.ManualApprovalStepProps{
				Comment: jsii.String(fmt.Sprintf("Deploy rotor to production environment %s (account %s, region %s)?",
					*s.Stage.StageName(), *s.Stage.Account(), *s.Stage.Region())),
			})}
		}
		st.Pipeline.AddStage(s.Stage, opts)
	}
	st.Pipeline.BuildPipeline()
	suppressPipelineFindings(st)
	return st
}

// ApprovalStepID is the name of the manual approval action before a
// production stage.
func ApprovalStepID(stage string) string { return "Approve-" + stage }

// SynthInstallCommands prepare the CodeBuild image for the synth: Go
// GoVersion unless the image's go is that one, Node.js NodeMajor unless the
// image's is that or newer (with n, which CodeBuild's standard images use for
// their Node.js versions), and the CDK CLI. CodeBuild runs a buildspec's
// commands in one shell, so the exports hold for the commands after.
func SynthInstallCommands() []string {
	return []string{
		fmt.Sprintf(`if [ "$(go env GOVERSION 2>/dev/null)" != "go%[1]s" ]; then mkdir -p /opt/go && curl -fsSL https://go.dev/dl/go%[1]s.linux-amd64.tar.gz | tar -xz -C /opt/go --strip-components=1 && export GOROOT=/opt/go PATH="/opt/go/bin:$PATH"; fi`, GoVersion),
		fmt.Sprintf(`node -e 'process.exit(+process.versions.node.split(".")[0] >= %[1]d ? 0 : 1)' 2>/dev/null || { command -v n >/dev/null || npm install -g n; n %[1]d; }`, NodeMajor),
		"go version && node --version",
		"npm install -g aws-cdk@2",
	}
}

// SynthCommands build the functions at the repository's root, as `make
// build` by hand does, and synthesize the app into infra/cdk.out.
func SynthCommands() []string {
	return []string{
		"curl -fsSL -o global-bundle.pem " + RDSCABundleURL,
		"make build RDS_CA_BUNDLE=global-bundle.pem",
		"cd infra && npx cdk synth",
	}
}

// suppressPipelineFindings records, with their reasons, the cdk-nag findings
// on the resources CDK Pipelines creates, each on one resource (by its path)
// and, for IAM5, on the exact wildcards found there.
func suppressPipelineFindings(st *PipelineStack) {
	stack := st.Stack
	p := st.Pipeline.Pipeline()
	logicalID := func(c constructs.IConstruct) string {
		return *stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
	}
	bucket := logicalID(p.ArtifactBucket())
	region, account := *stack.Region(), *stack.Account()

	// The artifact bucket and its key, as CDK grants them (grantReadWrite,
	// grantRead): S3 action groups on the objects of the one bucket (each
	// execution writes new object keys), KMS actions on the one key.
	artifactsRead := []string{"Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Resource::<" + bucket + ".Arn>/*"}
	artifactsReadWrite := append(slices.Clone(artifactsRead), "Action::s3:DeleteObject*", "Action::s3:Abort*", "Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*")
	const artifactsReason = "the pipeline's artifact bucket and its KMS key, as CDK grants them: S3 action groups on the objects of that one bucket (every execution writes new object keys) and KMS actions on that one key"
	// A CodeBuild project's own log group (a stream per build) and report
	// groups (<project>-<report>).
	projectFindings := func(project string) []string {
		return []string{
			fmt.Sprintf("Resource::arn:<AWS::Partition>:logs:%s:%s:log-group:/aws/codebuild/<%s>:*", region, account, project),
			fmt.Sprintf("Resource::arn:<AWS::Partition>:codebuild:%s:%s:report-group/<%s>-*", region, account, project),
		}
	}
	const projectReason = "; the project's own CloudWatch Logs group (a log stream per build) and its own CodeBuild report groups (named <project>-<report>)"

	suppressAt(stack, "Pipeline/Pipeline/Role/DefaultPolicy", "AwsSolutions-IAM5",
		"CodePipeline's role: "+artifactsReason, artifactsReadWrite...)
	// The source action's scope is named after the repository.
	source := stack.Node().FindChild(jsii.String("Pipeline")).Node().FindChild(jsii.String("Pipeline")).Node().FindChild(jsii.String("Source"))
	sourceAction := *(*source.Node().Children())[0].Node().Id()
	suppressAt(stack, "Pipeline/Pipeline/Source/"+sourceAction+"/CodePipelineActionRole/DefaultPolicy", "AwsSolutions-IAM5",
		"the source action's role (it also may use only the configured connection): "+artifactsReason, artifactsReadWrite...)

	synthProject := logicalID(stack.Node().FindChild(jsii.String("Pipeline")).Node().FindChild(jsii.String("Pipeline")).Node().
		FindChild(jsii.String("Build")).Node().FindChild(jsii.String("Synth")).Node().FindChild(jsii.String("CdkBuildProject")))
	suppressAt(stack, "Pipeline/Pipeline/Build/Synth/CdkBuildProject/Role/DefaultPolicy", "AwsSolutions-IAM5",
		"the synth project's role: "+artifactsReason+projectReason, append(projectFindings(synthProject), artifactsReadWrite...)...)

	selfMutation := logicalID(stack.Node().FindChild(jsii.String("Pipeline")).Node().FindChild(jsii.String("UpdatePipeline")).Node().FindChild(jsii.String("SelfMutation")))
	suppressAt(stack, "Pipeline/UpdatePipeline/SelfMutation/Role/DefaultPolicy", "AwsSolutions-IAM5",
		"the self-mutation project's role, which runs `cdk deploy` of this stack: "+artifactsReason+projectReason+
			"; sts:AssumeRole on the tooling account's roles only where the role's aws-cdk:bootstrap-role tag is deploy, file-publishing or image-publishing (the bootstrap roles, whose names depend on the bootstrap qualifier); "+
			"cloudformation:DescribeStacks and s3:ListBucket on *, with which the CDK CLI finds the bootstrap stack and its staging bucket, whose names it learns only then",
		append(append(projectFindings(selfMutation), artifactsRead...),
			"Resource::arn:*:iam::"+account+":role/*", "Resource::*", "Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*")...)

	suppressAt(stack, "Pipeline/Assets/FileRole/DefaultPolicy", "AwsSolutions-IAM5",
		"the role CDK Pipelines shares among its asset publishing projects (one per asset, added as assets appear) and their pipeline actions: "+
			"CloudWatch Logs groups /aws/codebuild/* and report groups report-group/* of the tooling account and region, and codebuild:StartBuild, BatchGetBuilds, StopBuild on *, because the projects are not known when the role is made; "+
			"read-only access to "+artifactsReason+"; it may assume only the environments' file publishing roles",
		append(artifactsRead,
			fmt.Sprintf("Resource::arn:<AWS::Partition>:logs:%s:%s:log-group:/aws/codebuild/*", region, account),
			fmt.Sprintf("Resource::arn:<AWS::Partition>:codebuild:%s:%s:report-group/*", region, account),
			"Resource::*")...)

	const bucketReason = "read and written only by the pipeline's roles and read by the environments' CDK deploy roles (bucket policy); " +
		"KMS-encrypted with a rotating key, public access blocked, TLS required. Access logs would need another bucket with the same finding; CloudTrail data events record object access where it is required"
	suppressAt(stack, "Pipeline/Pipeline/ArtifactsBucket", "AwsSolutions-S1",
		"CodePipeline's artifact store, holding each execution's source and cloud assembly: "+bucketReason)

	// An environment in another region than the pipeline's: CodePipeline
	// replicates the artifacts to a bucket in that region, which a support
	// stack (cross-region-stack-<account>:<region>) holds.
	var replicas []string
	for _, region := range slices.Sorted(maps.Keys(*p.CrossRegionSupport())) {
		support := (*p.CrossRegionSupport())[region]
		if *support.Stack.Node().Path() == *stack.Node().Path() {
			continue
		}
		b := support.ReplicationBucket
		suppressAt(support.Stack, strings.TrimPrefix(*b.Node().Path(), *support.Stack.Node().Path()+"/"), "AwsSolutions-S1",
			"CodePipeline's artifact replica for region "+region+", holding the artifacts of the actions in that region: "+bucketReason)
		name, ok := stack.Resolve(b.BucketName()).(string)
		if !ok {
			panic("stacks: the name of the replication bucket of region " + region + " does not resolve to a string")
		}
		replicas = append(replicas, "Resource::arn:<AWS::Partition>:s3:::"+name+"/*")
	}
	if len(replicas) > 0 {
		// A second suppression of the same rule on the same resource adds
		// its findings to the first's.
		suppressAt(stack, "Pipeline/Pipeline/Role/DefaultPolicy", "AwsSolutions-IAM5",
			"CodePipeline's role, for the artifact replicas of the other regions: the objects of each replica bucket (every execution writes new object keys), "+
				"and KMS actions on * because CDK grants them on the replicas' keys through aliases, whose key ARNs are not known in this stack",
			append(replicas, "Resource::*")...)
	}
}

// suppressAt records a cdk-nag suppression on the CloudFormation resource
// at path (under stack, without its Resource leaf), which must exist.
// appliesTo narrows a granular rule (IAM5) to its findings.
func suppressAt(stack awscdk.Stack, path, rule, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		at := make([]any, len(appliesTo))
		for i, a := range appliesTo {
			at[i] = a
		}
		s.AppliesTo = &at
	}
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String("/"+*stack.Node().Id()+"/"+path+"/Resource"),
		&[]*cdknag.NagPackSuppression{s}, jsii.Bool(false))
}
