// Package gatewaytest starts gateways for tests, against a rocketmqtest
// server or a real RocketMQ, the way the project's tests and examples need
// them: started, consuming, and quiet before they close.
package gatewaytest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/gateway"
)

// RocketMQ is what starting and draining a gateway needs of its RocketMQ:
// a *rocketmqtest.Server, or a real broker seen through the same methods
// (the gateway's tests adapt internal/realrocketmq to it).
type RocketMQ interface {
	// Addr is the name server's address.
	Addr() string
	// Consumers lists the members of a consumer group.
	Consumers(group string) []string
	// WaitForCaughtUp returns once group has received every message it
	// subscribes to, so that its pulls wait at the broker.
	WaitForCaughtUp(ctx context.Context, group string) error
}

// Deadline bounds every wait here. It is a failure deadline, not an
// expectation: a healthy run finishes far sooner.
const Deadline = 30 * time.Second

var seq atomic.Int64

// Start starts a gateway against s with cfg, whose empty fields get test
// defaults: a free loopback port, s as the name server, a unique
// instance ID, a discarding logger. It returns once the gateway's consumer
// pulls every queue of its topics (its start-up rebalance is over), and
// closes the gateway when the test ends, after letting its consumer catch
// up: rocketmq-client-go's consumer Shutdown races with a pull answer on
// its way in, and with a rebalance still running.
func Start(tb testing.TB, s RocketMQ, cfg gateway.Config) *gateway.Gateway {
	tb.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.NameServer == nil {
		cfg.NameServer = []string{s.Addr()}
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = fmt.Sprintf("test-%d-%d", time.Now().UnixNano()%1e9, seq.Add(1))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		tb.Fatalf("gateway.New: %v", err)
	}
	tb.Cleanup(func() {
		if len(s.Consumers(g.ConsumerGroup())) > 0 { // not closed by the test already
			Drain(tb, s, g)
		}
		g.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		tb.Fatalf("gateway.Start: %v", err)
	}
	if err := s.WaitForCaughtUp(ctx, g.ConsumerGroup()); err != nil {
		tb.Fatalf("gateway consumer never started pulling: %v", err)
	}
	return g
}

// Drain waits until g's consumer has received every message it subscribes
// to, so that its pulls wait at the server, or until its consumer group
// has no members left: a gateway restarted under the same InstanceID
// shares its group with the one before, which may close meanwhile.
func Drain(tb testing.TB, s RocketMQ, g *gateway.Gateway) {
	tb.Helper()
	group := g.ConsumerGroup()
	var err error
	for end := time.Now().Add(Deadline); time.Now().Before(end); {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err = s.WaitForCaughtUp(ctx, group)
		cancel()
		if err == nil || len(s.Consumers(group)) == 0 {
			return
		}
	}
	tb.Errorf("gateway consumer never caught up: %v", err)
}

// Output collects what a program writes, safe to read while it writes.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write keeps p; it never fails.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// WaitFor waits until re matches what was written and returns the match's
// first group, or the whole match if re has no group.
func (o *Output) WaitFor(tb testing.TB, re *regexp.Regexp) string {
	tb.Helper()
	for end := time.Now().Add(Deadline); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(o.String()); m != nil {
			return m[len(m)-1]
		}
	}
	tb.Fatalf("output never matched %v:\n%s", re, o.String())
	return ""
}
