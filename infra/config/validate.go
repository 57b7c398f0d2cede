package config

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults, applied after validation.
const (
	DefaultAuditBusName        = "rotor-audit"
	DefaultAuditRetentionDays  = 3653
	DefaultEventArchiveDays    = 30
	DefaultStrategy            = "alternating-users"
	DefaultPasswordLength      = 32
	DefaultPasswordSource      = "local"
	DefaultLogLevel            = "info"
	DefaultLogRetentionDays    = 90
	DefaultReservedConcurrency = 5
	DefaultTimeoutSeconds      = 30
	DefaultWindowHours         = 2
	DefaultPostgresPort        = 5432
	DefaultConsumerBusName     = "default"
	DefaultPipelineBranch      = "main"
	DefaultGracePeriod         = "24h"
)

// The deactivation gate's grace period: longer than the longest consumer
// cache lifetime (AWS's Secrets Manager agent caches 300 s, rotor's consumer
// cache 5 min + 10%: 330 s, the function's own check,
// shared/deactivation.LongestCacheLifetime), at most a month. Past it the
// gate revokes a credential still in use, so a shorter one would revoke a
// credential a correctly working consumer has had no chance to replace.
const (
	LongestCacheLifetime = 330 * time.Second
	MaxGracePeriod       = 720 * time.Hour
)

// MaxGateSecretsLength bounds the names of one rotator's secrets, joined by
// commas: they are the function's ROTOR_GATE_SECRETS, and Lambda allows 4 KB
// for all of a function's environment (rotor.MaxGateSecretsLength).
const MaxGateSecretsLength = 2048

// FingerprintKeyName is the name of an environment's fingerprint key secret.
func FingerprintKeyName(environment string) string {
	return "rotor/" + environment + "/fingerprint-key"
}

// RetentionDays are the values CloudWatch Logs accepts for a log group's
// retention.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var (
	reAccount       = regexp.MustCompile(`^[0-9]{12}$`)
	reRegion        = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	reEnvName       = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	reRotatorName   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)
	reFunction      = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	reConsumerName  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	reSecretName    = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	reSixSuffix     = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)
	reBusName       = regexp.MustCompile(`^[A-Za-z0-9._-]{1,256}$`)
	reVpcID         = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	reSubnetID      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	reSecurityGroup = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	reAZ            = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$`)
	reSecretArn     = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)
	reKmsKeyArn     = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):([0-9]{12}):key/[0-9a-f-]{36}$`)
	reSnsArn        = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):([0-9]{12}):[A-Za-z0-9_-]{1,256}$`)
	reLambdaArn     = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:([a-z0-9-]+):([0-9]{12}):function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$`)
	rePrincipalArn  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`)
	reRate          = regexp.MustCompile(`^rate\(([0-9]+) (hour|hours|day|days)\)$`)
	reCron          = regexp.MustCompile(`^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$`)
	// reConnectionArn: CodeConnections' ARNs, under the service's new name
	// (codeconnections) and its old one (codestar-connections).
	reConnectionArn = regexp.MustCompile(`^arn:aws[a-z-]*:(?:codeconnections|codestar-connections):([a-z0-9-]+):([0-9]{12}):connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// reRepository: "owner/name"; GitLab's subgroups add segments.
	reRepository = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)
	reBranch     = regexp.MustCompile(`^[A-Za-z0-9._/+-]{1,255}$`)
)

var (
	strategies      = []string{"alternating-users", "single-user"}
	passwordSources = []string{"local", "secretsmanager"}
	logLevels       = []string{"debug", "info", "warn", "error"}
	consumerTypes   = []string{ConsumerSQS, ConsumerLambda, ConsumerAccount}
	// engines maps a function to the database engines its secrets may name.
	engines = map[string][]string{"postgres": {"postgres"}}
)

type checker struct{ errs Errors }

func (c *checker) add(path, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) match(path, value string, re *regexp.Regexp, want string) bool {
	if value == "" {
		c.add(path, "required (%s)", want)
		return false
	}
	if !re.MatchString(value) {
		c.add(path, "%q is not %s", value, want)
		return false
	}
	return true
}

func (c *checker) oneOf(path, value string, allowed []string) {
	if value != "" && !slices.Contains(allowed, value) {
		c.add(path, "%q is not one of %s", value, strings.Join(allowed, ", "))
	}
}

