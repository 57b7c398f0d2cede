package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSynth runs the app as `make synth` does, on the config package's test
// file and a placeholder function, and checks the cloud assembly it writes.
func TestSynth(t *testing.T) {
	dist := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dist, "postgres"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "postgres", "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	t.Setenv("ROTOR_CONFIG", "config/testdata/valid.json")
	t.Setenv("ROTOR_DIST", dist)
	t.Setenv("CDK_OUTDIR", out)
	if err := run(); err != nil {
		t.Fatal(err)
	}
	for _, stage := range []string{"audit", "dev", "staging", "prod"} {
		templates, _ := filepath.Glob(filepath.Join(out, "assembly-"+stage, "*.template.json"))
		if len(templates) != 1 {
			t.Errorf("stage %s: want one template, got %v", stage, templates)
		}
		reports, _ := filepath.Glob(filepath.Join(out, "AwsSolutions-"+stage+"-*NagReport.csv"))
		if len(reports) != 1 {
			t.Fatalf("stage %s: want one cdk-nag report, got %v", stage, reports)
		}
		data, err := os.ReadFile(reports[0])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), `"Non-Compliant"`) {
			t.Errorf("stage %s: want no non-compliant cdk-nag finding, got:\n%s", stage, data)
		}
	}
	// The pipeline stack (the file has a pipeline), at the assembly's top,
	// where `cdk deploy rotor-pipeline` finds it.
	if _, err := os.Stat(filepath.Join(out, "rotor-pipeline.template.json")); err != nil {
		t.Errorf("want the pipeline stack's template: %v", err)
	}
	reports, _ := filepath.Glob(filepath.Join(out, "AwsSolutions-*rotor-pipeline-NagReport.csv"))
	if len(reports) != 1 {
		t.Fatalf("pipeline: want one cdk-nag report, got %v", reports)
	}
	if data, err := os.ReadFile(reports[0]); err != nil || strings.Contains(string(data), `"Non-Compliant"`) {
		t.Errorf("pipeline: want no non-compliant cdk-nag finding, got %v:\n%s", err, data)
	}
	// The function's code is staged into the assembly.
	assets, _ := filepath.Glob(filepath.Join(out, "asset.*", "bootstrap"))
	if len(assets) == 0 {
		t.Error("want the function's bootstrap staged as an asset, got none")
	}
}

func TestSynthWithoutBuild(t *testing.T) {
	t.Setenv("ROTOR_CONFIG", "config/testdata/valid.json")
	t.Setenv("ROTOR_DIST", filepath.Join(t.TempDir(), "dist"))
	t.Setenv("CDK_OUTDIR", t.TempDir())
	err := run()
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("want an error telling to run make build, got %v", err)
	}
}
