package pgserver

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// children returns the processes whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func TestServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = s.Stop()
		}
	}()

	if err := s.Exec(ctx, `CREATE ROLE pgserver_probe LOGIN PASSWORD 'probe-password'`); err != nil {
		t.Fatalf("want CREATE ROLE to work, got %v", err)
	}
	tests := []struct {
		name     string
		user     string
		password string
		tls      bool
		wantCode string // empty: login works
	}{
		{name: "superuser over TLS", user: s.SuperUser, password: s.SuperPassword, tls: true},
		{name: "superuser plain", user: s.SuperUser, password: s.SuperPassword, tls: false},
		{name: "role over TLS", user: "pgserver_probe", password: "probe-password", tls: true},
		{name: "wrong password", user: "pgserver_probe", password: "nope", tls: true, wantCode: "28P01"},
		{name: "empty superuser password", user: s.SuperUser, password: "", tls: true, wantCode: "28P01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CanLogin(ctx, tt.user, tt.password, tt.tls)
			var pgErr *pgconn.PgError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("want a login, got %v", err)
			case tt.wantCode != "" && (!errors.As(err, &pgErr) || pgErr.Code != tt.wantCode):
				t.Errorf("want SQLSTATE %s, got %v", tt.wantCode, err)
			}
		})
	}

	log, err := s.Log()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "CREATE ROLE pgserver_probe") {
		t.Errorf("want statements in the log, got:\n%s", log)
	}
	if s.RootCAs() == nil || s.CAFile == "" {
		t.Errorf("want a CA, got pool %v file %q", s.RootCAs(), s.CAFile)
	}

	pid := s.PID()
	kids := children(t, pid)
	if len(kids) == 0 {
		t.Errorf("want server processes under %d, got none", pid)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("want a clean stop, got %v", err)
	}
	stopped = true
	for _, p := range append(kids, pid) {
		if alive(p) {
			t.Errorf("want process %d gone after Stop, got it alive", p)
		}
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("want %s removed, got %v", s.Dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("want a second Stop to be a no-op, got %v", err)
	}
}

func TestRequireTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := StartT(t, Options{RequireTLS: true, CertHosts: []string{"db.invalid"}})

	err := s.CanLogin(ctx, s.SuperUser, s.SuperPassword, false)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" {
		t.Errorf("want plain login refused with 28000, got %v", err)
	}
	// The certificate names db.invalid, not localhost.
	if err := s.CanLogin(ctx, s.SuperUser, s.SuperPassword, true); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("want a certificate error, got %v", err)
	}
}

func TestNoTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := StartT(t, Options{NoTLS: true})
	if err := s.CanLogin(ctx, s.SuperUser, s.SuperPassword, false); err != nil {
		t.Errorf("want a plain login, got %v", err)
	}
	if err := s.CanLogin(ctx, s.SuperUser, s.SuperPassword, true); err == nil {
		t.Error("want a TLS login refused, got a login")
	}
	if s.RootCAs() != nil || s.CAFile != "" {
		t.Errorf("want no CA, got file %q", s.CAFile)
	}
}

func TestOptionsConflict(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{name: "TLS and NoTLS", opts: Options{TLS: true, NoTLS: true}},
		{name: "NoTLS and RequireTLS", opts: Options{NoTLS: true, RequireTLS: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(tt.opts)
			if err == nil {
				_ = s.Stop()
				t.Fatal("want an error, got a server")
			}
		})
	}
}

func TestConnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := StartT(t, Options{TLS: true})
	conn, err := s.Connect(ctx, s.SuperUser, s.SuperPassword)
	if err != nil {
		t.Fatalf("want a connection, got %v", err)
	}
	defer conn.Close(ctx)
	var ssl bool
	if err := conn.QueryRow(ctx, `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl); err != nil {
		t.Fatal(err)
	}
	if !ssl {
		t.Error("want a TLS connection, got plain")
	}
}
