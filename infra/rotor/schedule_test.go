package rotor

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

func TestStaggerIsStable(t *testing.T) {
	// Golden values: a change here moves every deployed secret's window, so
	// it must be deliberate.
	cases := []struct {
		name      string
		rotation  Rotation
		want, dur string
	}{
		{"app/orders/postgres", Rotation{Days: 7, WindowHours: 3}, "cron(0 4 1/7 * ? *)", "3h"},
		{"app/orders/postgres", Rotation{Months: 1}, "cron(0 3 18 * ? *)", "2h"},
		{"app/billing/postgres", Rotation{Months: 3, WindowHours: 4}, "cron(0 19 6 2/3 ? *)", "4h"},
		{"app/reports/postgres", Rotation{Days: 1}, "cron(0 6 * * ? *)", "2h"},
		{"x", Rotation{ScheduleExpression: "rate(10 days)", WindowHours: 5}, "rate(10 days)", "5h"},
	}
	for _, c := range cases {
		got, dur := c.rotation.Expression(c.name)
		if got != c.want || dur != c.dur {
			t.Errorf("%s %+v: want %q %q, got %q %q", c.name, c.rotation, c.want, c.dur, got, dur)
		}
	}
}

var reCronFields = regexp.MustCompile(`^cron\(0 ([0-9]+) ([0-9]+|\*|1/[0-9]+) ([0-9]+/[0-9]+|\*) \? \*\)$`)

func TestStaggerSpreadsAndFitsTheDay(t *testing.T) {
	const n = 2000
	for _, window := range []int{1, 2, 4, 8, 24} {
		hours := map[int]int{}
		days := map[int]int{}
		for i := range n {
			name := fmt.Sprintf("app/service-%04d/postgres", i)
			expr, _ := Rotation{Months: 1, WindowHours: window}.Expression(name)
			m := reCronFields.FindStringSubmatch(expr)
			if m == nil {
				t.Fatalf("%s: %q is not a staggered monthly cron", name, expr)
			}
			h, _ := strconv.Atoi(m[1])
			d, _ := strconv.Atoi(m[2])
			if h < 0 || h+window > 24 {
				t.Fatalf("%s: window of %dh from %02d:00 crosses midnight", name, window, h)
			}
			if d < 1 || d > 28 {
				t.Fatalf("%s: day %d is not 1 to 28", name, d)
			}
			hours[h]++
			days[d]++
		}
		slots := 24 - window + 1
		if len(hours) != slots {
			t.Errorf("window %dh: want all %d hour slots used, got %d", window, slots, len(hours))
		}
		if len(days) != 28 {
			t.Errorf("window %dh: want all 28 days used, got %d", window, len(days))
		}
		// A fair spread puts n/slots names in each slot; allow twice that.
		for h, c := range hours {
			if limit := 2 * n / slots; c > limit {
				t.Errorf("window %dh: hour %d has %d of %d names (limit %d)", window, h, c, n, limit)
			}
		}
		for d, c := range days {
			if limit := 2 * n / 28; c > limit {
				t.Errorf("window %dh: day %d has %d of %d names (limit %d)", window, d, c, n, limit)
			}
		}
	}
}

func TestStaggerFirstMonthSpreads(t *testing.T) {
	months := map[int]int{}
	for i := range 600 {
		s := StaggerFor(fmt.Sprintf("svc-%d", i), 2, 3)
		if s.FirstMonth < 1 || s.FirstMonth > 3 {
			t.Fatalf("first month %d is not 1 to 3", s.FirstMonth)
		}
		months[s.FirstMonth]++
	}
	for m := 1; m <= 3; m++ {
		if months[m] < 100 {
			t.Errorf("want about 200 names starting in month %d, got %d", m, months[m])
		}
	}
}

func TestExpressionShapes(t *testing.T) {
	s := StaggerFor("app/a", 2, 0)
	cases := []struct {
		r    Rotation
		want string
	}{
		{Rotation{Days: 1}, fmt.Sprintf("cron(0 %d * * ? *)", s.Hour)},
		{Rotation{Days: 14}, fmt.Sprintf("cron(0 %d 1/14 * ? *)", s.Hour)},
		{Rotation{Months: 1}, fmt.Sprintf("cron(0 %d %d * ? *)", s.Hour, s.DayOfMonth)},
		{Rotation{Months: 12}, fmt.Sprintf("cron(0 %d %d %d/12 ? *)", s.Hour, s.DayOfMonth, StaggerFor("app/a", 2, 12).FirstMonth)},
	}
	for _, c := range cases {
		if got, _ := c.r.Expression("app/a"); got != c.want {
			t.Errorf("%+v: want %q, got %q", c.r, c.want, got)
		}
	}
}

func TestExpressionRefusesBadRotation(t *testing.T) {
	for _, r := range []Rotation{{}, {Days: 3, Months: 1}, {Days: 29}, {Months: 13}, {Days: 1, WindowHours: 25}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%+v: want a panic, got none", r)
				}
			}()
			r.Expression("app/a")
		}()
	}
}
