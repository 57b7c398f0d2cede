// Package awscron turns the cron() expressions of AWS's schedules
// (EventBridge rules, Secrets Manager rotation rules) into gronx's form, so
// that the local endpoint's services share one reading of them: six fields
// (minutes hours day-of-month month day-of-week year), weekdays numbered
// 1-7 from Sunday, in UTC.
package awscron

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/adhocore/gronx"
)

// dowNumber finds a weekday number in a cron day-of-week field.
var dowNumber = regexp.MustCompile(`(^|[,\-/])(\d)`)

// Gronx returns gronx's seven-field form (seconds first) of AWS's six cron
// fields, or false when gronx cannot read it.
func Gronx(fields []string) (string, bool) {
	if len(fields) != 6 {
		return "", false
	}
	f := append([]string(nil), fields...)
	// AWS numbers weekdays 1-7 from Sunday; gronx 0-6.
	f[4] = dowNumber.ReplaceAllStringFunc(f[4], func(tok string) string {
		d := tok[len(tok)-1] - '0'
		return tok[:len(tok)-1] + strconv.Itoa(int(d+6)%7)
	})
	c := "0 " + strings.Join(f, " ")
	return c, gronx.IsValid(c)
}

// Next is the first match of a gronx expression (from [Gronx]) after from.
func Next(expr string, from time.Time) (time.Time, error) {
	return gronx.NextTickAfter(expr, from.UTC(), false)
}
