package pgserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// binGlob is where Debian installs the PostgreSQL server binaries.
const binGlob = "/usr/lib/postgresql/*/bin"

// runAsUser runs the server when the test runs as root.
const runAsUser = "postgres"

// superUser is the name of the bootstrap superuser.
const superUser = "postgres"

const startTimeout = 60 * time.Second

// Options configures a server. The zero value is a TLS server that also
// accepts plain connections.
type Options struct {
	// TLS asks for TLS, which is also the default: it exists so that
	// callers can say so. Setting both TLS and NoTLS is an error.
	TLS bool
	// NoTLS switches TLS off (ssl = off).
	NoTLS bool
	// RequireTLS accepts TCP connections only over TLS (hostssl lines only).
	RequireTLS bool
	// CertHosts lists the DNS names and IP addresses of the server
	// certificate; default "localhost" and "127.0.0.1". A test of host name
	// verification sets a name that is not "localhost".
	CertHosts []string
	// Settings are extra postgresql.conf settings, such as
	// {"max_connections": "20"}. Values are written as given, so strings
	// need their quotes.
	Settings map[string]string
}

// Server is a running PostgreSQL server.
type Server struct {
	// Host is "localhost", the name in the server certificate.
	Host string
	Port int
	// SuperUser and SuperPassword are the bootstrap superuser's credential.
	SuperUser     string
	SuperPassword string
	// CAFile is the PEM file of the certificate authority that issued the
	// server certificate; empty with Options.NoTLS.
	CAFile string
	// LogPath is the server log, with every statement.
	LogPath string
	// Dir is the temporary directory holding everything; Stop removes it.
	Dir string

	tls    bool
	roots  *x509.CertPool
	cmd    *exec.Cmd
	exited chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// TB is what [StartT] needs of a test: testing.TB has it. It is declared
// here so that a program that starts servers (the demo) links no testing
// package.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// StartT starts a server that the test's cleanup stops. It fails the test
// if the server cannot start.
func StartT(t TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("pgserver: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgserver: stop: %v", err)
		}
	})
	return s
}

// Start starts a server; the caller must call [Server.Stop]. It suits
// TestMain, where there is no testing.T.
func Start(opts Options) (_ *Server, err error) {
	if opts.TLS && opts.NoTLS {
		return nil, errors.New("pgserver: Options.TLS and Options.NoTLS both set")
	}
	if opts.NoTLS && opts.RequireTLS {
		return nil, errors.New("pgserver: Options.NoTLS and Options.RequireTLS both set")
	}
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgserver-")
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	s := &Server{
		Host:      "localhost",
		SuperUser: superUser,
		LogPath:   filepath.Join(dir, "postgres.log"),
		Dir:       dir,
		tls:       !opts.NoTLS,
	}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	if err := chown(dir, cred); err != nil {
		return nil, err
	}
	if s.SuperPassword, err = randomPassword(); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := s.initdb(bin, data, cred); err != nil {
		return nil, err
	}
	if s.tls {
		hosts := opts.CertHosts
		if len(hosts) == 0 {
			hosts = []string{"localhost", "127.0.0.1"}
		}
		if err := s.writeCerts(hosts, cred); err != nil {
			return nil, err
		}
	}
	if err := writeOwned(filepath.Join(data, "pg_hba.conf"), []byte(hba(opts)), 0o600, cred); err != nil {
		return nil, err
	}
	// A port picked free may be taken before the server binds it; try again
	// with another.
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			return nil, err
		}
		if err := writeOwned(filepath.Join(data, "postgresql.auto.conf"), []byte(s.settings(opts)), 0o600, cred); err != nil {
			return nil, err
		}
		err = s.start(bin, data, cred)
		if err == nil {
			return s, nil
		}
		if attempt == 2 || !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
}

var errPortTaken = errors.New("port taken")

