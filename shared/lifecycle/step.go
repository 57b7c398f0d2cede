package lifecycle

import "fmt"

// Step is one of the four steps of a Secrets Manager rotation.
type Step string

// The steps, as the rotation event names them.
const (
	CreateSecret Step = "createSecret"
	SetSecret    Step = "setSecret"
	TestSecret   Step = "testSecret"
	FinishSecret Step = "finishSecret"
)

// Steps lists the steps in the order Secrets Manager runs them.
var Steps = []Step{CreateSecret, SetSecret, TestSecret, FinishSecret}

// ParseStep types the event's Step at the edge.
func ParseStep(s string) (Step, error) {
	for _, step := range Steps {
		if string(step) == s {
			return step, nil
		}
	}
	return "", &InputError{Field: "Step", Reason: fmt.Sprintf("unknown step %q; want createSecret, setSecret, testSecret or finishSecret", s)}
}
