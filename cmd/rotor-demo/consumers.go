package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotorhq/rotor/test/pgserver"
)

// The demo's consumers behave like a service with a connection pool: they
// reconnect now and then with the credential they last read from AWSCURRENT
// (re-read on a short poll), and on an authentication failure they re-read
// it and retry once. With alternating users the retry should never be
// needed; with a single user it closes the window between setSecret and
// finishSecret. The consumer SDK of a later issue replaces this loop.

const (
	queryEvery     = 20 * time.Millisecond
	reconnectEvery = 10 // queries
	pollEvery      = 500 * time.Millisecond
)

type loadStats struct {
	ok, failed, reconnects, authRetries int64
}

type load struct {
	wg    sync.WaitGroup
	stats struct{ ok, failed, reconnects, authRetries atomic.Int64 }
}

// reader reads the credential AWSCURRENT holds.
type reader func(ctx context.Context) (credential, error)

func startConsumers(ctx context.Context, n int, current reader, server *pgserver.Server) *load {
	l := &load{}
	for i := range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.consume(ctx, i, current, server)
		}()
	}
	return l
}

func (l *load) wait() loadStats {
	l.wg.Wait()
	return loadStats{l.stats.ok.Load(), l.stats.failed.Load(), l.stats.reconnects.Load(), l.stats.authRetries.Load()}
}

type credential struct{ Username, Password string }

func (l *load) consume(ctx context.Context, id int, current reader, server *pgserver.Server) {
	cred, err := current(ctx)
	if err != nil {
		l.stats.failed.Add(1)
		return
	}
	polled := time.Now()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	tick := time.NewTicker(queryEvery + time.Duration(id)*time.Millisecond)
	defer tick.Stop()
	for q := 0; ; q++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(polled) > pollEvery {
			if c, err := current(ctx); err == nil {
				cred = c
			}
			polled = time.Now()
		}
		if conn == nil || q%reconnectEvery == 0 {
			if conn != nil {
				conn.Close(ctx)
				conn = nil
			}
			conn, err = l.connect(ctx, server, &cred, current)
			if err != nil {
				if ctx.Err() == nil {
					l.stats.failed.Add(1)
				}
				continue
			}
			l.stats.reconnects.Add(1)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO orders (item) VALUES ($1)`, "widget"); err != nil {
			if ctx.Err() == nil {
				l.stats.failed.Add(1)
			}
			conn.Close(context.Background())
			conn = nil
			continue
		}
		l.stats.ok.Add(1)
	}
}

// connect logs in with the credential; on an authentication failure it
// re-reads AWSCURRENT and tries once more.
func (l *load) connect(ctx context.Context, server *pgserver.Server, cred *credential, current reader) (*pgx.Conn, error) {
	conn, err := server.Connect(ctx, cred.Username, cred.Password)
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		return conn, err
	}
	l.stats.authRetries.Add(1)
	c, rerr := current(ctx)
	if rerr != nil {
		return nil, err
	}
	*cred = c
	return server.Connect(ctx, cred.Username, cred.Password)
}
