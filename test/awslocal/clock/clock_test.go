package clock

import (
	"context"
	"testing"
	"time"
)

func TestScaledRunsFaster(t *testing.T) {
	c := Scaled(3600) // an hour a second
	start := c.Now()
	if err := c.Sleep(context.Background(), 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	got := c.Now().Sub(start)
	if got < 30*time.Minute {
		t.Fatalf("after sleeping 30m of scaled time, want at least 30m elapsed, got %v", got)
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Real().Sleep(ctx, time.Hour); err == nil {
		t.Fatal("want the context's error from a cancelled sleep, got nil")
	}
}
