package rotatortest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/rotators"
	"github.com/rotorhq/rotor/shared/password"
)

// Harness is what the suite needs of one rotator and its target system.
type Harness struct {
	// Rotator under test.
	Rotator rotators.Rotator
	// Current is a valid current secret whose credential logs in. The suite
	// rotates it twice; use one Harness per Run.
	Current []byte
	// SecretID names the secret in requests; default "rotatortest".
	SecretID string
	// Secrets reads other secrets, such as the master secret.
	Secrets rotators.SecretReader
	// CanLogin reports whether the credential of a secret logs in to the
	// target; nil error means it does.
	CanLogin func(ctx context.Context, secret []byte) error
	// State, optional, returns the target's state as far as the rotator
	// touches it (users, password verifiers, memberships). The suite checks
	// that Create and Test leave it unchanged and that a second Set leaves
	// what the first one did.
	State func(ctx context.Context) ([]byte, error)
	// NewPassword, optional, generates a password; default: 32 characters
	// of Info().PasswordChars.
	NewPassword func() (string, error)
	// Timeout bounds the whole run; default 2 minutes.
	Timeout time.Duration
	// CanUse, optional, reports whether the credential of a secret can do
	// what the application does on the target (read and write the objects
	// it owns and those granted to it); nil error means it can. The suite
	// checks it for the current secret before each rotation and for the
	// pending secret after each Set: a pending credential that logs in but
	// cannot use what the current one uses breaks the application at
	// finishSecret.
	CanUse func(ctx context.Context, secret []byte) error

	// The suite runs the configuration test ([rotators.Rotator]'s
	// TestConfiguration) before and after the first rotation; when the
	// rotator is a [rotators.Undoer], it first rotates up to Set, undoes
	// that rotation and checks the Undoer contract.
	//
	// Deactivator, optional, is the rotator's [rotators.Deactivator]. When
	// set, the suite deactivates the previous credential after each
	// rotation (as the deactivation gate does once AWSCURRENT has moved)
	// and checks the contract: the previous credential no longer logs in,
	// the current one still does, a second call changes nothing and says
	// so, a request whose previous and current name the same principal
	// changes nothing, and the next rotation's Set makes the deactivated
	// principal log in again with its new credential.
	Deactivator rotators.Deactivator
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Rotator == nil || h.Current == nil || h.CanLogin == nil {
		t.Fatal("rotatortest: Harness needs Rotator, Current and CanLogin")
	}
	if h.SecretID == "" {
		h.SecretID = "rotatortest"
	}
	if h.Timeout == 0 {
		h.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	s := &suite{t: t, h: h, ctx: ctx}
	s.run()
}

type suite struct {
	t         *testing.T
	h         Harness
	ctx       context.Context
	info      rotators.Info
	passwords []string
}

func (s *suite) run() {
	t := s.t
	s.info = s.h.Rotator.Info()
	if s.info.Type == "" || s.info.Strategy == "" || s.info.PasswordChars == "" {
		t.Fatalf("want Info with Type, Strategy and PasswordChars, got %+v", s.info)
	}
	if err := s.h.CanLogin(s.ctx, s.h.Current); err != nil {
		t.Fatalf("harness: want the current secret to log in before the run, got %v", err)
	}

	s.configTest("before any rotation", s.h.Current)
	s.undo(s.h.Current)
	first := s.rotate("rotation 1", s.h.Current)
	s.configTest("after rotation 1", first)
	s.deactivate("rotation 1", first, s.h.Current)
	// The second rotation starts from the first one's pending secret, as
	// after finishSecret; with alternating users it goes back to the first
	// user, which rotation 1's deactivation locked: its Set must make it
	// log in again.
	second := s.rotate("rotation 2", first)
	s.deactivate("rotation 2", second, first)
}

// configTest checks the TestConfiguration contract: it passes for a
// secret whose credential logs in, twice, and changes nothing.
func (s *suite) configTest(name string, current []byte) {
	s.t.Helper()
	name += ": TestConfiguration"
	before := s.state(name)
	req := rotators.ConfigTestRequest{SecretID: s.h.SecretID, Current: current, Secrets: s.h.Secrets}
	for range 2 {
		_, err := s.h.Rotator.TestConfiguration(s.ctx, req)
		s.noError(name, err)
	}
	s.sameState(name, before)
	if err := s.h.CanLogin(s.ctx, current); err != nil {
		s.t.Fatalf("%s: want the current secret to keep working, got %v", name, s.scrub(err))
	}
}

// undo checks the Undoer contract, when the rotator is one: a pending
// secret dropped after Set stops working, the current one works, a second
// Undo changes nothing, and an Undo of a pending secret that Set never
// acted on changes nothing either. The rotation that follows must work
// from the current secret as if nothing had happened.
func (s *suite) undo(current []byte) {
	t := s.t
	t.Helper()
	u, ok := s.h.Rotator.(rotators.Undoer)
	if !ok {
		return
	}
	const name = "dropped rotation: Undo"
	create := rotators.CreateRequest{SecretID: s.h.SecretID, Current: current, Password: s.newPassword(), Secrets: s.h.Secrets}
	resp, err := s.h.Rotator.Create(s.ctx, create)
	s.noError(name+": Create", err)
	pending := resp.Pending
	undo := rotators.UndoRequest{SecretID: s.h.SecretID, Current: current, Pending: pending, Secrets: s.h.Secrets}

	before := s.state(name + " before Set")
	got, err := u.Undo(s.ctx, undo)
	s.noError(name+" before Set", err)
	if got.Undone {
		t.Errorf("%s before Set: want Undone false (nothing to undo), got true", name)
	}
	s.sameState(name+" before Set", before)

	_, err = s.h.Rotator.Set(s.ctx, rotators.SetRequest{SecretID: s.h.SecretID, Current: current, Pending: pending, Secrets: s.h.Secrets})
	s.noError(name+": Set", err)
	got, err = u.Undo(s.ctx, undo)
	s.noError(name, err)
	if !got.Undone {
		t.Errorf("%s after Set: want Undone true, got false", name)
	}
	if err := s.h.CanLogin(s.ctx, current); err != nil {
		t.Fatalf("%s: want the current secret to log in, got %v", name, s.scrub(err))
	}
	if err := s.h.CanLogin(s.ctx, pending); err == nil {
		t.Errorf("%s: want the dropped pending secret not to log in, got a login", name)
	} else {
		s.checkError(name+": login with the dropped secret", err)
	}
	after := s.state(name)
	got, err = u.Undo(s.ctx, undo)
	s.noError(name+" again", err)
	if got.Undone {
		t.Errorf("%s again: want Undone false, got true", name)
	}
	s.sameState(name+" again", after)
}

// deactivate checks the Deactivator contract once current has become
// AWSCURRENT and previous AWSPREVIOUS.
func (s *suite) deactivate(name string, current, previous []byte) {
	t := s.t
	t.Helper()
	d := s.h.Deactivator
	if d == nil {
		return
	}
	name += ": Deactivate"
	before := s.state(name + " before")
	// A Recheck that refuses (the staging state changed since the caller
	// decided) revokes nothing.
	refused := errors.New("rotatortest: recheck refused")
	req := rotators.DeactivateRequest{SecretID: s.h.SecretID, Current: current, Previous: previous, Secrets: s.h.Secrets,
		Recheck: func(context.Context) error { return refused }, AllowInUse: true}
	if _, err := d.Deactivate(s.ctx, req); err == nil {
		t.Errorf("%s with a refusing Recheck: want its error, got none", name)
	} else if !errors.Is(err, refused) {
		t.Errorf("%s with a refusing Recheck: want its error, got %v", name, s.scrub(err))
	}
	s.sameState(name+" with a refusing Recheck", before)
	if err := s.h.CanLogin(s.ctx, previous); err != nil {
		t.Errorf("%s with a refusing Recheck: want the previous secret to keep working, got %v", name, s.scrub(err))
	}
	// Sessions of the previous credential are the target's evidence, not
	// the contract's business here: the suite allows revoking in use.
	rechecks := 0
	req.Recheck = func(context.Context) error { rechecks++; return nil }
	resp, err := d.Deactivate(s.ctx, req)
	if rechecks == 0 {
		t.Errorf("%s: want Recheck called before the revocation, got no call", name)
	}
	s.noError(name, err)
	if resp.Outcome != rotators.Deactivated {
		t.Errorf("%s: want outcome %q, got %q", name, rotators.Deactivated, resp.Outcome)
	}
	if err := s.h.CanLogin(s.ctx, previous); err == nil {
		t.Errorf("%s: want the previous secret not to log in, got a login", name)
	} else {
		s.checkError(name+": login with the previous secret", err)
	}
	if err := s.h.CanLogin(s.ctx, current); err != nil {
		t.Fatalf("%s: want the current secret to keep working, got %v", name, s.scrub(err))
	}
	after := s.state(name)

	resp, err = d.Deactivate(s.ctx, req)
	s.noError(name+" again", err)
	if resp.Outcome != rotators.AlreadyInactive {
		t.Errorf("%s again: want outcome %q, got %q", name, rotators.AlreadyInactive, resp.Outcome)
	}
	s.sameState(name+" again", after)

	same := rotators.DeactivateRequest{SecretID: s.h.SecretID, Current: current, Previous: current, Secrets: s.h.Secrets, AllowInUse: true}
	resp, err = d.Deactivate(s.ctx, same)
	s.noError(name+" with previous = current", err)
	if resp.Outcome != rotators.NothingToRevoke {
		t.Errorf("%s with previous = current: want outcome %q, got %q", name, rotators.NothingToRevoke, resp.Outcome)
	}
	s.sameState(name+" with previous = current", after)
	if err := s.h.CanLogin(s.ctx, current); err != nil {
		t.Fatalf("%s with previous = current: want the current secret to keep working, got %v", name, s.scrub(err))
	}
}

// rotate runs Create, Test (must fail), Set, Set, Test from current and
// returns the pending secret.
func (s *suite) rotate(name string, current []byte) []byte {
	t := s.t
	t.Helper()
	pw := s.newPassword()
	other := s.newPassword()

	s.canUse(name+": before Create, the current secret", current)
	before := s.state(name + ": before Create")
	create := rotators.CreateRequest{SecretID: s.h.SecretID, Current: current, Password: pw, Secrets: s.h.Secrets}
	resp, err := s.h.Rotator.Create(s.ctx, create)
	s.noError(name+": Create", err)
	pending := resp.Pending
	if len(pending) == 0 {
		t.Fatalf("%s: Create: want a pending secret, got none", name)
	}
	again, err := s.h.Rotator.Create(s.ctx, create)
	s.noError(name+": second Create", err)
	if !bytes.Equal(again.Pending, pending) {
		t.Errorf("%s: Create twice with one password: want the same pending secret, got two different ones", name)
	}
	create.Password = other
	otherResp, err := s.h.Rotator.Create(s.ctx, create)
	s.noError(name+": Create with another password", err)
	if bytes.Equal(otherResp.Pending, pending) {
		t.Errorf("%s: Create with another password: want another pending secret, got the same", name)
	}
	s.sameState(name+": Create", before)
	if err := s.h.CanLogin(s.ctx, current); err != nil {
		t.Fatalf("%s: after Create: want the current secret to log in, got %v", name, s.scrub(err))
	}
	if err := s.h.CanLogin(s.ctx, pending); err == nil {
		t.Fatalf("%s: after Create: want the pending secret not to log in before Set, got a login", name)
	}

	test := rotators.TestRequest{SecretID: s.h.SecretID, Current: current, Pending: pending, Secrets: s.h.Secrets}
	_, err = s.h.Rotator.Test(s.ctx, test)
	if err == nil {
		t.Fatalf("%s: Test before Set: want an error, got none", name)
	}
	s.checkError(name+": Test before Set", err)
	s.sameState(name+": Test before Set", before)

	set := rotators.SetRequest{SecretID: s.h.SecretID, Current: current, Pending: pending, Secrets: s.h.Secrets}
	_, err = s.h.Rotator.Set(s.ctx, set)
	s.noError(name+": Set", err)
	if err := s.h.CanLogin(s.ctx, pending); err != nil {
		t.Fatalf("%s: after Set: want the pending secret to log in, got %v", name, s.scrub(err))
	}
	singleUser := s.info.Strategy == "single-user"
	if err := s.h.CanLogin(s.ctx, current); !singleUser && err != nil {
		t.Errorf("%s: after Set: want the current secret to keep working (%s), got %v", name, s.info.Strategy, s.scrub(err))
	}
	s.canUse(name+": after Set, the pending secret", pending)
	if !singleUser {
		s.canUse(name+": after Set, the current secret", current)
	}
	afterSet := s.state(name + ": after Set")

	_, err = s.h.Rotator.Set(s.ctx, set)
	s.noError(name+": second Set", err)
	s.sameState(name+": second Set", afterSet)
	if err := s.h.CanLogin(s.ctx, pending); err != nil {
		t.Fatalf("%s: after the second Set: want the pending secret to log in, got %v", name, s.scrub(err))
	}

	_, err = s.h.Rotator.Test(s.ctx, test)
	s.noError(name+": Test after Set", err)
	s.sameState(name+": Test after Set", afterSet)
	return pending
}

func (s *suite) canUse(what string, secret []byte) {
	s.t.Helper()
	if s.h.CanUse == nil {
		return
	}
	if err := s.h.CanUse(s.ctx, secret); err != nil {
		s.t.Fatalf("%s: want it to use what the application uses, got %v", what, s.scrub(err))
	}
}

func (s *suite) newPassword() string {
	s.t.Helper()
	var pw string
	var err error
	if s.h.NewPassword != nil {
		pw, err = s.h.NewPassword()
	} else {
		length := 32
		if m := s.info.MaxPasswordLength; m > 0 && m < length {
			length = m
		}
		pw, err = password.Generate(password.Spec{Length: length, Allowed: s.info.PasswordChars, RequireEachClass: true})
	}
	if err != nil {
		s.t.Fatalf("rotatortest: new password: %v", err)
	}
	s.passwords = append(s.passwords, pw)
	return pw
}

func (s *suite) state(what string) []byte {
	s.t.Helper()
	if s.h.State == nil {
		return nil
	}
	st, err := s.h.State(s.ctx)
	if err != nil {
		s.t.Fatalf("%s: harness State: %v", what, err)
	}
	return st
}

func (s *suite) sameState(what string, want []byte) {
	s.t.Helper()
	if s.h.State == nil {
		return
	}
	if got := s.state(what); !bytes.Equal(got, want) {
		s.t.Errorf("%s: want the target unchanged, got\n--- before\n%s\n--- after\n%s", what, want, got)
	}
}

func (s *suite) noError(what string, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("%s: want no error, got %v", what, s.scrub(err))
	}
}

// checkError fails when an error's text holds a password.
func (s *suite) checkError(what string, err error) {
	s.t.Helper()
	msg := err.Error()
	for _, pw := range s.passwords {
		if strings.Contains(msg, pw) {
			s.t.Errorf("%s: want an error without the password, got one with it", what)
		}
	}
}

// scrub keeps a password out of the test log even when a rotator leaks it.
func (s *suite) scrub(err error) string {
	msg := err.Error()
	for _, pw := range s.passwords {
		if strings.Contains(msg, pw) {
			s.t.Errorf("want an error without the password, got one with it")
			msg = strings.ReplaceAll(msg, pw, "[PASSWORD]")
		}
	}
	return msg
}
