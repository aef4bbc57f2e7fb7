package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/mqttrmq/mqttrmq/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestServe runs the server, reaches it, and stops it by cancelling its
// context.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, addr, "bench, vehicles", 2) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never listened: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		listen, topics string
		queues         int
	}{
		{"localhost:9876", "", 4},    // the RocketMQ client resolves no host names
		{"127.0.0.1:0", "a/b", 4},    // not a parent topic
		{"127.0.0.1:0", "TBW102", 4}, // a system topic
		{"127.0.0.1:0", "bench", 0},
	} {
		if err := run(context.Background(), c.listen, c.topics, c.queues); err == nil {
			t.Errorf("run(%q, %q, %d) succeeded", c.listen, c.topics, c.queues)
		}
	}
}