func (c *checker) intRange(path string, v *int, lo, hi int) {
	if v != nil && (*v < lo || *v > hi) {
		c.add(path, "%d is out of range %d to %d", *v, lo, hi)
	}
}

func (c *checker) retention(path string, v *int) {
	if v != nil && !slices.Contains(RetentionDays, *v) {
		c.add(path, "%d is not a CloudWatch Logs retention (one of %s)", *v, intsString(RetentionDays))
	}
}

func intsString(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func (f *File) validate() Errors {
	c := &checker{}
	if a := f.Audit; a != nil {
		c.match("audit.account", a.Account, reAccount, "a 12-digit account ID")
		c.match("audit.region", a.Region, reRegion, "a region such as eu-west-1")
		if a.BusName != "" {
			c.match("audit.busName", a.BusName, reBusName, "an event bus name")
		}
		c.retention("audit.logRetentionDays", a.LogRetentionDays)
	}
	if p := f.Pipeline; p != nil {
		c.validatePipeline(p)
	}
	if len(f.Environments) == 0 {
		c.add("environments", "at least one environment is required")
	}
	envNames := map[string]int{}
	// secretHomes finds a secret name used twice in one account and region.
	secretHomes := map[string]string{}
	for i := range f.Environments {
		e := &f.Environments[i]
		p := fmt.Sprintf("environments[%d]", i)
		if c.match(p+".name", e.Name, reEnvName, "lower case letters, digits and dashes, starting with a letter, at most 20 characters") {
			if j, dup := envNames[e.Name]; dup {
				c.add(p+".name", "%q is also the name of environments[%d]", e.Name, j)
			}
			envNames[e.Name] = i
		}
		c.validateEnvironment(e, p, secretHomes)
	}
	return c.errs
}

func (c *checker) validatePipeline(p *Pipeline) {
	accountOK := c.match("pipeline.account", p.Account, reAccount, "a 12-digit account ID")
	c.match("pipeline.region", p.Region, reRegion, "a region such as eu-west-1")
	if p.ConnectionArn == "" {
		c.add("pipeline.connectionArn", "required (the ARN of a CodeConnections connection to the repository's provider)")
	} else if m := reConnectionArn.FindStringSubmatch(p.ConnectionArn); m == nil {
		c.add("pipeline.connectionArn", "%q is not a CodeConnections connection ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/UUID)", p.ConnectionArn)
	} else if accountOK && m[2] != p.Account {
		// A connection is used by pipelines of its own account only (it may
		// be in any region: connections are global resources).
		c.add("pipeline.connectionArn", "the connection must be in the pipeline's account %s, not %s", p.Account, m[2])
	}
	if p.Repository == "" {
		c.add("pipeline.repository", "required (owner/name)")
	} else if !reRepository.MatchString(p.Repository) || strings.Contains(p.Repository, "..") {
		c.add("pipeline.repository", "%q is not a repository's full name (owner/name)", p.Repository)
	}
	if p.Branch != "" && !validBranch(p.Branch) {
		c.add("pipeline.branch", "%q is not a branch name", p.Branch)
	}
}

// validBranch applies git's rules for a ref name (git check-ref-format) to
// the characters reBranch allows.
func validBranch(b string) bool {
	if !reBranch.MatchString(b) || strings.Contains(b, "..") || strings.Contains(b, "//") {
		return false
	}
	for _, part := range strings.Split(b, "/") {
		if part == "" || strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return false
		}
	}
	return !strings.HasPrefix(b, "-") && !strings.HasSuffix(b, ".")
}

func (c *checker) sameHome(path string, gotRegion, gotAccount string, e *Environment, what string) {
	if gotRegion != e.Region || gotAccount != e.Account {
		c.add(path, "%s must be in the environment's account %s and region %s, not %s %s", what, e.Account, e.Region, gotAccount, gotRegion)
	}
}

