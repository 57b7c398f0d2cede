// Package stacks turns the environments file into rotor's CDK app: a stage per
// environment, each with one stack in the environment's account and region
// ([NewEnvironmentStack]), and a stage for the security account's audit bus
// ([NewAuditStack]). [Build] wires them and runs cdk-nag on every stage; with a
// pipeline in the file, it adds the tooling account's CDK Pipelines pipeline
// ([NewPipelineStack]), which deploys those same stages.
//
// Stages, rather than stacks side by side, are CDK's unit of "one copy of the
// system in one place": each synthesizes into its own cloud assembly, can be
// deployed alone (cdk deploy 'prod/*'), and is what a CDK Pipelines wave deploys.
package stacks
