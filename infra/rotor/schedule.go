package rotor

import (
	"fmt"
	"hash/fnv"
)

// Rotation is when a secret rotates: exactly one of Days, Months and
// ScheduleExpression, and a window.
//
// Days and Months are staggered: the hour the window opens (and, for Months,
// the day of the month and the first month) comes from an FNV-1a hash of the
// secret's name, so that a fleet of secrets with the same period does not
// rotate at the same time, and a secret keeps its slot from one deployment to
// the next. A ScheduleExpression is used as it is.
type Rotation struct {
	// Days, 1 to 28: cron(0 H 1/Days * ? *). Windows open on days 1, 1+Days,
	// ... of each month; the count restarts on the 1st, so the gap between two
	// windows never exceeds Days.
	Days int
	// Months, 1 to 12: cron(0 H D M/Months ? *), with the day D (1 to 28) and
	// the first month M (1 to Months) taken from the hash.
	Months int
	// ScheduleExpression is a Secrets Manager rate() or cron() expression.
	ScheduleExpression string
	// WindowHours is the window's length, 1 to 24 (default 2). Staggered
	// windows open at an hour H from 0 to 24-WindowHours, so that a window
	// never crosses midnight UTC, which Secrets Manager refuses.
	WindowHours int
}

// Stagger is where a name's hash puts its rotation window.
type Stagger struct {
	Hour       int // 0 to 24-window
	DayOfMonth int // 1 to 28
	FirstMonth int // 1 to months (1 when months < 2)
}

// StaggerFor returns the stagger of a secret name for a window of
// windowHours and a period of months (0 when the period is in days).
func StaggerFor(name string, windowHours, months int) Stagger {
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	// Low, middle and high bits feed the three fields, so that they vary
	// independently across names.
	s := Stagger{
		Hour:       int((v & 0x7ff) % uint32(24-windowHours+1)),
		DayOfMonth: 1 + int((v>>11)&0x7ff)%28,
		FirstMonth: 1,
	}
	if months > 1 {
		s.FirstMonth = 1 + int(v>>22)%months
	}
	return s
}

// Expression returns the ScheduleExpression and Duration of the rotation of
// the secret name. It panics on a Rotation that config validation refuses.
func (r Rotation) Expression(name string) (schedule, duration string) {
	window := r.WindowHours
	if window == 0 {
		window = 2
	}
	if window < 1 || window > 24 {
		panic(fmt.Sprintf("rotor: secret %s: WindowHours %d is not 1 to 24", name, window))
	}
	duration = fmt.Sprintf("%dh", window)
	set := 0
	for _, b := range []bool{r.Days != 0, r.Months != 0, r.ScheduleExpression != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		panic(fmt.Sprintf("rotor: secret %s: give exactly one of Days, Months and ScheduleExpression", name))
	}
	switch {
	case r.ScheduleExpression != "":
		return r.ScheduleExpression, duration
	case r.Days == 1:
		s := StaggerFor(name, window, 0)
		return fmt.Sprintf("cron(0 %d * * ? *)", s.Hour), duration
	case r.Days >= 2 && r.Days <= 28:
		s := StaggerFor(name, window, 0)
		return fmt.Sprintf("cron(0 %d 1/%d * ? *)", s.Hour, r.Days), duration
	case r.Months == 1:
		s := StaggerFor(name, window, 1)
		return fmt.Sprintf("cron(0 %d %d * ? *)", s.Hour, s.DayOfMonth), duration
	case r.Months >= 2 && r.Months <= 12:
		s := StaggerFor(name, window, r.Months)
		return fmt.Sprintf("cron(0 %d %d %d/%d ? *)", s.Hour, s.DayOfMonth, s.FirstMonth, r.Months), duration
	}
	panic(fmt.Sprintf("rotor: secret %s: Days must be 1 to 28 and Months 1 to 12", name))
}