func (c *checker) validateEnvironment(e *Environment, p string, secretHomes map[string]string) {
	c.match(p+".account", e.Account, reAccount, "a 12-digit account ID")
	c.match(p+".region", e.Region, reRegion, "a region such as eu-west-1")
	if e.AlarmTopicArn != "" {
		if m := reSnsArn.FindStringSubmatch(e.AlarmTopicArn); m == nil {
			c.add(p+".alarmTopicArn", "%q is not an SNS topic ARN", e.AlarmTopicArn)
		} else {
			c.sameHome(p+".alarmTopicArn", m[1], m[2], e, "the topic")
		}
	}
	c.intRange(p+".eventArchiveDays", e.EventArchiveDays, 0, 3650)

	if len(e.Rotators) == 0 {
		c.add(p+".rotators", "at least one rotator is required")
	}
	rotators := map[string]*Rotator{}
	for i := range e.Rotators {
		r := &e.Rotators[i]
		rp := fmt.Sprintf("%s.rotators[%d]", p, i)
		if c.match(rp+".name", r.Name, reRotatorName, "lower case letters, digits and dashes, starting with a letter, at most 30 characters") {
			if _, dup := rotators[r.Name]; dup {
				c.add(rp+".name", "%q names two rotators", r.Name)
			}
			rotators[r.Name] = r
		}
		c.validateRotator(r, rp)
	}

	if len(e.Secrets) == 0 {
		c.add(p+".secrets", "at least one secret is required")
	}
	secrets := map[string]bool{}
	// gateSecrets adds up, per rotator, the length of ROTOR_GATE_SECRETS.
	gateSecrets := map[string]int{}
	for i := range e.Secrets {
		s := &e.Secrets[i]
		sp := fmt.Sprintf("%s.secrets[%d]", p, i)
		if c.match(sp+".name", s.Name, reSecretName, "a Secrets Manager name (letters, digits and /_+=.@-, at most 512)") {
			if reSixSuffix.MatchString(s.Name) {
				c.add(sp+".name", "%q ends with a dash and six characters, which Secrets Manager confuses with an ARN suffix", s.Name)
			}
			if secrets[s.Name] {
				c.add(sp+".name", "%q names two secrets", s.Name)
			}
			secrets[s.Name] = true
			home := e.Account + "/" + e.Region + "/" + s.Name
			if other, dup := secretHomes[home]; dup && other != e.Name {
				c.add(sp+".name", "%q is also a secret of environment %q in the same account and region", s.Name, other)
			}
			secretHomes[home] = e.Name
			if s.Name == FingerprintKeyName(e.Name) {
				c.add(sp+".name", "%q is the environment's fingerprint key", s.Name)
			}
			if r := rotators[s.Rotator]; r != nil {
				n := gateSecrets[s.Rotator]
				if n > 0 {
					n++ // the comma
				}
				n += len(s.Name)
				if n > MaxGateSecretsLength && gateSecrets[s.Rotator] <= MaxGateSecretsLength {
					c.add(sp+".name", "the names of rotator %q's secrets, its ROTOR_GATE_SECRETS, pass %d characters here: give some of them another rotator", s.Rotator, MaxGateSecretsLength)
				}
				gateSecrets[s.Rotator] = n
			}
		}
		c.validateSecret(s, sp, e, rotators)
	}

	consumers := map[string]bool{}
	for i := range e.Consumers {
		k := &e.Consumers[i]
		kp := fmt.Sprintf("%s.consumers[%d]", p, i)
		if c.match(kp+".name", k.Name, reConsumerName, "lower case letters, digits and dashes, starting with a letter, at most 40 characters") {
			if consumers[k.Name] {
				c.add(kp+".name", "%q names two consumers", k.Name)
			}
			consumers[k.Name] = true
		}
		c.intRange(kp+".instances", k.Instances, 1, 50)
		c.validateConsumer(k, kp, e, secrets)
	}
}

