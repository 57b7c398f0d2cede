package function

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rotorhq/rotor/rotators/dbtls"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
)

// CABundleFile is the name of the CA bundle a function's zip may carry
// beside bootstrap (make build RDS_CA_BUNDLE=...).
const CABundleFile = "rds-ca-bundle.pem"

// Env is what a function reads from its environment.
type Env struct {
	Store   *awssm.Store
	Config  lifecycle.Config
	RootCAs *x509.CertPool
}

// LoadEnv reads the environment. An error names the variable at fault.
func LoadEnv(ctx context.Context) (Env, error) {
	cfg, err := lifecycle.ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return Env{}, err
	}
	roots, err := dbtls.LoadRoots(caFiles()...)
	if err != nil {
		return Env{}, fmt.Errorf("ROTOR_CA_BUNDLE: %w", err)
	}
	store, err := awssm.NewFromEnv(ctx)
	if err != nil {
		return Env{}, fmt.Errorf("secrets manager client: %w", err)
	}
	return Env{Store: store, Config: cfg, RootCAs: roots}, nil
}

// caFiles lists the extra CA files: ROTOR_CA_BUNDLE when set, else the
// bundle shipped beside the binary when there is one.
func caFiles() []string {
	if v := os.Getenv("ROTOR_CA_BUNDLE"); v != "" {
		return []string{v}
	}
	dir := os.Getenv("LAMBDA_TASK_ROOT")
	if dir == "" {
		if exe, err := os.Executable(); err == nil {
			dir = filepath.Dir(exe)
		}
	}
	if dir == "" {
		return nil
	}
	if p := filepath.Join(dir, CABundleFile); fileExists(p) {
		return []string{p}
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Getenv returns the variable, or def when it is unset or empty.
func Getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Logger logs JSON lines to standard output, where Lambda collects them, at
// LOG_LEVEL (default info).
func Logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(Getenv("LOG_LEVEL", "info")))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
}
