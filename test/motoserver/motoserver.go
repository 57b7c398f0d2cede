package motoserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// The account, region and credentials moto answers with by default.
const (
	AccountID = "123456789012"
	Region    = "us-east-1"
	accessKey = "testing"
	secretKey = "testing"
)

// BinaryEnv names the variable that overrides the moto_server executable.
const BinaryEnv = "MOTO_SERVER"

// defaultBinary is where the development machines have it when it is not on
// PATH.
const defaultBinary = "/root/.pyenv/shims/moto_server"

// StartTimeout bounds how long Start waits for the server to answer.
var StartTimeout = 60 * time.Second

// Server is a running moto_server.
type Server struct {
	// URL is the server's endpoint, http://127.0.0.1:<port>.
	URL string

	cmd      *exec.Cmd
	output   *syncBuffer
	exited   chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// Start starts moto_server on 127.0.0.1 and a free port and waits until it
// answers HTTP.
func Start() (*Server, error) {
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	// The port is free when chosen but may be taken before moto binds it:
	// try again with another one.
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := start(bin, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// StartTB starts a server for one test and stops it when the test ends. It
// fails the test when the server does not start.
func StartTB(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start()
	if err != nil {
		tb.Fatalf("start moto_server: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("stop moto_server: %v", err)
		}
	})
	return s
}

func binary() (string, error) {
	if b := os.Getenv(BinaryEnv); b != "" {
		return b, nil
	}
	if b, err := exec.LookPath("moto_server"); err == nil {
		return b, nil
	}
	if _, err := os.Stat(defaultBinary); err == nil {
		return defaultBinary, nil
	}
	return "", fmt.Errorf("motoserver: moto_server is neither on PATH nor at %s (set %s)", defaultBinary, BinaryEnv)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("motoserver: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(bin string, port int) (*Server, error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group: the pyenv shim starts python as a child, and
	// Stop must end both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("motoserver: start %s: %w", bin, err)
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, output: out, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("%w; output:\n%s", err, out.String())
	}
	return s, nil
}

func (s *Server) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("motoserver: moto_server exited before it answered")
		default:
		}
		resp, err := client.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("motoserver: moto_server did not answer on %s within %s", s.URL, StartTimeout)
}

// Stop ends the server's process group and waits for it to exit. Calling it
// again returns the first call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		pgid := s.cmd.Process.Pid
		if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.stopErr = fmt.Errorf("motoserver: stop: %w", err)
		}
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.exited
		}
	})
	return s.stopErr
}

// Output returns what the server printed so far (its request log), for
// failure messages.
func (s *Server) Output() string { return s.output.String() }

// AWSConfig returns a config for the server: its region, static
// credentials, and the server as the endpoint of every service.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint: aws.String(s.URL),
		// moto's threaded development server now and then drops a kept-alive
		// connection under parallel tests; the SDK retries such network
		// errors (never a modelled 4xx answer), quickly: a test against moto
		// should fail fast, not retry for seconds.
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 50 * time.Millisecond
			})
		},
	}
}

// SecretsManager returns a Secrets Manager client of the server.
func (s *Server) SecretsManager() *secretsmanager.Client {
	return secretsmanager.NewFromConfig(s.AWSConfig())
}

// Reset clears every resource of the server (moto's reset API).
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("motoserver: reset: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("motoserver: reset: %s", resp.Status)
	}
	return nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
