package eventbridge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/eventpattern"
)

// AWS's quotas that the emulator enforces (EventBridge quotas page; the
// default values, which AWS can raise on request).
const (
	maxBusesPerAccount = 100 // the default bus included
	maxRulesPerBus     = 300
	maxTargetsPerRule  = 5
	// maxPatternLength is the API's limit. AWS's default quota is 2048
	// characters (raised to 4096 on request); the emulator allows 4096.
	maxPatternLength = 4096
	maxDescription   = 512
)

var (
	ruleNamePattern = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)
	busNamePattern  = regexp.MustCompile(`^[/\.\-_A-Za-z0-9]+$`)
	targetIDPattern = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)
	statementIDRe   = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	principalRe     = regexp.MustCompile(`^(\d{12}|\*)$`)
	rateExpression  = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)
	cronExpression  = regexp.MustCompile(`^cron\(\S+( \S+){5}\)$`)
)

// epoch is a timestamp as awsJson sends it: seconds since the epoch.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

// ---- Event buses ----

type createEventBusInput struct {
	Name             *string
	EventSourceName  string
	Description      string
	KmsKeyIdentifier string
	DeadLetterConfig *DeadLetterConfig
}

type createEventBusOutput struct {
	EventBusArn      string
	Description      string            `json:",omitempty"`
	KmsKeyIdentifier string            `json:",omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:",omitempty"`
}

