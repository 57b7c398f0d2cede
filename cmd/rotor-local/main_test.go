package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := run(ctx, options{addr: "127.0.0.1:0", account: "123456789012", region: "us-east-1", speed: 1, logLevel: "info"}); err != nil {
		t.Fatalf("want a clean stop, got %v", err)
	}
}

func TestBadFlags(t *testing.T) {
	base := options{addr: "127.0.0.1:0", account: "123456789012", region: "us-east-1", speed: 1, logLevel: "info"}
	tests := []struct {
		name  string
		tweak func(*options)
		want  string
	}{
		{"log level", func(o *options) { o.logLevel = "loud" }, "-log-level"},
		{"env", func(o *options) { o.env = list{"NOVALUE"} }, "-env"},
		{"function", func(o *options) { o.functions = list{"no-path"} }, "-function"},
		{"missing bootstrap", func(o *options) { o.functions = list{"f=/nonexistent/bootstrap"} }, "-function f"},
		{"not loopback", func(o *options) { o.addr = "0.0.0.0:0" }, "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.tweak(&o)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error naming %s, got %v", tt.want, err)
			}
		})
	}
}
