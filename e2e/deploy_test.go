package e2e

import (
	"os/exec"
	"testing"
)

// The deployment examples (deploy/) are checked in a module of their own,
// so that the Kubernetes API types they are decoded against never become
// the main module's dependencies. This runs those checks as part of the
// one test command.
func TestDeployExamples(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "test", "-count=1", "./...")
	cmd.Dir = "../deploy"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the deploy/ tests failed (cd deploy && go test ./...): %v\n%s", err, out)
	}
}
