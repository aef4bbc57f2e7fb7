package gateway

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogRateLimit: a flood of one kind of line is cut to the bucket's
// burst, other kinds pass, and the next line that passes once the bucket
// refills says how many were dropped.
func TestLogRateLimit(t *testing.T) {
	var out bytes.Buffer
	log := rateLimited(slog.New(slog.NewTextHandler(&out, nil)), 1).With("gateway", "gw") // burst 10
	for range 100 {
		log.Info("connection refused", "client", "loop")
	}
	log.Info("client connected", "client", "other")
	if n := strings.Count(out.String(), "connection refused"); n != 10 {
		t.Errorf("%d lines of a flood passed; want the burst of 10:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), `msg="client connected" gateway=gw client=other`) {
		t.Errorf("another kind of line was held back:\n%s", out.String())
	}

	l := &limiter{rate: 1, burst: 1, buckets: map[string]*bucket{}}
	now := time.Now()
	if _, ok := l.allow("m", now); !ok {
		t.Fatal("the first line was dropped")
	}
	for range 5 {
		if _, ok := l.allow("m", now); ok {
			t.Fatal("a line past the burst passed")
		}
	}
	dropped, ok := l.allow("m", now.Add(time.Second))
	if !ok || dropped != 5 {
		t.Errorf("after a second: allow = %v, dropped %d; want true, 5", ok, dropped)
	}
	if rateLimited(slog.Default(), -1) != slog.Default() {
		t.Error("a negative rate wrapped the logger")
	}
}
