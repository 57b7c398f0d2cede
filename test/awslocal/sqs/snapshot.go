package sqs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// snapshotVersion is the format of Snapshot's JSON; Restore refuses others.
const snapshotVersion = 1

type snapshotState struct {
	Version int             `json:"version"`
	Queues  []snapshotQueue `json:"queues"`
	Deleted []deletedQueue  `json:"deleted,omitempty"`
}

type snapshotQueue struct {
	Key        queueKey          `json:"key"`
	Attributes map[string]string `json:"attributes"`
	Created    time.Time         `json:"created"`
	Modified   time.Time         `json:"modified"`
	Tags       map[string]string `json:"tags,omitempty"`
	LastPurge  time.Time         `json:"lastPurge"`
	Messages   []*message        `json:"messages"`
}

type deletedQueue struct {
	Key queueKey  `json:"key"`
	At  time.Time `json:"at"`
}

// Snapshot returns every queue and message as JSON, so that the endpoint can
// save its state to a file and a restart keeps it. Messages in flight stay
// in flight, with their receipt handles.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := snapshotState{Version: snapshotVersion, Queues: []snapshotQueue{}}
	for _, q := range s.queues {
		st.Queues = append(st.Queues, snapshotQueue{
			Key: q.key, Attributes: q.attrs, Created: q.created, Modified: q.modified,
			Tags: q.tags, LastPurge: q.lastPurge, Messages: q.msgs,
		})
	}
	slices.SortFunc(st.Queues, func(a, b snapshotQueue) int { return compareKeys(a.Key, b.Key) })
	for k, at := range s.deleted {
		st.Deleted = append(st.Deleted, deletedQueue{Key: k, At: at})
	}
	slices.SortFunc(st.Deleted, func(a, b deletedQueue) int { return compareKeys(a.Key, b.Key) })
	// Marshalled under the lock: the messages are the live ones.
	return json.Marshal(st)
}

func compareKeys(a, b queueKey) int {
	if c := strings.Compare(a.Account, b.Account); c != 0 {
		return c
	}
	if c := strings.Compare(a.Region, b.Region); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// Restore replaces the service's state with a [Service.Snapshot]. Data that
// does not parse, or a queue that is not valid, changes nothing.
func (s *Service) Restore(data []byte) error {
	var st snapshotState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("sqs: restore: %w", err)
	}
	if st.Version != snapshotVersion {
		return fmt.Errorf("sqs: restore: snapshot version %d, want %d", st.Version, snapshotVersion)
	}
	queues := make(map[queueKey]*queue, len(st.Queues))
	for _, sq := range st.Queues {
		if !validQueueName(sq.Key.Name) || sq.Key.Account == "" || sq.Key.Region == "" {
			return fmt.Errorf("sqs: restore: invalid queue %+v", sq.Key)
		}
		if _, dup := queues[sq.Key]; dup {
			return fmt.Errorf("sqs: restore: queue %s twice", sq.Key.arn())
		}
		q := newQueue(sq.Key, sq.Created)
		if sq.Attributes != nil {
			q.attrs = sq.Attributes
		}
		q.modified, q.lastPurge = sq.Modified, sq.LastPurge
		if sq.Tags != nil {
			q.tags = sq.Tags
		}
		for _, m := range sq.Messages {
			if m == nil || m.ID == "" {
				return fmt.Errorf("sqs: restore: queue %s has a message without an id", sq.Key.arn())
			}
		}
		q.msgs = sq.Messages
		queues[sq.Key] = q
	}
	deleted := make(map[queueKey]time.Time, len(st.Deleted))
	for _, d := range st.Deleted {
		deleted[d.Key] = d.At
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		q.signal() // long polls on replaced queues look again
	}
	s.queues, s.deleted = queues, deleted
	return nil
}