func (s *Service) createEventBus(ctx context.Context, in *createEventBusInput) (*createEventBusOutput, error) {
	if in.Name == nil {
		return nil, required("name")
	}
	name := *in.Name
	if name == "" || len(name) > 256 || !busNamePattern.MatchString(name) {
		return nil, constraint(name, "name", `Member must satisfy regular expression pattern: [/\.\-_A-Za-z0-9]+`)
	}
	if in.EventSourceName != "" {
		return nil, awsjson.ClientError(CodeResourceNotFound, "Event source %s does not exist.", in.EventSourceName)
	}
	if strings.Contains(name, "/") {
		return nil, validation("Event bus name must not contain '/'.")
	}
	if len(in.Description) > maxDescription {
		return nil, constraint(in.Description, "description", "Member must have length less than or equal to 512")
	}
	if in.DeadLetterConfig != nil && !isQueueARN(in.DeadLetterConfig.Arn) {
		return nil, validation("Parameter DeadLetterConfig.Arn is not valid. Reason: Provided Arn is not an SQS queue ARN.")
	}
	sc := callerScope(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionLocked(sc)
	if _, ok := r.buses[name]; ok {
		return nil, awsjson.ClientError(CodeResourceAlreadyExists, "Event bus %s already exists.", name)
	}
	if len(r.buses) >= maxBusesPerAccount {
		return nil, limitExceeded("event buses per account")
	}
	now := s.clock.Now().UTC()
	r.buses[name] = &bus{
		Name: name, Description: in.Description, KmsKeyIdentifier: in.KmsKeyIdentifier,
		DeadLetterConfig: in.DeadLetterConfig, Created: now, Modified: now, Rules: map[string]*rule{},
	}
	return &createEventBusOutput{
		EventBusArn: busARN(sc, name), Description: in.Description,
		KmsKeyIdentifier: in.KmsKeyIdentifier, DeadLetterConfig: in.DeadLetterConfig,
	}, nil
}

type nameInput struct {
	Name *string
}

// deleteEventBus deletes a custom bus and its rules. Deleting a bus that
// does not exist succeeds, as on AWS.
func (s *Service) deleteEventBus(ctx context.Context, in *nameInput) (*struct{}, error) {
	if in.Name == nil || *in.Name == "" {
		return nil, required("name")
	}
	sc, name := busRef(callerScope(ctx), *in.Name)
	if name == defaultBus {
		return nil, validation("Cannot delete event bus default.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.regionLocked(sc).buses, name)
	return nil, nil
}

type describeEventBusOutput struct {
	Name             string
	Arn              string
	Description      string            `json:",omitempty"`
	KmsKeyIdentifier string            `json:",omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:",omitempty"`
	Policy           string            `json:",omitempty"`
	CreationTime     epoch
	LastModifiedTime epoch
}

func (b *bus) describe(sc scope) describeEventBusOutput {
	out := describeEventBusOutput{
		Name: b.Name, Arn: busARN(sc, b.Name), Description: b.Description,
		KmsKeyIdentifier: b.KmsKeyIdentifier, DeadLetterConfig: b.DeadLetterConfig,
		CreationTime: epoch(b.Created), LastModifiedTime: epoch(b.Modified),
	}
	if b.Policy != nil {
		data, _ := json.Marshal(b.Policy)
		out.Policy = string(data)
	}
	return out
}

// busLocked finds a bus the caller manages: its own, by name or ARN.
func (s *Service) busLocked(caller scope, nameOrARN string) (*bus, scope, error) {
	sc, name := busRef(caller, nameOrARN)
	if sc != caller {
		return nil, sc, busNotFound(name)
	}
	b, ok := s.regionLocked(sc).buses[name]
	if !ok {
		return nil, sc, busNotFound(name)
	}
	return b, sc, nil
}

func (s *Service) describeEventBus(ctx context.Context, in *nameInput) (*describeEventBusOutput, error) {
	name := ""
	if in.Name != nil {
		name = *in.Name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, sc, err := s.busLocked(callerScope(ctx), name)
	if err != nil {
		return nil, err
	}
	out := b.describe(sc)
	return &out, nil
}

type listInput struct {
	NamePrefix   string
	EventBusName string
	NextToken    *string
	Limit        *int
}

type listEventBusesOutput struct {
	EventBuses []describeEventBusOutput
	NextToken  *string `json:",omitempty"`
}

func (s *Service) listEventBuses(ctx context.Context, in *listInput) (*listEventBusesOutput, error) {
	sc := callerScope(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []describeEventBusOutput
	for _, name := range slices.Sorted(maps.Keys(s.regionLocked(sc).buses)) {
		if strings.HasPrefix(name, in.NamePrefix) {
			all = append(all, s.scopes[sc].buses[name].describe(sc))
		}
	}
	items, next, err := page(all, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	return &listEventBusesOutput{EventBuses: nonNil(items), NextToken: next}, nil
}

// page cuts one page out of items. The token is the offset, opaque to
// callers as AWS's is.
func page[T any](items []T, token *string, limit *int) ([]T, *string, error) {
	n := 100
	if limit != nil {
		if *limit < 1 || *limit > 100 {
			return nil, nil, constraint(*limit, "limit", "Member must have value between 1 and 100")
		}
		n = *limit
	}
	start := 0
	if token != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*token)
		off, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "offset:") || off < 0 || off > len(items) {
			return nil, nil, validation("The NextToken provided is not valid.")
		}
		start = off
	}
	end := min(start+n, len(items))
	var next *string
	if end < len(items) {
		t := base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
		next = &t
	}
	return items[start:end], next, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ---- Permissions (the bus's resource policy) ----

// policy is a bus's resource-based policy, enough of IAM's grammar to
// decide whether another account may put events on the bus.
type policy struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string          `json:"Sid,omitempty"`
	Effect    string          `json:"Effect"`
	Principal json.RawMessage `json:"Principal,omitempty"`
	Action    json.RawMessage `json:"Action,omitempty"`
	Resource  json.RawMessage `json:"Resource,omitempty"`
	Condition json.RawMessage `json:"Condition,omitempty"`
}

type putPermissionInput struct {
	EventBusName string
	Action       string
	Principal    string
	StatementId  string
	Condition    *struct{ Type, Key, Value string }
	Policy       string
}

func (s *Service) putPermission(ctx context.Context, in *putPermissionInput) (*struct{}, error) {
	var pol *policy
	var st *statement
	if in.Policy != "" {
		pol = &policy{}
		if err := json.Unmarshal([]byte(in.Policy), pol); err != nil || len(pol.Statement) == 0 {
			return nil, validation("This policy contains invalid Json")
		}
	} else {
		if in.Principal == "" {
			return nil, validation("Parameter Principal must be specified.")
		}
		if in.Condition != nil && in.Principal != "*" {
			return nil, validation("Value of the parameter 'principal' must be '*' when the parameter 'condition' is set.")
		}
		if !principalRe.MatchString(in.Principal) {
			return nil, constraint(in.Principal, "principal", `Member must satisfy regular expression pattern: (\d{12}|\*)`)
		}
		if in.Action != "events:PutEvents" {
			return nil, validation("Provided value in parameter 'action' is not supported.")
		}
		if !statementIDRe.MatchString(in.StatementId) {
			return nil, constraint(in.StatementId, "statementId", `Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+`)
		}
		st = &statement{Sid: in.StatementId, Effect: "Allow", Action: json.RawMessage(`"events:PutEvents"`)}
		principal := in.Principal
		if principal != "*" {
			principal = `{"AWS":"arn:aws:iam::` + principal + `:root"}`
		} else {
			principal = `"*"`
		}
		st.Principal = json.RawMessage(principal)
		if in.Condition != nil {
			st.Condition, _ = json.Marshal(map[string]map[string]string{in.Condition.Type: {in.Condition.Key: in.Condition.Value}})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, sc, err := s.busLocked(callerScope(ctx), in.EventBusName)
	if err != nil {
		return nil, err
	}
	if pol != nil {
		b.Policy = pol
	} else {
		st.Resource, _ = json.Marshal(busARN(sc, b.Name))
		if b.Policy == nil {
			b.Policy = &policy{Version: "2012-10-17"}
		}
		b.Policy.Statement = slices.DeleteFunc(b.Policy.Statement, func(x statement) bool { return x.Sid == st.Sid })
		b.Policy.Statement = append(b.Policy.Statement, *st)
	}
	b.Modified = s.clock.Now().UTC()
	return nil, nil
}

type removePermissionInput struct {
	EventBusName         string
	StatementId          string
	RemoveAllPermissions bool
}

func (s *Service) removePermission(ctx context.Context, in *removePermissionInput) (*struct{}, error) {
	if !in.RemoveAllPermissions && in.StatementId == "" {
		return nil, validation("Parameter StatementId must be specified.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _, err := s.busLocked(callerScope(ctx), in.EventBusName)
	if err != nil {
		return nil, err
	}
	if in.RemoveAllPermissions {
		b.Policy = nil
		return nil, nil
	}
	if b.Policy == nil {
		return nil, awsjson.ClientError(CodeResourceNotFound, "EventBus does not have a policy.")
	}
	i := slices.IndexFunc(b.Policy.Statement, func(x statement) bool { return x.Sid == in.StatementId })
	if i < 0 {
		return nil, awsjson.ClientError(CodeResourceNotFound, "Statement with the provided id does not exist.")
	}
	b.Policy.Statement = slices.Delete(b.Policy.Statement, i, i+1)
	if len(b.Policy.Statement) == 0 {
		b.Policy = nil
	}
	b.Modified = s.clock.Now().UTC()
	return nil, nil
}

// putFacts are what a policy's conditions may ask of an event put on a
// bus: its source and detail-type (IAM's events:source and
// events:detail-type condition keys).
type putFacts struct{ source, detailType string }

// factsOf reads the facts of an event as the service built it.
func factsOf(data []byte) putFacts {
	var ev eventJSON
	_ = json.Unmarshal(data, &ev)
	return putFacts{source: ev.Source, detailType: ev.DetailType}
}

// allows reports whether the bus's policy lets account put the event
// described by f on it. An explicit Deny wins; a statement applies only
// when its Condition holds. Conditions on events:source and
// events:detail-type (StringEquals, StringLike) are evaluated, as AWS
// does; other keys are taken as met, and a principal of "*" with a
// condition (an organization) as allowing everyone, as organizations are
// not emulated.
func (p *policy) allows(account string, f putFacts) bool {
	if p == nil {
		return false
	}
	allowed := false
	for _, st := range p.Statement {
		if !actionCovers(st.Action) || !principalCovers(st.Principal, account) || !conditionHolds(st.Condition, f) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

// conditionHolds evaluates a statement's Condition block on the keys the
// service knows: every operator and key must hold. An operator other than
// StringEquals and StringLike on those keys does not hold.
func conditionHolds(raw json.RawMessage, f putFacts) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var block map[string]map[string]json.RawMessage
	if json.Unmarshal(raw, &block) != nil {
		return false
	}
	for op, keys := range block {
		for key, values := range keys {
			var got string
			switch strings.ToLower(key) {
			case "events:source":
				got = f.source
			case "events:detail-type":
				got = f.detailType
			default:
				continue
			}
			want := stringsOf(values)
			switch op {
			case "StringEquals":
				if !slices.Contains(want, got) {
					return false
				}
			case "StringLike":
				if !slices.ContainsFunc(want, func(p string) bool { return iamLike(p, got) }) {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

// iamLike matches s against an IAM StringLike pattern: * is any run of
// characters, ? any one character.
func iamLike(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if iamLike(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && iamLike(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && iamLike(pattern[1:], s[1:])
}

func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

func actionCovers(raw json.RawMessage) bool {
	for _, a := range stringsOf(raw) {
		if a == "*" || a == "events:*" || strings.EqualFold(a, "events:PutEvents") {
			return true
		}
	}
	return false
}

func principalCovers(raw json.RawMessage, account string) bool {
	if slices.Contains(stringsOf(raw), "*") {
		return true
	}
	var obj struct{ AWS json.RawMessage }
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	for _, p := range stringsOf(obj.AWS) {
		if p == "*" || p == account {
			return true
		}
		if a, ok := parseARN(p); ok && a.service == "iam" && a.account == account {
			return true
		}
	}
	return false
}

// ---- Rules ----

type putRuleInput struct {
	Name               *string
	ScheduleExpression string
	EventPattern       string
	State              string
	Description        string
	RoleArn            string
	EventBusName       string
}

type putRuleOutput struct {
	RuleArn string
}

var ruleStates = []string{"ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"}

func checkRuleName(name *string) error {
	if name == nil {
		return required("name")
	}
	if *name == "" || len(*name) > 64 || !ruleNamePattern.MatchString(*name) {
		return constraint(*name, "name", `Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`)
	}
	return nil
}

// validSchedule checks a schedule expression as [parseSchedule] does.
func validSchedule(expr string) bool {
	_, ok := parseSchedule(expr)
	return ok
}

func (s *Service) putRule(ctx context.Context, in *putRuleInput) (*putRuleOutput, error) {
	if err := checkRuleName(in.Name); err != nil {
		return nil, err
	}
	if in.EventPattern == "" && in.ScheduleExpression == "" {
		return nil, validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	state := in.State
	if state == "" {
		state = "ENABLED"
	}
	if !slices.Contains(ruleStates, state) {
		return nil, constraint(state, "state", "Member must satisfy enum value set: ["+strings.Join(ruleStates, ", ")+"]")
	}
	if len(in.Description) > maxDescription {
		return nil, constraint(in.Description, "description", "Member must have length less than or equal to 512")
	}
	if len(in.EventPattern) > maxPatternLength {
		return nil, constraint(in.EventPattern, "eventPattern", "Member must have length less than or equal to 4096")
	}
	caller := callerScope(ctx)
	if in.ScheduleExpression != "" {
		if _, name := busRef(caller, in.EventBusName); name != defaultBus {
			return nil, validation("ScheduleExpression is supported only on the default event bus.")
		}
		if !validSchedule(in.ScheduleExpression) {
			return nil, validation("Parameter ScheduleExpression is not valid.")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, sc, err := s.busLocked(caller, in.EventBusName)
	if err != nil {
		return nil, err
	}
	r := &rule{
		Name: *in.Name, EventPattern: in.EventPattern, ScheduleExpression: in.ScheduleExpression,
		State: state, Description: in.Description, RoleArn: in.RoleArn,
	}
	if err := r.compile(); err != nil {
		return nil, err
	}
	old, ok := b.Rules[r.Name]
	if ok {
		r.Targets = old.Targets
	} else if len(b.Rules) >= maxRulesPerBus {
		return nil, limitExceeded("rules per event bus")
	}
	r.arm(s.clock.Now(), old)
	b.Rules[r.Name] = r
	if r.ScheduleExpression != "" {
		s.startSchedulerLocked()
	}
	return &putRuleOutput{RuleArn: ruleARN(sc, b.Name, r.Name)}, nil
}

// compile compiles the rule's pattern, and its targets' fields.
func (r *rule) compile() error {
	r.pattern = nil
	if r.EventPattern != "" {
		p, err := eventpattern.Compile([]byte(r.EventPattern))
		if err != nil {
			return awsjson.ClientError(CodeInvalidEventPattern, "%s", err.Error())
		}
		r.pattern = p
	}
	return nil
}

type ruleInput struct {
	Name         *string
	EventBusName string
}

type ruleOutput struct {
	Name               string
	Arn                string
	EventPattern       string `json:",omitempty"`
	ScheduleExpression string `json:",omitempty"`
	State              string
	Description        string `json:",omitempty"`
	RoleArn            string `json:",omitempty"`
	EventBusName       string
	CreatedBy          string `json:",omitempty"`
}

func (r *rule) describe(sc scope, busName string) ruleOutput {
	return ruleOutput{
		Name: r.Name, Arn: ruleARN(sc, busName, r.Name), EventPattern: r.EventPattern,
		ScheduleExpression: r.ScheduleExpression, State: r.State, Description: r.Description,
		RoleArn: r.RoleArn, EventBusName: busName, CreatedBy: sc.account,
	}
}

// ruleLocked finds a rule of the caller's bus.
func (s *Service) ruleLocked(ctx context.Context, name *string, busName string) (*rule, *bus, scope, error) {
	if err := checkRuleName(name); err != nil {
		return nil, nil, scope{}, err
	}
	b, sc, err := s.busLocked(callerScope(ctx), busName)
	if err != nil {
		return nil, nil, sc, err
	}
	r, ok := b.Rules[*name]
	if !ok {
		return nil, b, sc, ruleNotFound(*name, b.Name)
	}
	return r, b, sc, nil
}

func (s *Service) describeRule(ctx context.Context, in *ruleInput) (*ruleOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, b, sc, err := s.ruleLocked(ctx, in.Name, in.EventBusName)
	if err != nil {
		return nil, err
	}
	out := r.describe(sc, b.Name)
	return &out, nil
}

type listRulesOutput struct {
	Rules     []ruleOutput
	NextToken *string `json:",omitempty"`
}

func (s *Service) listRules(ctx context.Context, in *listInput) (*listRulesOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, sc, err := s.busLocked(callerScope(ctx), in.EventBusName)
	if err != nil {
		return nil, err
	}
	var all []ruleOutput
	for _, name := range slices.Sorted(maps.Keys(b.Rules)) {
		if strings.HasPrefix(name, in.NamePrefix) {
			all = append(all, b.Rules[name].describe(sc, b.Name))
		}
	}
	items, next, err := page(all, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	return &listRulesOutput{Rules: nonNil(items), NextToken: next}, nil
}

type deleteRuleInput struct {
	Name         *string
	EventBusName string
	Force        bool
}

// deleteRule refuses a rule that still has targets, as AWS does: remove
// them first. Deleting a rule that does not exist succeeds.
func (s *Service) deleteRule(ctx context.Context, in *deleteRuleInput) (*struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, b, _, err := s.ruleLocked(ctx, in.Name, in.EventBusName)
	var ae *awsjson.Error
	switch {
	case err != nil && b != nil && errors.As(err, &ae) && ae.Code == CodeResourceNotFound:
		return nil, nil
	case err != nil:
		return nil, err
	case len(r.Targets) > 0:
		return nil, validation("Rule can't be deleted since it has targets.")
	}
	delete(b.Rules, r.Name)
	return nil, nil
}

func (s *Service) enableRule(ctx context.Context, in *ruleInput) (*struct{}, error) {
	return nil, s.setState(ctx, in, "ENABLED")
}

func (s *Service) disableRule(ctx context.Context, in *ruleInput) (*struct{}, error) {
	return nil, s.setState(ctx, in, "DISABLED")
}

func (s *Service) setState(ctx context.Context, in *ruleInput, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, _, _, err := s.ruleLocked(ctx, in.Name, in.EventBusName)
	if err != nil {
		return err
	}
	r.State = state
	return nil
}

// ---- Targets ----

type putTargetsInput struct {
	Rule         *string
	EventBusName string
	Targets      []json.RawMessage
}

type targetFailure struct {
	TargetId     string
	ErrorCode    string
	ErrorMessage string
}

type targetsOutput struct {
	FailedEntryCount int
	FailedEntries    []targetFailure
}

func (s *Service) putTargets(ctx context.Context, in *putTargetsInput) (*targetsOutput, error) {
	if in.Rule == nil {
		return nil, required("rule")
	}
	if in.Targets == nil {
		return nil, required("targets")
	}
	if len(in.Targets) == 0 || len(in.Targets) > 100 {
		return nil, constraint("[...]", "targets", "Member must have length between 1 and 100")
	}
	var parsed []*target
	for i, raw := range in.Targets {
		t, err := parseTarget(raw, i)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, t)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in.Rule = ruleNameFrom(in.Rule)
	r, b, sc, err := s.ruleLocked(ctx, in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	out := &targetsOutput{FailedEntries: []targetFailure{}}
	var accepted []*target
	for _, t := range parsed {
		if msg := t.entryProblem(busARN(sc, b.Name)); msg != "" {
			out.FailedEntries = append(out.FailedEntries, targetFailure{TargetId: t.spec.Id, ErrorCode: CodeValidation, ErrorMessage: msg})
			continue
		}
		accepted = append(accepted, t)
	}
	next := slices.Clone(r.Targets)
	for _, t := range accepted {
		if i := slices.IndexFunc(next, func(x *target) bool { return x.spec.Id == t.spec.Id }); i >= 0 {
			next[i] = t
		} else {
			next = append(next, t)
		}
	}
	if len(next) > maxTargetsPerRule {
		return nil, limitExceeded("targets per rule")
	}
	r.Targets = next
	out.FailedEntryCount = len(out.FailedEntries)
	return out, nil
}

// ruleNameFrom accepts a rule named by its ARN as well as by its name, as
// the SDKs' documentation allows for Rule.
func ruleNameFrom(name *string) *string {
	if a, ok := parseARN(*name); ok && a.service == "events" && strings.HasPrefix(a.resource, "rule/") {
		n := a.resource[strings.LastIndex(a.resource, "/")+1:]
		return &n
	}
	return name
}

// parseTarget decodes and checks one target of PutTargets: the checks a
// whole request fails on, as AWS's model validation does.
func parseTarget(raw json.RawMessage, i int) (*target, error) {
	t := &target{}
	if err := json.Unmarshal(raw, &t.spec); err != nil {
		return nil, awsjson.ClientError("SerializationException", "Target %d is not a valid Target structure", i)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, awsjson.ClientError("SerializationException", "Target %d is not valid JSON", i)
	}
	t.Raw = compact.Bytes()
	sp := &t.spec
	member := "targets." + strconv.Itoa(i+1)
	switch {
	case sp.Id == "":
		return nil, required(member + ".member.id")
	case len(sp.Id) > 64 || !targetIDPattern.MatchString(sp.Id):
		return nil, constraint(sp.Id, member+".member.id", `Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`)
	case sp.Arn == "":
		return nil, required(member + ".member.arn")
	}
	if _, ok := parseARN(sp.Arn); !ok || len(sp.Arn) > 1600 {
		return nil, validation("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", sp.Arn)
	}
	n := 0
	for _, set := range []bool{sp.Input != nil, sp.InputPath != nil, sp.InputTransformer != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, validation("Only one of Input, InputPath, or InputTransformer must be provided for target %s.", sp.Id)
	}
	if sp.Input != nil && !json.Valid([]byte(*sp.Input)) {
		return nil, validation("Parameter Input is not valid. Reason: Input must be valid JSON text.")
	}
	if sp.InputPath != nil {
		if _, err := parsePath(*sp.InputPath); err != nil {
			return nil, validation("Parameter InputPath is not valid. Reason: %v", err)
		}
	}
	if it := sp.InputTransformer; it != nil {
		if it.InputTemplate == nil {
			return nil, required(member + ".member.inputTransformer.inputTemplate")
		}
		if len(it.InputPathsMap) > 100 {
			return nil, validation("InputPathsMap can have at most 100 entries.")
		}
		for k, p := range it.InputPathsMap {
			if !inputKey.MatchString(k) || strings.HasPrefix(k, "aws.") {
				return nil, validation("Parameter InputPathsMap is not valid. Reason: key %q is not allowed.", k)
			}
			if _, err := parsePath(p); err != nil {
				return nil, validation("Parameter InputPathsMap is not valid. Reason: %s: %v", k, err)
			}
		}
	}
	if rp := sp.RetryPolicy; rp != nil {
		if v := rp.MaximumRetryAttempts; v != nil && (*v < 0 || *v > 185) {
			return nil, constraint(*v, member+".member.retryPolicy.maximumRetryAttempts", "Member must have value between 0 and 185")
		}
		if v := rp.MaximumEventAgeInSeconds; v != nil && (*v < 60 || *v > 86400) {
			return nil, constraint(*v, member+".member.retryPolicy.maximumEventAgeInSeconds", "Member must have value between 60 and 86400")
		}
	}
	if a, _ := parseARN(sp.Arn); a.service == "sqs" && strings.HasSuffix(a.resource, ".fifo") &&
		(sp.SqsParameters == nil || sp.SqsParameters.MessageGroupId == "") {
		return nil, validation("Parameter(s) SqsParameters must be specified for target: %s.", sp.Id)
	}
	return t, nil
}

var inputKey = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)

// entryProblem is a reason to refuse this one target while accepting the
// others of the request (PutTargets' FailedEntries), or "".
func (t *target) entryProblem(ownBus string) string {
	if dlq := t.spec.DeadLetterConfig; dlq != nil && !isQueueARN(dlq.Arn) {
		return "Parameter DeadLetterConfig.Arn is not valid. Reason: it is not an SQS queue ARN."
	}
	if t.spec.Arn == ownBus {
		return "Parameter Arn is not valid. Reason: a rule cannot target its own event bus."
	}
	return ""
}

func isQueueARN(s string) bool {
	a, ok := parseARN(s)
	return ok && a.service == "sqs" && a.account != "" && a.region != "" && !strings.Contains(a.resource, "/")
}

type removeTargetsInput struct {
	Rule         *string
	EventBusName string
	Ids          []string
	Force        bool
}

func (s *Service) removeTargets(ctx context.Context, in *removeTargetsInput) (*targetsOutput, error) {
	if in.Rule == nil {
		return nil, required("rule")
	}
	if in.Ids == nil {
		return nil, required("ids")
	}
	if len(in.Ids) == 0 || len(in.Ids) > 100 {
		return nil, constraint("[...]", "ids", "Member must have length between 1 and 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, _, _, err := s.ruleLocked(ctx, ruleNameFrom(in.Rule), in.EventBusName)
	if err != nil {
		return nil, err
	}
	r.Targets = slices.DeleteFunc(slices.Clone(r.Targets), func(t *target) bool { return slices.Contains(in.Ids, t.spec.Id) })
	return &targetsOutput{FailedEntries: []targetFailure{}}, nil
}

type listTargetsInput struct {
	Rule         *string
	EventBusName string
	NextToken    *string
	Limit        *int
}

type listTargetsOutput struct {
	Targets   []json.RawMessage
	NextToken *string `json:",omitempty"`
}

func (s *Service) listTargetsByRule(ctx context.Context, in *listTargetsInput) (*listTargetsOutput, error) {
	if in.Rule == nil {
		return nil, required("rule")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, _, _, err := s.ruleLocked(ctx, ruleNameFrom(in.Rule), in.EventBusName)
	if err != nil {
		return nil, err
	}
	var all []json.RawMessage
	for _, t := range r.Targets {
		all = append(all, t.Raw)
	}
	items, next, err := page(all, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	return &listTargetsOutput{Targets: nonNil(items), NextToken: next}, nil
}

type listRuleNamesInput struct {
	TargetArn    *string
	EventBusName string
	NextToken    *string
	Limit        *int
}

type listRuleNamesOutput struct {
	RuleNames []string
	NextToken *string `json:",omitempty"`
}

func (s *Service) listRuleNamesByTarget(ctx context.Context, in *listRuleNamesInput) (*listRuleNamesOutput, error) {
	if in.TargetArn == nil || *in.TargetArn == "" {
		return nil, required("targetArn")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _, err := s.busLocked(callerScope(ctx), in.EventBusName)
	if err != nil {
		return nil, err
	}
	var all []string
	for _, name := range slices.Sorted(maps.Keys(b.Rules)) {
		if slices.ContainsFunc(b.Rules[name].Targets, func(t *target) bool { return t.spec.Arn == *in.TargetArn }) {
			all = append(all, name)
		}
	}
	items, next, err := page(all, in.NextToken, in.Limit)
	if err != nil {
		return nil, err
	}
	return &listRuleNamesOutput{RuleNames: nonNil(items), NextToken: next}, nil
}

// ---- TestEventPattern ----

type testEventPatternInput struct {
	EventPattern *string
	Event        *string
}

type testEventPatternOutput struct {
	Result bool
}

// The fields TestEventPattern requires of its event, as its API reference
// lists them.
var testEventFields = []string{"id", "account", "source", "time", "region", "resources", "detail-type"}

func (s *Service) testEventPattern(_ context.Context, in *testEventPatternInput) (*testEventPatternOutput, error) {
	if in.EventPattern == nil {
		return nil, required("eventPattern")
	}
	if in.Event == nil {
		return nil, required("event")
	}
	if len(*in.EventPattern) > maxPatternLength {
		return nil, constraint(*in.EventPattern, "eventPattern", "Member must have length less than or equal to 4096")
	}
	p, err := eventpattern.Compile([]byte(*in.EventPattern))
	if err != nil {
		return nil, awsjson.ClientError(CodeInvalidEventPattern, "%s", err.Error())
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*in.Event), &fields); err != nil || fields == nil {
		return nil, validation("Parameter Event is not valid.")
	}
	for _, f := range testEventFields {
		if _, ok := fields[f]; !ok {
			return nil, validation("Parameter Event is not valid.")
		}
	}
	return &testEventPatternOutput{Result: p.Match([]byte(*in.Event))}, nil
}
