package memstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rotorhq/rotor/shared/secretstore"
)

// State is a deep copy of everything a [Store] holds. Two states compare
// with [reflect.DeepEqual]; it is also the JSON that [Store.Save] writes.
type State struct {
	// Secrets, sorted by name.
	Secrets []SecretState `json:"secrets"`
}

// SecretState is one secret of a [State].
type SecretState struct {
	ARN             string    `json:"arn"`
	Name            string    `json:"name"`
	Description     string    `json:"description,omitempty"`
	RotationEnabled bool      `json:"rotationEnabled,omitempty"`
	CreatedDate     time.Time `json:"createdDate"`
	LastChangedDate time.Time `json:"lastChangedDate"`
	// DeletedDate and DeletionDate are set while the secret is scheduled
	// for deletion: when it was asked, and when it goes.
	DeletedDate  *time.Time `json:"deletedDate,omitempty"`
	DeletionDate *time.Time `json:"deletionDate,omitempty"`
	// Versions in the order they were created.
	Versions []VersionState `json:"versions"`

	KmsKeyID string   `json:"kmsKeyId,omitempty"`
	Tags     []Tag    `json:"tags,omitempty"`
	Rotation Rotation `json:"rotation"`
}

// VersionState is one version of a [SecretState].
type VersionState struct {
	VersionID   string    `json:"versionId"`
	Stages      []string  `json:"stages"`
	CreatedDate time.Time `json:"createdDate"`
	// HasValue is false for a version a rotation has started.
	HasValue bool        `json:"hasValue"`
	Binary   bool        `json:"binary,omitempty"`
	Value    SecretBytes `json:"value,omitempty"`
}

// SecretBytes is a secret value. It prints as "[redacted]" so that a test
// failure that prints a [State] shows no value; JSON holds the bytes.
type SecretBytes []byte

func (SecretBytes) String() string   { return "[redacted]" }
func (SecretBytes) GoString() string { return "[redacted]" }

// Snapshot returns a deep copy of the store's state.
func (s *Store) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Secrets: []SecretState{}}
	for _, sec := range s.secrets {
		ss := SecretState{
			ARN:             sec.arn,
			Name:            sec.name,
			Description:     sec.description,
			RotationEnabled: sec.rotationEnabled,
			CreatedDate:     sec.created,
			LastChangedDate: sec.lastChanged,
			Versions:        []VersionState{},
			KmsKeyID:        sec.kmsKeyID,
			Tags:            slices.Clone(sec.tags),
			Rotation:        sec.rotation,
		}

		if !sec.deleted.IsZero() {
			d, dd := sec.deleted, sec.deletion
			ss.DeletedDate, ss.DeletionDate = &d, &dd
		}
		for _, v := range sec.versions {
			vs := VersionState{
				VersionID:   v.id,
				Stages:      append([]string{}, v.stages...),
				CreatedDate: v.created,
				HasValue:    v.hasValue,
				Binary:      v.binary,
			}
			if len(v.value) > 0 { // an empty value is nil, as after a JSON round trip
				vs.Value = SecretBytes(bytes.Clone(v.value))
			}
			ss.Versions = append(ss.Versions, vs)
		}
		st.Secrets = append(st.Secrets, ss)
	}
	slices.SortFunc(st.Secrets, func(a, b SecretState) int { return strings.Compare(a.Name, b.Name) })
	return st
}

// Save writes the store's state as JSON, secret values included.
func (s *Store) Save(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.Snapshot()); err != nil {
		return fmt.Errorf("memstore: save: %w", err)
	}
	return nil
}

// Load replaces the store's state with the JSON that [Store.Save] wrote. It
// checks the state first (names, ARNs, one version per label) and changes
// nothing when the state is invalid.
func (s *Store) Load(r io.Reader) error {
	var st State
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("memstore: load: %w", err)
	}
	secrets := map[string]*secret{}
	for _, ss := range st.Secrets {
		if err := validName(ss.Name); err != nil {
			return fmt.Errorf("memstore: load: secret %q: %w", ss.Name, err)
		}
		if secrets[ss.Name] != nil {
			return fmt.Errorf("memstore: load: secret %q: %w: listed twice", ss.Name, secretstore.ErrInvalidRequest)
		}
		if !strings.HasPrefix(ss.ARN, "arn:") {
			return fmt.Errorf("memstore: load: secret %q: %w: invalid ARN", ss.Name, secretstore.ErrInvalidRequest)
		}
		sec := &secret{
			arn:             ss.ARN,
			name:            ss.Name,
			description:     ss.Description,
			rotationEnabled: ss.RotationEnabled,
			created:         ss.CreatedDate,
			lastChanged:     ss.LastChangedDate,
			kmsKeyID:        ss.KmsKeyID,
			rotation:        ss.Rotation,
		}
		tags, err := mergeTags(nil, ss.Tags)
		if err != nil {
			return fmt.Errorf("memstore: load: secret %q: %w", ss.Name, err)
		}
		sec.tags = tags
		if ss.DeletedDate != nil && ss.DeletionDate != nil {
			sec.deleted, sec.deletion = *ss.DeletedDate, *ss.DeletionDate
		}
		labels := map[string]string{}
		for _, vs := range ss.Versions {
			if vs.VersionID == "" || sec.version(vs.VersionID) != nil {
				return fmt.Errorf("memstore: load: secret %q: %w: empty or repeated version id", ss.Name, secretstore.ErrInvalidRequest)
			}
			for _, l := range vs.Stages {
				if other, ok := labels[l]; ok {
					return fmt.Errorf("memstore: load: secret %q: %w: label %s on versions %s and %s", ss.Name, secretstore.ErrInvalidRequest, l, other, vs.VersionID)
				}
				labels[l] = vs.VersionID
			}
			stages := append([]string{}, vs.Stages...)
			slices.Sort(stages)
			sec.versions = append(sec.versions, &version{
				id:       vs.VersionID,
				stages:   stages,
				created:  vs.CreatedDate,
				hasValue: vs.HasValue,
				binary:   vs.Binary,
				value:    bytes.Clone(vs.Value),
			})
		}
		secrets[sec.name] = sec
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = secrets
	return nil
}
