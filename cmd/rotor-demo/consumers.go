package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotorhq/rotor/events"
	"github.com/rotorhq/rotor/events/consumer"
	"github.com/rotorhq/rotor/events/pgadapter"
	"github.com/rotorhq/rotor/events/publish"
)

// The demo's consumers are services as rotor means them to be written: the
// consumer SDK's cache of the secret, fed by the service's own SQS queue
// (a rule on rotor's bus), and a pgx pool whose logins take the cache's
// credential. Connections live less than 100 ms, so logins happen all the
// time, also between setSecret and finishSecret; on a swap the pool drains its old connections, and
// a refused login refreshes the cache and retries once.

const (
	queryEvery      = 20 * time.Millisecond
	connLifetime    = 60 * time.Millisecond
	consumerPollTTL = time.Hour // only the push path explains a swap
	// retireWindow is how long a pool takes to close its connections of
	// the previous credential after a swap: short, so that the previous
	// user's sessions are gone well within a rotation interval and the
	// gate's sweep can lock it (the default, 30 s, outlasts the demo).
	retireWindow = 500 * time.Millisecond
)

type service struct {
	name  string
	cache *consumer.Cache
	pool  *pgadapter.Pool
	mu    sync.Mutex
	swaps map[string]time.Time // version -> when this service swapped to it
}

type load struct {
	wg       sync.WaitGroup
	services []*service
	ok       atomic.Int64
	failed   atomic.Int64
}

type loadStats struct {
	ok, failed, refused, retried int64
}

// startConsumers starts n services on the secret, each with its own queue.
func (st *stack) startConsumers(ctx context.Context, n int, logger *slog.Logger) (*load, error) {
	pub, err := publish.New(st.events, publish.Options{BusName: busName, Logger: logger})
	if err != nil {
		return nil, err
	}
	l := &load{}
	for i := range n {
		s := &service{name: consumerName(i), swaps: map[string]time.Time{}}
		s.cache, err = consumer.New(ctx, st.sm, consumer.Options{
			SecretID: st.appARN, Consumer: s.name, Publisher: pub, TTL: consumerPollTTL, Logger: logger,
		})
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", s.name, err)
		}
		s.cache.OnSwap(func(_, new consumer.Version) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.swaps[new.ID] = time.Now()
		})
		queueURL, err := st.subscribe(ctx, s.name, consumerPattern(st.appARN))
		if err != nil {
			return nil, err
		}
		cfg, err := pgxpool.ParseConfig("")
		if err != nil {
			return nil, err
		}
		cfg.ConnConfig = st.db.ConnConfig("", "", true)
		cfg.MaxConns = 2
		cfg.MaxConnLifetime = connLifetime
		cfg.MaxConnLifetimeJitter = connLifetime / 2
		cfg.HealthCheckPeriod = connLifetime / 3
		if s.pool, err = pgadapter.NewPool(ctx, s.cache, cfg, pgadapter.WithLogger(logger), pgadapter.WithRetireWindow(retireWindow)); err != nil {
			return nil, err
		}
		l.services = append(l.services, s)
		l.wg.Add(2)
		go func() {
			defer l.wg.Done()
			_ = consumer.ListenSQS(ctx, st.sqs, queueURL, s.cache)
		}()
		go func() {
			defer l.wg.Done()
			l.query(ctx, s, i)
		}()
	}
	return l, nil
}

func consumerName(i int) string { return fmt.Sprintf("orders-service-%d", i+1) }

// consumerPattern: every rotor event of the secret but acknowledgements,
// as the CDK's ConsumerSubscription subscribes a service.
func consumerPattern(arn string) string {
	return fmt.Sprintf(`{"source":["rotor"],"detail-type":[{"anything-but":[%q]}],"detail":{"secretArn":[%q]}}`, events.ConsumerAcknowledged, arn)
}

func (l *load) query(ctx context.Context, s *service, id int) {
	tick := time.NewTicker(queryEvery + time.Duration(id)*time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_, err := s.pool.Exec(ctx, `INSERT INTO orders (item) VALUES ($1)`, s.name)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.failed.Add(1)
			continue
		}
		l.ok.Add(1)
	}
}

// wait stops the services (their context has ended) and sums them up.
func (l *load) wait() loadStats {
	l.wg.Wait()
	st := loadStats{ok: l.ok.Load(), failed: l.failed.Load()}
	for _, s := range l.services {
		ps := s.pool.Stats()
		st.refused += ps.AuthFailures
		st.retried += ps.Retries
		s.pool.Close()
	}
	return st
}

// propagation lists, for every service and rotation, the time from the end
// of finishSecret to the service's swap.
func (l *load) propagation(finished map[string]time.Time) []time.Duration {
	var out []time.Duration
	for _, s := range l.services {
		s.mu.Lock()
		for version, at := range s.swaps {
			if f, ok := finished[version]; ok {
				out = append(out, at.Sub(f))
			}
		}
		s.mu.Unlock()
	}
	slices.Sort(out)
	return out
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
