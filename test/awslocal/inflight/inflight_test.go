package inflight

import (
	"context"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	var tr Tracker
	if err := tr.Wait(context.Background()); err != nil {
		t.Fatalf("want no wait with nothing in flight, got %v", err)
	}
	tr.Add()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := tr.Wait(ctx); err == nil {
		t.Fatal("want the context's error while work is in flight, got nil")
	}
	done := make(chan error)
	go func() { done <- tr.Wait(context.Background()) }()
	tr.Done()
	if err := <-done; err != nil {
		t.Fatalf("want Wait to return when the work is done, got %v", err)
	}
}