func (c *checker) validateRotator(r *Rotator, p string) {
	if c.match(p+".function", r.Function, reFunction, "a function folder name such as postgres") {
		if _, ok := engines[r.Function]; !ok {
			c.add(p+".function", "%q is not a rotor function (known: %s)", r.Function, strings.Join(knownFunctions(), ", "))
		}
	}
	c.oneOf(p+".strategy", r.Strategy, strategies)
	c.intRange(p+".passwordLength", r.PasswordLength, 16, 128)
	if r.ExcludeCharacters != nil && len(*r.ExcludeCharacters) > 64 {
		c.add(p+".excludeCharacters", "at most 64 characters")
	}
	c.oneOf(p+".passwordSource", r.PasswordSource, passwordSources)
	c.oneOf(p+".logLevel", r.LogLevel, logLevels)
	c.retention(p+".logRetentionDays", r.LogRetentionDays)
	c.intRange(p+".reservedConcurrency", r.ReservedConcurrency, 1, 1000)
	c.intRange(p+".timeoutSeconds", r.TimeoutSeconds, 5, 900)
	if r.GracePeriod != "" {
		if d, err := time.ParseDuration(r.GracePeriod); err != nil {
			c.add(p+".gracePeriod", "%q is not a Go duration such as 24h or 90m", r.GracePeriod)
		} else if d <= LongestCacheLifetime || d > MaxGracePeriod {
			c.add(p+".gracePeriod", "%s is out of range: longer than %s (the longest consumer cache lifetime), at most %s", r.GracePeriod, "330s", "720h")
		}
	}
	if r.LockIdleUser && r.Strategy != "" && r.Strategy != "alternating-users" {
		c.add(p+".lockIdleUser", "only with strategy alternating-users (a single user has no idle user to lock)")
	}
	if v := r.VPC; v != nil {
		vp := p + ".vpc"
		c.match(vp+".vpcId", v.VpcID, reVpcID, "a VPC ID (vpc-...)")
		if len(v.AvailabilityZones) == 0 {
			c.add(vp+".availabilityZones", "at least one availability zone is required")
		}
		for i, az := range v.AvailabilityZones {
			c.match(fmt.Sprintf("%s.availabilityZones[%d]", vp, i), az, reAZ, "an availability zone such as eu-west-1a")
		}
		if len(v.SubnetIDs) != len(v.AvailabilityZones) {
			c.add(vp+".subnetIds", "want one subnet per availability zone (%d), got %d", len(v.AvailabilityZones), len(v.SubnetIDs))
		}
		for i, s := range v.SubnetIDs {
			c.match(fmt.Sprintf("%s.subnetIds[%d]", vp, i), s, reSubnetID, "a subnet ID (subnet-...)")
		}
		switch {
		case v.DatabaseSecurityGroupID != "" && v.DatabaseCidr != "":
			c.add(vp+".databaseCidr", "give databaseSecurityGroupId or databaseCidr, not both")
		case v.DatabaseSecurityGroupID != "":
			c.match(vp+".databaseSecurityGroupId", v.DatabaseSecurityGroupID, reSecurityGroup, "a security group ID (sg-...)")
		case v.DatabaseCidr != "":
			if _, _, err := net.ParseCIDR(v.DatabaseCidr); err != nil {
				c.add(vp+".databaseCidr", "%q is not a CIDR block", v.DatabaseCidr)
			}
		default:
			c.add(vp+".databaseSecurityGroupId", "required (or databaseCidr): the function must be allowed to reach the database")
		}
		if v.DatabasePort < 1 || v.DatabasePort > 65535 {
			c.add(vp+".databasePort", "want a port from 1 to 65535, got %d", v.DatabasePort)
		}
	}
}