func findBin() (string, error) {
	dirs, _ := filepath.Glob(binGlob)
	var best string
	bestVersion := -1.0
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		if err != nil {
			continue
		}
		if v > bestVersion {
			best, bestVersion = d, v
		}
	}
	if best == "" {
		return "", fmt.Errorf("pgserver: no PostgreSQL server binaries (initdb, postgres) under %s; install them (Debian: apt-get install postgresql)", binGlob)
	}
	return best, nil
}

// credential returns the user to run the server as: nil (the current user)
// unless the test runs as root, which initdb refuses.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(runAsUser)
	if err != nil {
		return nil, fmt.Errorf("pgserver: running as root needs the system user %q to run PostgreSQL: %w", runAsUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgserver: uid of %s: %w", runAsUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgserver: gid of %s: %w", runAsUser, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

func chown(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	return nil
}

// writeOwned writes a file that the server user owns.
func writeOwned(path string, data []byte, perm os.FileMode, cred *syscall.Credential) error {
	if err := os.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	if err := os.Chmod(path, perm); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	return chown(path, cred)
}

func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("pgserver: random password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Server) command(bin, name string, cred *syscall.Credential, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Dir = s.Dir
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC", "HOME=" + s.Dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

func (s *Server) initdb(bin, data string, cred *syscall.Credential) error {
	pwfile := filepath.Join(s.Dir, "pwfile")
	if err := writeOwned(pwfile, []byte(s.SuperPassword+"\n"), 0o600, cred); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	cmd := s.command(bin, "initdb", cred,
		"--pgdata="+data,
		"--username="+superUser,
		"--pwfile="+pwfile,
		"--auth=scram-sha-256",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgserver: initdb: %w\n%s", err, out)
	}
	return nil
}

// hba returns pg_hba.conf: password authentication everywhere.
func hba(opts Options) string {
	var b strings.Builder
	b.WriteString("# TYPE  DATABASE USER ADDRESS       METHOD\n")
	b.WriteString("local   all      all                 scram-sha-256\n")
	if !opts.NoTLS {
		b.WriteString("hostssl all      all  127.0.0.1/32  scram-sha-256\n")
	}
	if !opts.RequireTLS {
		b.WriteString("host    all      all  127.0.0.1/32  scram-sha-256\n")
	}
	return b.String()
}

func (s *Server) settings(opts Options) string {
	set := map[string]string{
		"listen_addresses":        "'127.0.0.1'",
		"port":                    strconv.Itoa(s.Port),
		"unix_socket_directories": quote(s.Dir),
		"password_encryption":     "'scram-sha-256'",
		"log_statement":           "'all'",
		"logging_collector":       "off",
		"log_destination":         "'stderr'",
		"log_line_prefix":         "'%m [%p] %q%u@%d '",
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
		"max_connections":         "100",
		"shared_buffers":          "'32MB'",
		"ssl":                     "off",
	}
	if s.tls {
		set["ssl"] = "on"
		set["ssl_cert_file"] = quote(filepath.Join(s.Dir, "server.crt"))
		set["ssl_key_file"] = quote(filepath.Join(s.Dir, "server.key"))
		set["ssl_min_protocol_version"] = "'TLSv1.2'"
	}
	for k, v := range opts.Settings {
		set[k] = v
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, set[k])
	}
	return b.String()
}

func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgserver: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(bin, data string, cred *syscall.Credential) error {
	logFile, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	defer logFile.Close() // the server holds its own descriptor
	logStart, _ := logFile.Seek(0, 2)

	cmd := s.command(bin, "postgres", cred, "-D", data)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// If the test binary dies, so does the server.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgserver: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			log := s.logSince(logStart)
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("pgserver: %w: %d", errPortTaken, s.Port)
			}
			return fmt.Errorf("pgserver: postgres exited at start:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := s.Admin(ctx)
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("pgserver: server not ready after %s: %w\n%s", startTimeout, err, s.logSince(logStart))
		}
	}
}

func (s *Server) logSince(offset int64) string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	return string(b[offset:])
}

// kill stops the server process, first as an immediate shutdown (what
// pg_ctl stop -m immediate does), then by force, and waits for it. The
// postmaster exits only after its child processes have.
func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.exited:
		return
	case <-time.After(15 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Stop shuts the server down at once and removes its directory. It may be
// called more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.kill()
		if s.Dir != "" {
			s.stopErr = os.RemoveAll(s.Dir)
		}
	})
	return s.stopErr
}

