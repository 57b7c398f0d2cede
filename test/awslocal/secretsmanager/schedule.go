package secretsmanager

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/awscron"

	"github.com/rotorhq/rotor/shared/secretstore/memstore"
)

// schedule is a checked rotation rule: when rotations are due.
type schedule struct {
	every  time.Duration // rate() and AutomaticallyAfterDays
	cron   string        // gronx's seven-field form of a cron() expression
	window time.Duration // Duration; zero means the rest of the day (AWS's default)
}

// Limits from RotationRulesType in the Secrets Manager API reference.
const (
	maxAfterDays    = 1000
	minRotationRate = 4 * time.Hour // "rotate no more often than every four hours"
)

var (
	rateExpr     = regexp.MustCompile(`^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$`)
	cronExpr     = regexp.MustCompile(`^cron\((.+)\)$`)
	durationExpr = regexp.MustCompile(`^(\d+)h$`)
)

// parseRules checks RotationRules as RotateSecret does and returns the
// schedule. Errors name the field.
func parseRules(r memstore.RotationRules) (schedule, error) {
	var s schedule
	switch {
	case r.AutomaticallyAfterDays != 0 && r.ScheduleExpression != "":
		return s, errInvalidParameter("You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.")
	case r.AutomaticallyAfterDays < 0 || r.AutomaticallyAfterDays > maxAfterDays:
		return s, errInvalidParameter("RotationRules.AutomaticallyAfterDays must be between 1 and %d.", maxAfterDays)
	case r.AutomaticallyAfterDays > 0:
		s.every = time.Duration(r.AutomaticallyAfterDays) * 24 * time.Hour
	case r.ScheduleExpression != "":
		if err := s.parseExpression(strings.TrimSpace(r.ScheduleExpression)); err != nil {
			return s, err
		}
	default:
		return s, errInvalidParameter("RotationRules must contain AutomaticallyAfterDays or ScheduleExpression.")
	}
	if r.Duration != "" {
		m := durationExpr.FindStringSubmatch(r.Duration)
		if m == nil {
			return s, errInvalidParameter("RotationRules.Duration %q is not valid: use a number of hours such as 3h.", r.Duration)
		}
		h, _ := strconv.Atoi(m[1])
		if h < 1 || h > 24 {
			return s, errInvalidParameter("RotationRules.Duration must be between 1h and 24h.")
		}
		s.window = time.Duration(h) * time.Hour
		if s.every > 0 && s.window > s.every {
			return s, errInvalidParameter("RotationRules.Duration can't be longer than the rotation interval.")
		}
	}
	return s, nil
}

func (s *schedule) parseExpression(expr string) error {
	if m := rateExpr.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := 24 * time.Hour
		if strings.HasPrefix(m[2], "hour") {
			unit = time.Hour
		}
		s.every = time.Duration(n) * unit
		if s.every < minRotationRate || s.every > maxAfterDays*24*time.Hour {
			return errInvalidParameter("RotationRules.ScheduleExpression %s is out of range: rotate at most every 4 hours and at least every %d days.", expr, maxAfterDays)
		}
		return nil
	}
	m := cronExpr.FindStringSubmatch(expr)
	if m == nil {
		return errInvalidParameter("RotationRules.ScheduleExpression %q is not valid: use rate(N hours|days) or cron(minutes hours day-of-month month day-of-week year).", expr)
	}
	fields := strings.Fields(m[1])
	if len(fields) != 6 {
		return errInvalidParameter("RotationRules.ScheduleExpression %s must have six fields: minutes hours day-of-month month day-of-week year.", expr)
	}
	if (fields[2] == "?") == (fields[4] == "?") {
		return errInvalidParameter("RotationRules.ScheduleExpression %s: exactly one of day-of-month and day-of-week must be ?.", expr)
	}
	var ok bool
	if s.cron, ok = awscron.Gronx(fields); !ok {
		return errInvalidParameter("RotationRules.ScheduleExpression %s is not a valid cron expression.", expr)
	}
	// Two consecutive runs closer than four hours are refused, as AWS does.
	first, err := awscron.Next(s.cron, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err == nil {
		second, err := awscron.Next(s.cron, first)
		if err == nil && second.Sub(first) < minRotationRate {
			return errInvalidParameter("RotationRules.ScheduleExpression %s rotates more often than every 4 hours.", expr)
		}
	}
	return nil
}

// next returns when the next rotation is due after a rotation (or the
// configuration) at from. Rotation runs at the start of its window: AWS
// picks a moment inside the window, and the start is the moment a test can
// predict.
func (s schedule) next(from time.Time) (time.Time, error) {
	if s.cron != "" {
		t, err := awscron.Next(s.cron, from)
		if err != nil {
			return time.Time{}, fmt.Errorf("schedule %s: %w", s.cron, err)
		}
		return t, nil
	}
	return from.Add(s.every), nil
}
