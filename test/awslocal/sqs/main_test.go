package sqs_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotorhq/rotor/test/awslocal/awsjson"
	"github.com/rotorhq/rotor/test/awslocal/sqs"
	"github.com/rotorhq/rotor/test/motoserver"
)

// The account and region of both targets: moto's defaults, so ARNs and
// queue URLs compare.
const (
	account = motoserver.AccountID
	region  = motoserver.Region
)

// moto is the package's moto_server.
var moto *motoserver.Server

func TestMain(m *testing.M) {
	s, err := motoserver.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// local is the service under test behind a real HTTP server.
type local struct {
	svc *sqs.Service
	url string
}

// startLocal serves a new service on a loopback httptest server until the
// test ends.
func startLocal(t *testing.T, opts sqs.Options) *local {
	t.Helper()
	svc := sqs.New(opts)
	router := awsjson.NewRouter(awsjson.Identity{DefaultAccount: account, DefaultRegion: region}, nil)
	router.Register(svc.JSONService())
	srv := httptest.NewServer(router)
	t.Cleanup(func() {
		svc.Close()
		srv.Close()
	})
	return &local{svc: svc, url: srv.URL}
}

// client returns an SDK client of the endpoint with access key id key: any
// key but a twelve-digit one is the default account.
func (l *local) client(key string) *awssqs.Client {
	return awssqs.NewFromConfig(aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(key, "secret", ""),
		BaseEndpoint:     aws.String(l.url),
		RetryMaxAttempts: 1,
	})
}

func motoClient() *awssqs.Client {
	return awssqs.NewFromConfig(moto.AWSConfig())
}

// fakeClock is a clock that moves only when told, so tests of delays,
// visibility and retention need neither sleeps nor timing assertions.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	until time.Time
	ch    chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	if d <= 0 {
		c.mu.Unlock()
		return ctx.Err()
	}
	w := fakeWaiter{until: c.now.Add(d), ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Advance moves the clock on and wakes the sleepers whose time has come.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !c.now.Before(w.until) {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}
