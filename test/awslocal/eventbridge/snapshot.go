package eventbridge

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
)

// snapshotVersion is bumped when the saved shape changes incompatibly.
const snapshotVersion = 1

type snapshot struct {
	Version int             `json:"version"`
	Scopes  []snapshotScope `json:"scopes"`
}

type snapshotScope struct {
	Account string          `json:"account"`
	Region  string          `json:"region"`
	Buses   map[string]*bus `json:"buses"`
}

// Snapshot returns the service's state as JSON: buses, their policies,
// rules and targets. Deliveries in flight are not part of it.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := snapshot{Version: snapshotVersion}
	for sc, r := range s.scopes {
		snap.Scopes = append(snap.Scopes, snapshotScope{Account: sc.account, Region: sc.region, Buses: r.buses})
	}
	slices.SortFunc(snap.Scopes, func(a, b snapshotScope) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	return json.Marshal(snap)
}

// Restore replaces the service's state with a snapshot's. A snapshot that
// does not parse, or holds a bad pattern or target, is refused and the
// state is left as it was.
func (s *Service) Restore(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("eventbridge: restore: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("eventbridge: restore: snapshot version %d, want %d", snap.Version, snapshotVersion)
	}
	scopes := map[scope]*scopeState{}
	for _, ss := range snap.Scopes {
		sc := scope{account: ss.Account, region: ss.Region}
		if ss.Buses == nil {
			ss.Buses = map[string]*bus{}
		}
		for name, b := range ss.Buses {
			if b == nil || b.Name != name {
				return fmt.Errorf("eventbridge: restore: bus %q of %s/%s is malformed", name, sc.account, sc.region)
			}
			if b.Rules == nil {
				b.Rules = map[string]*rule{}
			}
			for rname, r := range b.Rules {
				if r == nil || r.Name != rname {
					return fmt.Errorf("eventbridge: restore: rule %q on bus %q is malformed", rname, name)
				}
				if err := r.compile(); err != nil {
					return fmt.Errorf("eventbridge: restore: rule %q on bus %q: %w", rname, name, err)
				}
				for i, t := range r.Targets {
					parsed, err := parseTarget(t.Raw, i)
					if err != nil {
						return fmt.Errorf("eventbridge: restore: target %d of rule %q: %w", i, rname, err)
					}
					r.Targets[i] = parsed
				}
			}
		}
		if _, ok := ss.Buses[defaultBus]; !ok {
			now := s.clock.Now().UTC()
			ss.Buses[defaultBus] = &bus{Name: defaultBus, Created: now, Modified: now, Rules: map[string]*rule{}}
		}
		scopes[sc] = &scopeState{buses: ss.Buses}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, st := range scopes {
		for _, b := range st.buses {
			for _, r := range b.Rules {
				r.arm(now, nil)
				if r.ScheduleExpression != "" {
					s.startSchedulerLocked()
				}
			}
		}
	}
	s.scopes = scopes
	return nil
}
