package rotation_test

import (
	"sync"
	"testing"

	"github.com/rotorhq/rotor/rotators/postgres"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore"
)

// TestDuplicateDeliveriesAtOnce delivers every step twice at the same time,
// as an at-least-once invoker may. At least one of the two succeeds, the
// other succeeds or fails without harm, and a later delivery succeeds;
// after the rotation both credentials a consumer may hold log in.
func TestDuplicateDeliveriesAtOnce(t *testing.T) {
	for _, strategy := range []postgres.Strategy{postgres.AlternatingUsers, postgres.SingleUser} {
		t.Run(string(strategy), func(t *testing.T) {
			e := newEnv(t, strategy)
			for round := range 3 { // the first round creates the clone
				token := e.start()
				for _, step := range lifecycle.Steps {
					var wg sync.WaitGroup
					errs := make([]error, 2)
					for i := range errs {
						wg.Go(func() { errs[i] = e.step(step, token) })
					}
					wg.Wait()
					if errs[0] != nil && errs[1] != nil {
						t.Fatalf("round %d %s: want at least one of two deliveries to succeed, got %v and %v", round, step, errs[0], errs[1])
					}
					// Two createSecrets: the one whose PutSecretValue
					// comes second (ResourceExists) keeps the other's
					// value; neither is a failed rotation.
					if step == lifecycle.CreateSecret && (errs[0] != nil || errs[1] != nil) {
						t.Fatalf("round %d %s: want both deliveries to succeed, got %v and %v", round, step, errs[0], errs[1])
					}
					if err := e.step(step, token); err != nil {
						t.Fatalf("round %d %s: want a later delivery to succeed, got %v", round, step, err)
					}
				}
				if err := e.logsIn(e.mustCredential(secretstore.Current)); err != nil {
					t.Fatalf("round %d: want AWSCURRENT to log in, got %v", round, err)
				}
				if strategy == postgres.AlternatingUsers {
					if err := e.logsIn(e.mustCredential(secretstore.Previous)); err != nil {
						t.Errorf("round %d: want AWSPREVIOUS to log in, got %v", round, err)
					}
				}
			}
			e.checkNoSecretInLogs("duplicates")
		})
	}
}
