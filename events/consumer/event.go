package consumer

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/rotorhq/rotor/events"
)

// Sources and detail types of the events of Secrets Manager the cache reads
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html).
const (
	sourceSecretsManager = "aws.secretsmanager"
	detailServiceEvent   = "AWS Service Event via CloudTrail"
	detailAPICall        = "AWS API Call via CloudTrail"
	detailLabelUpdated   = "Secret Label Updated"
)

// apiCallsThatMoveCurrent are the CloudTrail-recorded calls after which
// AWSCURRENT may have moved.
var apiCallsThatMoveCurrent = []string{"PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "RestoreSecret"}

// action is what an event asks of the cache.
type action int

const (
	ignore    action = iota // not this secret, or nothing a consumer needs
	duplicate               // this secret, but the cache knows already: no call
	refresh                 // describe the secret
)

// HandleEvent refreshes the cache if the event says that AWSCURRENT of its
// secret may have moved; an event of another secret, source or type is
// ignored (nil, no call). Events are hints: only DescribeSecret decides,
// so a late, repeated or reordered event can cost a DescribeSecret but
// never moves the cache backwards. See the package doc for the events read.
func (c *Cache) HandleEvent(ctx context.Context, ev awsevents.EventBridgeEvent) error {
	return c.handle(ctx, ev, time.Now())
}

// handle handles an event known to the caller since received (monotonic
// time): a refresh that started after it covers it.
func (c *Cache) handle(ctx context.Context, ev awsevents.EventBridgeEvent, received time.Time) error {
	switch c.classify(ev) {
	case ignore:
		c.stats.eventsIgnored.Add(1)
		return nil
	case duplicate:
		c.stats.eventsDuplicate.Add(1)
		return nil
	}
	c.stats.eventsRefreshed.Add(1)
	_, err := c.refreshAfter(ctx, received)
	return err
}

// rotorDetail is the part of a rotor event's detail the cache reads. It is
// decoded leniently: an event is a hint, and a refresh is cheap.
type rotorDetail struct {
	SecretArn  string `json:"secretArn"`
	SecretName string `json:"secretName"`
	VersionID  string `json:"versionId"`
}

// smDetail is the union of the details of Secrets Manager's events the
// cache reads.
type smDetail struct {
	EventName           string `json:"eventName"`
	AdditionalEventData struct {
		SecretID string `json:"SecretId"`
	} `json:"additionalEventData"`
	RequestParameters struct {
		SecretID string `json:"secretId"`
	} `json:"requestParameters"`
	Name         string `json:"name"`
	LabelUpdated string `json:"labelUpdated"`
	VersionID    string `json:"versionId"`
}

func (c *Cache) classify(ev awsevents.EventBridgeEvent) action {
	s := c.state.Load()
	switch ev.Source {
	case events.Source:
		var d rotorDetail
		if json.Unmarshal(ev.Detail, &d) != nil || !c.concerns(s, append([]string{d.SecretArn, d.SecretName}, ev.Resources...)...) {
			return ignore
		}
		switch events.DetailType(ev.DetailType) {
		case events.Completed:
			// AWSCURRENT moved to d.VersionID. If the cache holds it, or
			// held it before the one it holds, the event is a duplicate or
			// arrived late: a rotation to an older version would be a
			// rollback, which has its own event.
			if d.VersionID != "" && (d.VersionID == s.current.ID || slices.Contains(s.history, d.VersionID)) {
				return duplicate
			}
			return refresh
		case events.RolledBack:
			return refresh
		}
		// Started, Pending Set, Tested: AWSCURRENT has not moved yet (a
		// login failure in the single-user window is AuthFailed's work).
		// Acknowledged, Deactivated, Failed: it does not move.
		return ignore
	case sourceSecretsManager:
		var d smDetail
		if json.Unmarshal(ev.Detail, &d) != nil {
			return ignore
		}
		switch ev.DetailType {
		case detailServiceEvent:
			if d.EventName == "RotationSucceeded" && c.concerns(s, d.AdditionalEventData.SecretID) {
				return refresh
			}
		case detailAPICall:
			if slices.Contains(apiCallsThatMoveCurrent, d.EventName) && c.concerns(s, d.RequestParameters.SecretID) {
				return refresh
			}
		case detailLabelUpdated:
			if d.LabelUpdated != stageCurrent || !c.concerns(s, append([]string{d.Name}, ev.Resources...)...) {
				return ignore
			}
			// An older version here may be a rollback: only the version
			// the cache holds is a duplicate.
			if d.VersionID != "" && d.VersionID == s.current.ID {
				return duplicate
			}
			return refresh
		}
	}
	return ignore
}

// concerns reports whether one of ids names the cache's secret: its ARN,
// its name, or the id the cache was given.
func (c *Cache) concerns(s *state, ids ...string) bool {
	for _, id := range ids {
		if id != "" && (id == s.arn || id == s.name || id == c.opts.SecretID) {
			return true
		}
	}
	return false
}