func knownFunctions() []string {
	var names []string
	for n := range engines {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (c *checker) validateSecret(s *Secret, p string, e *Environment, rotators map[string]*Rotator) {
	r := rotators[s.Rotator]
	if s.Rotator == "" {
		c.add(p+".rotator", "required (the name of one of the environment's rotators)")
	} else if r == nil {
		c.add(p+".rotator", "%q is not a rotator of this environment", s.Rotator)
	}
	d := s.Database
	dp := p + ".database"
	if d.Engine == "" {
		c.add(dp+".engine", "required")
	} else if r != nil && !slices.Contains(engines[r.Function], d.Engine) {
		c.add(dp+".engine", "%q cannot be rotated by rotator %q (function %s)", d.Engine, r.Name, r.Function)
	}
	if d.Host == "" {
		c.add(dp+".host", "required")
	}
	if d.Port != 0 && (d.Port < 1 || d.Port > 65535) {
		c.add(dp+".port", "want a port from 1 to 65535, got %d", d.Port)
	}
	if d.Username == "" {
		c.add(dp+".username", "required")
	}

	alternating := r != nil && (r.Strategy == "" || r.Strategy == "alternating-users")
	if s.MasterSecretArn == "" {
		if alternating {
			c.add(p+".masterSecretArn", "required: rotator %q uses alternating users", r.Name)
		}
	} else if m := reSecretArn.FindStringSubmatch(s.MasterSecretArn); m == nil {
		c.add(p+".masterSecretArn", "%q is not a complete secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)", s.MasterSecretArn)
	} else {
		c.sameHome(p+".masterSecretArn", m[1], m[2], e, "the master secret")
	}
	if s.MasterSecretKmsKeyArn != "" {
		if s.MasterSecretArn == "" {
			c.add(p+".masterSecretKmsKeyArn", "only with masterSecretArn")
		} else if m := reKmsKeyArn.FindStringSubmatch(s.MasterSecretKmsKeyArn); m == nil {
			c.add(p+".masterSecretKmsKeyArn", "%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", s.MasterSecretKmsKeyArn)
		} else {
			c.sameHome(p+".masterSecretKmsKeyArn", m[1], m[2], e, "the key")
		}
	}
	c.validateRotation(&s.Rotation, p+".rotation")
	for i, a := range s.Readers {
		c.match(fmt.Sprintf("%s.readers[%d]", p, i), a, rePrincipalArn, "an IAM role or user ARN")
	}
}

func (c *checker) validateRotation(r *Rotation, p string) {
	set := 0
	for _, b := range []bool{r.Days != 0, r.Months != 0, r.ScheduleExpression != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		c.add(p, "give exactly one of days, months and scheduleExpression")
		return
	}
	window := r.WindowHours
	if window == 0 {
		window = DefaultWindowHours
	} else if window < 1 || window > 24 {
		c.add(p+".windowHours", "want 1 to 24 hours, got %d", window)
		return
	}
	switch {
	case r.Days != 0:
		if r.Days < 1 || r.Days > 28 {
			c.add(p+".days", "want 1 to 28 (use months for longer periods), got %d", r.Days)
		}
	case r.Months != 0:
		if r.Months < 1 || r.Months > 12 {
			c.add(p+".months", "want 1 to 12, got %d", r.Months)
		}
	default:
		if msg := checkScheduleExpression(r.ScheduleExpression, window); msg != "" {
			c.add(p+".scheduleExpression", "%q: %s", r.ScheduleExpression, msg)
		}
	}
}

// checkScheduleExpression applies Secrets Manager's rules for rotation
// schedules (see "Rotation schedules" in the Secrets Manager User Guide).
func checkScheduleExpression(expr string, window int) string {
	if m := reRate.FindStringSubmatch(expr); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return "the rate is not a number"
		}
		if strings.HasPrefix(m[2], "hour") {
			if n < 4 || n > 23 {
				return "a rate in hours must be 4 to 23 hours"
			}
			if window > n {
				return fmt.Sprintf("the %d-hour window reaches into the next rotation", window)
			}
			return ""
		}
		if n < 1 || n > 999 {
			return "a rate in days must be 1 to 999 days"
		}
		return ""
	}
	m := reCron.FindStringSubmatch(expr)
	if m == nil {
		return "want rate(N hours|days) or cron(0 HOURS DAY-OF-MONTH MONTH DAY-OF-WEEK *)"
	}
	minutes, hours, dom, dow, year := m[1], m[2], m[3], m[5], m[6]
	if minutes != "0" {
		return "the minutes field must be 0 (rotation windows open on the hour)"
	}
	if year != "*" {
		return "the year field must be *"
	}
	if (dom == "?") == (dow == "?") {
		return "exactly one of day-of-month and day-of-week must be ?"
	}
	if h, err := strconv.Atoi(hours); err == nil {
		if h < 0 || h > 23 {
			return "the hour must be 0 to 23"
		}
		if h+window > 24 {
			return fmt.Sprintf("a window of %d hours from %02d:00 reaches into the next UTC day", window, h)
		}
	}
	return ""
}

