package function

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotorhq/rotor/rotators/dbtls"
	"github.com/rotorhq/rotor/shared/lifecycle"
	"github.com/rotorhq/rotor/shared/secretstore/awssm"
)

// CABundleFile is the name of the CA bundle a function's zip may carry
// beside bootstrap (make build RDS_CA_BUNDLE=...).
const CABundleFile = "rds-ca-bundle.pem"

// Env is what a function reads from its environment.
type Env struct {
	Store  *awssm.Store
	Config lifecycle.Config
	// Roots are the system roots and the CA bundle, parsed only when a
	// database's certificate is verified.
	Roots *dbtls.Roots
	// AWS is the SDK configuration every client of the function is built
	// from (the Secrets Manager store's, the EventBridge publisher's).
	AWS aws.Config
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
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return Env{}, fmt.Errorf("AWS configuration: %w", err)
	}
	// As awssm.NewFromEnv: SECRETS_MANAGER_ENDPOINT, the variable AWS's
	// rotation functions read, wins over AWS_ENDPOINT_URL_SECRETS_MANAGER
	// and AWS_ENDPOINT_URL, which the SDK reads itself.
	endpoint := os.Getenv(awssm.EndpointEnv)
	store := awssm.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return Env{Store: store, Config: cfg, Roots: roots, AWS: awsCfg}, nil
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
