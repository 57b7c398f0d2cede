package pgadapter_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/rotorhq/rotor/events/pgadapter"
)

// BenchmarkPoolQuery is one SELECT 1 through the adapter's pool, and
// through a plain pgxpool for comparison (the adapter adds a context value
// and a closure per call).
func BenchmarkPoolQuery(b *testing.B) {
	ctx := context.Background()
	user, pw := newRole(b)
	b.Run("adapter", func(b *testing.B) {
		pool, err := pgadapter.NewPool(ctx, newFakeCreds(version(b, user, pw)), poolConfig(b))
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		benchQueryRow(b, func() error { var n int; return pool.QueryRow(ctx, `SELECT 1`).Scan(&n) })
		b.ReportMetric(float64(pool.Stats().Logins), "logins")
	})
	b.Run("pgxpool", func(b *testing.B) {
		cfg := poolConfig(b)
		cfg.ConnConfig.User, cfg.ConnConfig.Password = user, pw
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		benchQueryRow(b, func() error { var n int; return pool.QueryRow(ctx, `SELECT 1`).Scan(&n) })
	})
}

// BenchmarkDBQuery is the same through database/sql: the adapter's
// connector, and pgx's stdlib with a fixed password.
func BenchmarkDBQuery(b *testing.B) {
	ctx := context.Background()
	user, pw := newRole(b)
	b.Run("adapter", func(b *testing.B) {
		db := pgadapter.OpenDB(newFakeCreds(version(b, user, pw)), connConfig())
		defer db.Close()
		benchQueryRow(b, func() error { var n int; return db.QueryRowContext(ctx, `SELECT 1`).Scan(&n) })
	})
	b.Run("stdlib", func(b *testing.B) {
		cc := connConfig()
		cc.User, cc.Password = user, pw
		db := sql.OpenDB(stdlib.GetConnector(*cc))
		defer db.Close()
		benchQueryRow(b, func() error { var n int; return db.QueryRowContext(ctx, `SELECT 1`).Scan(&n) })
	})
}

func benchQueryRow(b *testing.B, q func() error) {
	b.Helper()
	if err := q(); err != nil { // warm: one connection
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := q(); err != nil {
			b.Fatal(err)
		}
	}
}
