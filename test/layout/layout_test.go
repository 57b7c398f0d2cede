package layout

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The programs rotor ships (the Lambda functions, the operators' and the
// local stack's tools) must not link the testing package: a test helper
// reached through an import brings its flags and its weight into a binary.
func TestShippedBinariesLinkNoTesting(t *testing.T) {
	mains := goList(t, "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`,
		"github.com/rotorhq/rotor/functions/...", "github.com/rotorhq/rotor/cmd/...")
	if len(mains) == 0 {
		t.Fatal("want the shipped main packages listed, got none")
	}
	for _, main := range mains {
		if slices.Contains(goList(t, "-deps", main), "testing") {
			t.Errorf("want %s to link no testing package, it does (go list -deps -f '{{.ImportPath}}: {{.Imports}}' %s shows through what)", main, main)
		}
	}
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}