func (c *checker) validateConsumer(k *Consumer, p string, e *Environment, secrets map[string]bool) {
	c.oneOf(p+".type", k.Type, consumerTypes)
	if k.Type == "" {
		c.add(p+".type", "required (one of %s)", strings.Join(consumerTypes, ", "))
	}
	if len(k.Secrets) == 0 {
		c.add(p+".secrets", "at least one secret is required")
	}
	seen := map[string]bool{}
	for i, s := range k.Secrets {
		sp := fmt.Sprintf("%s.secrets[%d]", p, i)
		switch {
		case !secrets[s]:
			c.add(sp, "%q is not a secret of this environment", s)
		case seen[s]:
			c.add(sp, "%q is listed twice", s)
		}
		seen[s] = true
	}
	only := func(field, value, typ string) {
		if value != "" && k.Type != typ {
			c.add(p+"."+field, "only for type %q", typ)
		}
	}
	only("functionArn", k.FunctionArn, ConsumerLambda)
	only("account", k.Account, ConsumerAccount)
	only("region", k.Region, ConsumerAccount)
	only("busName", k.BusName, ConsumerAccount)
	switch k.Type {
	case ConsumerLambda:
		if k.FunctionArn == "" {
			c.add(p+".functionArn", "required for type lambda")
		} else if m := reLambdaArn.FindStringSubmatch(k.FunctionArn); m == nil {
			c.add(p+".functionArn", "%q is not a Lambda function ARN", k.FunctionArn)
		} else {
			// EventBridge invokes Lambda targets in its own account and region only.
			c.sameHome(p+".functionArn", m[1], m[2], e, "a Lambda consumer")
		}
	case ConsumerAccount:
		if c.match(p+".account", k.Account, reAccount, "a 12-digit account ID") && k.Account == e.Account {
			c.add(p+".account", "%s is the environment's own account: use type sqs or lambda", k.Account)
		}
		if k.Region != "" {
			c.match(p+".region", k.Region, reRegion, "a region such as eu-west-1")
		}
		if k.BusName != "" {
			c.match(p+".busName", k.BusName, reBusName, "an event bus name")
		}
	}
}

func (f *File) applyDefaults() {
	if a := f.Audit; a != nil {
		if a.BusName == "" {
			a.BusName = DefaultAuditBusName
		}
		a.LogRetentionDays = orDefault(a.LogRetentionDays, DefaultAuditRetentionDays)
	}
	if p := f.Pipeline; p != nil {
		p.Branch = orString(p.Branch, DefaultPipelineBranch)
	}
	for i := range f.Environments {
		e := &f.Environments[i]
		e.EventArchiveDays = orDefault(e.EventArchiveDays, DefaultEventArchiveDays)
		for j := range e.Rotators {
			r := &e.Rotators[j]
			r.Strategy = orString(r.Strategy, DefaultStrategy)
			r.PasswordSource = orString(r.PasswordSource, DefaultPasswordSource)
			r.LogLevel = orString(r.LogLevel, DefaultLogLevel)
			r.PasswordLength = orDefault(r.PasswordLength, DefaultPasswordLength)
			r.LogRetentionDays = orDefault(r.LogRetentionDays, DefaultLogRetentionDays)
			r.ReservedConcurrency = orDefault(r.ReservedConcurrency, DefaultReservedConcurrency)
			r.TimeoutSeconds = orDefault(r.TimeoutSeconds, DefaultTimeoutSeconds)
			r.GracePeriod = orString(r.GracePeriod, DefaultGracePeriod)
		}
		for j := range e.Secrets {
			s := &e.Secrets[j]
			if s.Rotation.WindowHours == 0 {
				s.Rotation.WindowHours = DefaultWindowHours
			}
			if s.Database.Port == 0 {
				s.Database.Port = DefaultPostgresPort
			}
			if s.Database.SSL == nil {
				t := true
				s.Database.SSL = &t
			}
		}
		for j := range e.Consumers {
			k := &e.Consumers[j]
			if k.Type == ConsumerAccount {
				k.Region = orString(k.Region, e.Region)
				k.BusName = orString(k.BusName, DefaultConsumerBusName)
			}
		}
	}
}

func orDefault(v *int, d int) *int {
	if v != nil {
		return v
	}
	return &d
}

func orString(v, d string) string {
	if v != "" {
		return v
	}
	return d
}

// Accounts are the distinct accounts of the environments, in file order:
// the accounts the audit bus accepts events from.
func (f *File) Accounts() []string {
	var out []string
	for _, e := range f.Environments {
		if !slices.Contains(out, e.Account) {
			out = append(out, e.Account)
		}
	}
	return out
}

// Rotator returns the environment's rotator named name, or nil.
func (e *Environment) Rotator(name string) *Rotator {
	for i := range e.Rotators {
		if e.Rotators[i].Name == name {
			return &e.Rotators[i]
		}
	}
	return nil
}
