package eventbridge

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor/test/awslocal/awscron"
)

// scheduleTick is how often, on the service's clock, the scheduler looks for
// due schedule rules: a minute, the finest unit of rate() and cron(). On a
// clock running 4800 times fast that is 12.5 ms of real time.
const scheduleTick = time.Minute

// Scheduled events are AWS's, as a rule with a ScheduleExpression sends them
// ("Amazon EventBridge events from AWS services": Scheduled Event).
const (
	scheduledSource     = "aws.events"
	scheduledDetailType = "Scheduled Event"
)

// schedule is a parsed ScheduleExpression: a rate, or a cron expression in
// gronx's seven-field form.
type schedule struct {
	every time.Duration
	cron  string
}

// parseSchedule checks a schedule expression: rate() with a positive value
// and a unit that agrees with it, or cron() of six fields (minutes hours
// day-of-month month day-of-week year) that gronx accepts, read by awscron
// as the Secrets Manager emulator reads rotation schedules.
func parseSchedule(expr string) (schedule, bool) {
	if m := rateExpression.FindStringSubmatch(expr); m != nil {
		if (m[1] == "1") != !strings.HasSuffix(m[2], "s") {
			return schedule{}, false
		}
		n, _ := strconv.Atoi(m[1])
		unit := time.Minute
		switch {
		case strings.HasPrefix(m[2], "hour"):
			unit = time.Hour
		case strings.HasPrefix(m[2], "day"):
			unit = 24 * time.Hour
		}
		return schedule{every: time.Duration(n) * unit}, true
	}
	if !cronExpression.MatchString(expr) {
		return schedule{}, false
	}
	c, ok := awscron.Gronx(strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")")))
	if !ok {
		return schedule{}, false
	}
	return schedule{cron: c}, true
}

// next is the first run after from; zero if the cron expression has none.
func (s schedule) next(from time.Time) time.Time {
	if s.cron == "" {
		return from.Add(s.every)
	}
	t, err := awscron.Next(s.cron, from)
	if err != nil {
		return time.Time{}
	}
	return t
}

// arm sets when a schedule rule runs first: a rate runs one interval after
// the rule is created (AWS: "the rate starts when you create the rule"), a
// cron at its next match. A rule whose schedule did not change keeps its
// time, so that PutRule for another field (a CDK deploy) does not push the
// schedule back.
func (r *rule) arm(now time.Time, old *rule) {
	r.sched, r.nextRun = schedule{}, time.Time{}
	if r.ScheduleExpression == "" {
		return
	}
	if old != nil && old.ScheduleExpression == r.ScheduleExpression && !old.nextRun.IsZero() {
		r.sched, r.nextRun = old.sched, old.nextRun
		return
	}
	sched, ok := parseSchedule(r.ScheduleExpression)
	if !ok { // a restored snapshot's; PutRule refuses it
		return
	}
	r.sched, r.nextRun = sched, sched.next(now)
}

// startSchedulerLocked starts the scheduler the first time a schedule rule
// exists: a service that never has one runs no goroutine and never sleeps
// on its clock. s.mu is held.
func (s *Service) startSchedulerLocked() {
	if s.scheduling || s.closed {
		return
	}
	s.scheduling = true
	s.wg.Add(1)
	go s.runScheduler()
}

// runScheduler runs the due schedule rules every scheduleTick of the clock
// until Close.
func (s *Service) runScheduler() {
	defer s.wg.Done()
	for s.clock.Sleep(s.ctx, scheduleTick) == nil {
		s.runDue(s.clock.Now())
	}
}

// runDue sends a Scheduled Event to the targets of every enabled schedule
// rule that is due at now, once however many runs the clock skipped, and
// moves each due rule (disabled ones too, silently) to its next run after
// now.
func (s *Service) runDue(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for sc, st := range s.scopes {
		b := st.buses[defaultBus] // schedules live on default buses only
		if b == nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(b.Rules)) {
			r := b.Rules[name]
			if r.nextRun.IsZero() || now.Before(r.nextRun) {
				continue
			}
			due := r.nextRun
			for !r.nextRun.IsZero() && !r.nextRun.After(now) {
				r.nextRun = r.sched.next(r.nextRun)
			}
			if r.State == "DISABLED" {
				continue
			}
			arn := ruleARN(sc, defaultBus, r.Name)
			data, id := s.newEvent(sc, scheduledSource, scheduledDetailType, json.RawMessage(`{}`), []string{arn}, due)
			s.deliverToRuleLocked(sc, defaultBus, r, data, id, 0, now)
		}
	}
}
