package lambda

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMakefilePinsRIEVersion: `make` installs the aws-lambda-rie this
// package expects, so that a machine set up by make does not install a
// second one at test time.
func TestMakefilePinsRIEVersion(t *testing.T) {
	data, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RIE_VERSION\s*[:?]?=\s*(\S+)\s*$`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("want a line RIE_VERSION := %s in the Makefile, got none", RIEVersion)
	}
	if got := string(m[1]); got != RIEVersion {
		t.Errorf("want the Makefile's RIE_VERSION %s (lambda.RIEVersion), got %s", RIEVersion, got)
	}
	if m := regexp.MustCompile(`(?m)^RIE_MODULE\s*[:?]?=\s*(\S+)\s*$`).FindSubmatch(data); m != nil && string(m[1]) != RIEModule {
		t.Errorf("want the Makefile's RIE_MODULE %s (lambda.RIEModule), got %s", RIEModule, m[1])
	}
}

func TestEnsureRIE(t *testing.T) {
	p := rieTB(t)
	if !pinned(p) {
		t.Errorf("want %s built from %s@%s", p, RIEModule, RIEVersion)
	}

	t.Run("AWS_LAMBDA_RIE wins", func(t *testing.T) {
		t.Setenv(RIEEnv, p)
		got, err := EnsureRIE(t.Context())
		if err != nil || got != p {
			t.Errorf("want %s, got %q, %v", p, got, err)
		}
	})

	t.Run("AWS_LAMBDA_RIE that is not a program", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "aws-lambda-rie")
		if err := os.WriteFile(bad, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv(RIEEnv, bad)
		_, err := EnsureRIE(t.Context())
		if err == nil || !strings.Contains(err.Error(), "go install "+RIEModule+"@"+RIEVersion) {
			t.Errorf("want an error that says what to run, got %v", err)
		}
	})

	t.Run("installs into GOBIN when it is nowhere", func(t *testing.T) {
		// PATH as it is (the same cgo setting keeps the build cache warm),
		// less any directory with an aws-lambda-rie.
		var path []string
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			if !isExecutable(filepath.Join(dir, "aws-lambda-rie")) {
				path = append(path, dir)
			}
		}
		gobin := t.TempDir()
		t.Setenv("GOBIN", gobin)
		t.Setenv("PATH", strings.Join(path, string(os.PathListSeparator)))
		start := time.Now()
		got, err := EnsureRIE(t.Context())
		t.Logf("go install took %s", time.Since(start))
		if want := filepath.Join(gobin, "aws-lambda-rie"); err != nil || got != want || !pinned(got) {
			t.Errorf("want %s installed, got %q, %v", want, got, err)
		}
	})

	t.Run("an aws-lambda-rie of another version on PATH is passed over", func(t *testing.T) {
		dir := t.TempDir()
		// Any Go program other than aws-lambda-rie@RIEVersion will do.
		other := bootstrap(t, "./testdata/echo")
		data, err := os.ReadFile(other)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "aws-lambda-rie"), data, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		got, err := EnsureRIE(t.Context())
		if err != nil || got == filepath.Join(dir, "aws-lambda-rie") || !pinned(got) {
			t.Errorf("want the pinned aws-lambda-rie, got %q, %v", got, err)
		}
	})
}
