package pgadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rotorhq/rotor/events/consumer"
)

type staticCreds struct {
	v []consumer.Version
	i int
}

func (s *staticCreds) Current() consumer.Version { return s.v[s.i%len(s.v)] }
func (s *staticCreds) AuthFailed(context.Context, string) (consumer.Version, error) {
	return consumer.Version{}, consumer.ErrNoNewerCredential
}
func (s *staticCreds) OnSwap(func(old, new consumer.Version)) func() { return func() {} }

// BenchmarkBeforeConnect is the adapter's work per new connection: on the
// copy of the config pgxpool makes, with the version already parsed
// ("cached", every connection between two swaps) and with a version to
// parse ("parse", the first connection after a swap).
func BenchmarkBeforeConnect(b *testing.B) {
	base, err := pgx.ParseConfig("host=localhost user=nobody")
	if err != nil {
		b.Fatal(err)
	}
	versions := make([]consumer.Version, 2)
	for i := range versions {
		raw, _ := json.Marshal(map[string]any{"engine": "postgres", "host": "db", "port": 5432, "username": "app", "password": fmt.Sprintf("pw-%d-0123456789abcdef", i), "dbname": "app"})
		versions[i] = consumer.Version{ID: fmt.Sprint(i), Value: raw}
	}
	for _, tc := range []struct {
		name   string
		rotate bool
	}{{"cached", false}, {"parse", true}} {
		b.Run(tc.name, func(b *testing.B) {
			creds := &staticCreds{v: versions}
			c := newCore(creds, buildOptions(nil))
			ctx := context.Background()
			cfg := base.Copy()
			b.ReportAllocs()
			for b.Loop() {
				if tc.rotate {
					creds.i++
				}
				if err := c.beforeConnect(ctx, cfg); err != nil {
					b.Fatal(err)
				}
				cfg.AfterConnect = nil
			}
		})
	}
}
