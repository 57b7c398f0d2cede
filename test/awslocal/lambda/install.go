package lambda

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// The aws-lambda-rie this package runs. The emulator has no tagged releases
// in the module proxy, so it is pinned by pseudo-version; the root Makefile
// pins the same one (RIE_VERSION), and a test keeps the two equal.
const (
	RIEModule  = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// RIEEnv names the variable that points at an aws-lambda-rie executable,
// used as it is whatever its version.
const RIEEnv = "AWS_LAMBDA_RIE"

const (
	rieBinary     = "aws-lambda-rie"
	rieMainModule = "github.com/aws/aws-lambda-runtime-interface-emulator"
)

// installMu keeps parallel tests from running go install side by side.
var installMu sync.Mutex

// EnsureRIE returns the path of aws-lambda-rie: $AWS_LAMBDA_RIE when set;
// else the one on PATH, then the one in $(go env GOBIN) or
// $(go env GOPATH)/bin, when it was built from [RIEVersion]; else it runs
// `go install RIEModule@RIEVersion` into that bin directory (about 20 s
// from a cold module cache) and returns what it installed.
func EnsureRIE(ctx context.Context) (string, error) {
	if p := os.Getenv(RIEEnv); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("lambda: %s=%s is not an executable file; unset it, or run: %s", RIEEnv, p, installCommand())
		}
		return p, nil
	}
	installMu.Lock()
	defer installMu.Unlock()
	if p, err := exec.LookPath(rieBinary); err == nil && pinned(p) {
		return p, nil
	}
	bin, err := goBinDir(ctx)
	if err != nil {
		return "", fmt.Errorf("lambda: aws-lambda-rie is not on PATH and %w; run: %s", err, installCommand())
	}
	p := filepath.Join(bin, rieBinary)
	if pinned(p) {
		return p, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install", RIEModule+"@"+RIEVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambda: install aws-lambda-rie: %w\n%s\nrun: %s", err, bytes.TrimSpace(out), installCommand())
	}
	if !pinned(p) {
		return "", fmt.Errorf("lambda: go install did not leave aws-lambda-rie %s at %s; run: %s", RIEVersion, p, installCommand())
	}
	return p, nil
}

func installCommand() string {
	return "go install " + RIEModule + "@" + RIEVersion
}

// goBinDir is where go install puts binaries.
func goBinDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOBIN GOPATH failed: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 2 && lines[0] != "" {
		return lines[0], nil
	}
	if len(lines) == 2 && lines[1] != "" {
		return filepath.Join(filepath.SplitList(lines[1])[0], "bin"), nil
	}
	return "", fmt.Errorf("go env reports neither GOBIN nor GOPATH")
}

// pinned reports whether p is an aws-lambda-rie built from RIEVersion, as
// its embedded build information says.
func pinned(p string) bool {
	if !isExecutable(p) {
		return false
	}
	info, err := buildinfo.ReadFile(p)
	return err == nil && info.Main.Path == rieMainModule && info.Main.Version == RIEVersion
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}