// Halt shuts the server down cleanly (PostgreSQL's fast shutdown: sessions
// end, committed work is written) and keeps its data, so that tests can see
// what a step does while the database is down; [Server.Resume] starts it
// again on the same port. The server runs with synchronous_commit off, so
// an immediate stop could lose the last commits; a fast one loses none.
func (s *Server) Halt() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
	}
}

// Resume starts a halted server again, on the same port with the same data.
func (s *Server) Resume() error {
	bin, err := findBin()
	if err != nil {
		return err
	}
	cred, err := credential()
	if err != nil {
		return err
	}
	return s.start(bin, filepath.Join(s.Dir, "data"), cred)
}

// PID returns the process id of the postmaster.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Log returns the server log so far.
func (s *Server) Log() ([]byte, error) {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return nil, fmt.Errorf("pgserver: read log: %w", err)
	}
	return b, nil
}

// RootCAs returns a pool holding only the server's certificate authority;
// nil with Options.NoTLS.
func (s *Server) RootCAs() *x509.CertPool {
	return s.roots
}

// TLS reports whether the server speaks TLS.
func (s *Server) TLS() bool {
	return s.tls
}

// ConnConfig returns a connection configuration for user on the server's
// first database, "postgres". With useTLS it verifies the server fully
// against [Server.RootCAs] and never falls back to plain; without, it
// connects in plain.
func (s *Server) ConnConfig(user, password string, useTLS bool) *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		panic(fmt.Sprintf("pgserver: empty pgx config: %v", err)) // cannot happen: no input
	}
	cfg.Host = s.Host
	cfg.Port = uint16(s.Port)
	cfg.User = user
	cfg.Password = password
	cfg.Database = "postgres"
	cfg.ConnectTimeout = 10 * time.Second
	cfg.Fallbacks = nil
	cfg.TLSConfig = nil
	if useTLS {
		cfg.TLSConfig = &tls.Config{ServerName: s.Host, RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	}
	return cfg
}

// Admin connects as the superuser over the server's Unix socket, so it
// works whatever the TCP lines of pg_hba.conf and the certificate say; the
// caller closes the connection.
func (s *Server) Admin(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.ConnConfig(s.SuperUser, s.SuperPassword, false)
	cfg.Host = s.Dir
	return pgx.ConnectConfig(ctx, cfg)
}

// Exec runs statements as the superuser.
func (s *Server) Exec(ctx context.Context, sql string, args ...any) error {
	conn, err := s.Admin(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// Connect logs in as user over TCP, with TLS (verified against
// [Server.RootCAs]) when the server speaks it; the caller closes the
// connection.
func (s *Server) Connect(ctx context.Context, user, password string) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, s.ConnConfig(user, password, s.tls))
}

// CanLogin reports whether user logs in with password, over TLS or plain.
func (s *Server) CanLogin(ctx context.Context, user, password string, useTLS bool) error {
	conn, err := pgx.ConnectConfig(ctx, s.ConnConfig(user, password, useTLS))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// writeCerts makes a certificate authority and a server certificate for
// hosts, and writes them where the server settings point.
func (s *Server) writeCerts(hosts []string, cred *syscall.Credential) error {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pgserver: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "pgserver test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("pgserver: CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("pgserver: CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pgserver: server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("pgserver: server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pgserver: server key: %w", err)
	}

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.CAFile = filepath.Join(s.Dir, "ca.crt")
	if err := writeOwned(s.CAFile, caPEM, 0o644, cred); err != nil {
		return err
	}
	if err := writeOwned(filepath.Join(s.Dir, "server.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644, cred); err != nil {
		return err
	}
	// PostgreSQL refuses a key file that others may read.
	if err := writeOwned(filepath.Join(s.Dir, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600, cred); err != nil {
		return err
	}
	s.roots = x509.NewCertPool()
	s.roots.AddCert(caCert)
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
