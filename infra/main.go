// Command infra is rotor's CDK app. It reads the environments file and
// synthesizes one stage per environment, plus the audit stage (and, when the
// file has a pipeline, the rotor-pipeline stack that deploys them), into a
// cloud assembly. Run it through the cdk CLI (cdk.json) or alone (make synth):
//
//	ROTOR_CONFIG  the environments file (default environments.json)
//	ROTOR_DIST    the folder holding <function>/bootstrap from `make build`
//	              (default ../dist)
//	CDK_OUTDIR    where the assembly goes: set by the cdk CLI; default cdk.out
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/rotorhq/rotor/infra/config"
	"github.com/rotorhq/rotor/infra/stacks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rotor infra:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	f, err := config.Load(getenv("ROTOR_CONFIG", "environments.json"))
	if err != nil {
		return err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(getenv("CDK_OUTDIR", "cdk.out"))})
	if _, err := stacks.Build(app, f, stacks.DistCode(getenv("ROTOR_DIST", "../dist"))); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
